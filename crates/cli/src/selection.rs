//! Which cases a run takes: `--cases`, `--exclude`, `--quick` and `--shard`, on top of an Autobahn spec
//! file's `cases` and `exclude-cases` when there is one.
//!
//! The spec's patterns follow Autobahn's wildcard rule (a `*` entry matches by prefix, see
//! [`wsspec_suite::select::Wildcards`]); the command line's follow wsspec's (the whole id must match).
//! A case runs when both select it. Then `--shard K/N` keeps every N-th case of that selection in id
//! order, starting with the K-th.

use std::collections::HashSet;

use clap::Args;
use wsspec_suite::{
    Case,
    autobahn::AutobahnSpec,
    results::SelectionInfo,
    select::{QUICK_EXCLUDES, Shard, Wildcards, select_with, split_patterns},
};

use crate::exit::Exit;

#[derive(Args, Debug)]
pub(crate) struct CaseSelection {
    /// Cases to run, by id with `*` wildcards (repeatable, or a comma list), e.g. `--cases '1.*' --cases 5.1*`.
    #[arg(long = "cases", value_name = "PATTERN")]
    pub(crate) cases: Vec<String>,
    /// Cases to leave out, same syntax as --cases.
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub(crate) exclude: Vec<String>,
    /// Leave out the slow sections: 9 (limits and performance), 12 and 13 (permessage-deflate), as
    /// `--exclude 9.*,12.*,13.*` would.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Run only part K of N of the selected cases (K from 1), for splitting a run across CI jobs: every
    /// N-th case in id order, from the K-th. `wsspec report` merges the parts.
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<Shard>,
    /// Load case files from this folder instead of the built-in cases.
    #[arg(long = "cases-dir", value_name = "DIR")]
    pub(crate) cases_dir: Option<std::path::PathBuf>,
}

/// The cases chosen, and how, for the results.
pub(crate) struct Chosen<'a> {
    /// In id order.
    pub(crate) cases: Vec<&'a Case>,
    /// What the results record about the choice.
    pub(crate) info: SelectionInfo,
}

impl CaseSelection {
    /// Chooses from `cases` (those that can run against this kind of target). Prints a warning per
    /// exclude pattern that matches nothing and per spec pattern that matches nothing.
    pub(crate) fn choose<'a>(
        &self,
        cases: &'a [Case],
        spec: Option<&AutobahnSpec>,
    ) -> Result<Chosen<'a>, Exit> {
        let mut exclude = self.exclude.clone();
        if self.quick {
            exclude.extend(QUICK_EXCLUDES.map(String::from));
        }
        let command_line = select_with(cases, &self.cases, &exclude, Wildcards::WholeId);
        if let Some(pattern) = command_line.unused_includes.first() {
            return Err(Exit::usage(format!(
                "no case matches `{pattern}` (see `wsspec list`)"
            )));
        }
        for pattern in split_patterns(&self.exclude) {
            if command_line.unused_excludes.contains(&pattern) {
                eprintln!("wsspec: warning: --exclude {pattern} matches no case");
            }
        }
        let mut chosen = command_line.cases;
        let mut included: HashSet<&str> = select_with(cases, &self.cases, &[], Wildcards::WholeId)
            .cases
            .iter()
            .map(|case| case.id.as_str())
            .collect();
        let mut info = SelectionInfo {
            cases: self.cases.clone(),
            exclude,
            ..SelectionInfo::default()
        };
        if let Some(spec) = spec {
            let file = spec.path.display();
            let from_spec = select_with(
                cases,
                &spec.cases,
                &spec.exclude_cases,
                AutobahnSpec::WILDCARDS,
            );
            for pattern in &from_spec.unused_includes {
                eprintln!(
                    "wsspec: warning: {file}: cases: `{pattern}` matches no case of this wsspec"
                );
            }
            let in_spec: HashSet<&str> = from_spec.cases.iter().map(|c| c.id.as_str()).collect();
            chosen.retain(|case| in_spec.contains(case.id.as_str()));
            let spec_included: HashSet<&str> =
                select_with(cases, &spec.cases, &[], AutobahnSpec::WILDCARDS)
                    .cases
                    .iter()
                    .map(|case| case.id.as_str())
                    .collect();
            included.retain(|id| spec_included.contains(id));
            info.cases.splice(0..0, spec.cases.iter().cloned());
            info.exclude
                .splice(0..0, spec.exclude_cases.iter().cloned());
        }
        if chosen.is_empty() {
            return Err(Exit::usage(match spec {
                None => "no case left to run: --exclude removes every selected case".to_owned(),
                Some(spec) => format!(
                    "no case left to run: {} and the command line select no case together",
                    spec.path.display()
                ),
            }));
        }
        info.excluded = included.len() - chosen.len();
        if let Some(shard) = self.shard {
            let selected = chosen.len();
            chosen = shard.take(&chosen);
            if chosen.is_empty() {
                return Err(Exit::usage(format!(
                    "--shard {shard} has no case: only {selected} cases are selected"
                )));
            }
            info.shard = Some(shard);
        }
        Ok(Chosen {
            cases: chosen,
            info,
        })
    }
}

impl Chosen<'_> {
    /// The cases one agent runs: those its spec `exclude-agent-cases` leave in, and the selection
    /// record with those counted as excluded.
    pub(crate) fn for_agent(
        &self,
        agent: &str,
        spec: Option<&AutobahnSpec>,
    ) -> (Vec<&Case>, SelectionInfo) {
        let mut info = self.info.clone();
        let cases: Vec<&Case> = match spec {
            Some(spec) => self
                .cases
                .iter()
                .copied()
                .filter(|case| !spec.exclude_agent_cases.excludes(agent, case.id.as_str()))
                .collect(),
            None => self.cases.clone(),
        };
        info.excluded += self.cases.len() - cases.len();
        (cases, info)
    }
}
