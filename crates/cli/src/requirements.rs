//! `wsspec requirements`: the requirement registry with its coverage, as a table or as JSON.
//!
//! For each requirement: its keyword, whom it binds, the cases that check it, and a peer of the
//! test suite that fails one of those cases, which proves the cases can fail (it does not say which
//! sentence the failure turned on; a peer that fails nearly every case proves nothing). That proof is
//! read from the verdict snapshot (`crates/cli/tests/snapshot/verdicts.txt`, embedded here), which the test
//! suite checks against fresh runs of the mutants and the real peers. A requirement can also be one
//! of the rules the judge checks on every frame the peer sends ([`Violation`]). The summary counts,
//! per document and keyword, the requirements a peer's bytes can show broken, those checked (by a
//! case or on every frame), and those with a case proven able to fail.

use std::collections::BTreeMap;

use clap::Args;
use serde::Serialize;
use wsspec_runner::judge::Violation;
use wsspec_suite::{
    Case, Role,
    requirement::{Keyword, Registry, Requirement},
};

use crate::{
    cases::load_suite,
    exit::{self, Exit},
    stdout::print_out,
};

/// The verdict snapshot the test suite keeps: `ROLE PEER CASE VERDICT CLOSE-VERDICT` per line.
const SNAPSHOT: &str = include_str!("../tests/snapshot/verdicts.txt");

#[derive(Args, Debug)]
pub(crate) struct RequirementsArgs {
    /// Only requirements whose id starts with one of these (`6455-5.`, `7692-`).
    prefixes: Vec<String>,
    /// Only the testable requirements that no case checks.
    #[arg(long)]
    uncovered: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One requirement with its coverage.
#[derive(Serialize)]
struct Covered<'a> {
    #[serde(flatten)]
    requirement: &'a Requirement,
    testable: bool,
    /// The ids of the cases that name it.
    cases: Vec<&'a str>,
    /// Whether the judge checks it on every frame the peer sends, in every case (a [`Violation`]).
    every_frame: bool,
    /// A peer of the test suite that fails one of those cases, with the case.
    proven_by: Option<Proof<'a>>,
}

impl Covered<'_> {
    /// Whether a case or the judge's check of every frame covers it.
    fn checked(&self) -> bool {
        self.every_frame || !self.cases.is_empty()
    }
}

/// A snapshot line that shows a case failing.
#[derive(Clone, Copy, Serialize)]
struct Proof<'a> {
    role: &'a str,
    peer: &'a str,
    case: &'a str,
    verdict: &'a str,
}

/// Prints the registry with coverage, and the summary on stderr (in the JSON output, both).
pub(crate) fn requirements(args: RequirementsArgs) -> Result<u8, Exit> {
    let registry = Registry::builtin().map_err(|err| Exit::usage(err.to_string()))?;
    let suite = load_suite(None)?;
    let proofs = failing_cases();
    let covered: Vec<Covered> = registry
        .iter()
        .filter(|r| args.prefixes.is_empty() || args.prefixes.iter().any(|p| r.id.starts_with(p)))
        .map(|requirement| cover(requirement, &suite.cases, &proofs))
        .filter(|c| !args.uncovered || (c.testable && !c.checked()))
        .collect();
    let summary = summarize(&covered);
    if args.json {
        let json = serde_json::json!({ "requirements": covered, "summary": summary });
        let text =
            serde_json::to_string_pretty(&json).map_err(|err| Exit::usage(err.to_string()))?;
        print_out(&format!("{text}\n"));
    } else {
        print_out(&table(&covered));
        for line in &summary {
            eprintln!("{line}");
        }
    }
    Ok(exit::OK)
}

/// The share of its cases a peer may fail and still count as proof: a peer that fails nearly every
/// case (a broken opening handshake, every frame unmasked) shows nothing about any one of them.
const BLANKET_FAILURE: f64 = 0.9;

/// The snapshot's failing verdicts, by (role, case id): the first peer that fails each, among the
/// peers that do not fail nearly everything.
fn failing_cases() -> BTreeMap<(&'static str, &'static str), Proof<'static>> {
    let lines: Vec<[&str; 5]> = SNAPSHOT
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(' ').collect::<Vec<_>>().try_into().ok())
        .collect();
    let failing = |verdict: &str| matches!(verdict, "FAILED" | "NON-STRICT");
    let mut tally: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for [role, peer, _, verdict, _] in &lines {
        let (failed, all) = tally.entry((role, peer)).or_default();
        *failed += usize::from(failing(verdict));
        *all += 1;
    }
    let mut proofs = BTreeMap::new();
    for [role, peer, case, verdict, _] in lines {
        let (failed, all) = tally[&(role, peer)];
        if failing(verdict) && (failed as f64) < BLANKET_FAILURE * all as f64 {
            proofs.entry((role, case)).or_insert(Proof {
                role,
                peer,
                case,
                verdict,
            });
        }
    }
    proofs
}

/// The cases that name `requirement`, and the first of them a peer fails in a role it binds.
fn cover<'a>(
    requirement: &'a Requirement,
    cases: &'a [Case],
    proofs: &BTreeMap<(&str, &str), Proof<'static>>,
) -> Covered<'a> {
    let naming: Vec<&Case> = cases
        .iter()
        .filter(|case| case.requirements.contains(&requirement.id))
        .collect();
    let proven_by = naming.iter().find_map(|case| {
        case.roles
            .iter()
            .filter(|role| requirement.binds.binds_role(**role))
            .find_map(|role| proofs.get(&(role_name(*role), case.id.as_str())).copied())
    });
    Covered {
        requirement,
        testable: requirement.testable(),
        cases: naming.iter().map(|case| case.id.as_str()).collect(),
        every_frame: Violation::one_of_each()
            .iter()
            .any(|violation| violation.requirements().contains(&requirement.id.as_str())),
        proven_by,
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
    }
}

/// The table: one line per requirement.
fn table(covered: &[Covered]) -> String {
    let mut text = String::new();
    for c in covered {
        let r = c.requirement;
        let cases = match c.cases.as_slice() {
            [] if c.every_frame => "every frame".to_owned(),
            [] if !c.testable => "untestable".to_owned(),
            [] => "NO CASE".to_owned(),
            [one] => (*one).to_owned(),
            [first, .., last] => format!("{first} .. {last} ({})", c.cases.len()),
        };
        let proof = c
            .proven_by
            .map(|p| format!("fails for {} ({})", p.peer, p.case))
            .unwrap_or_default();
        text.push_str(&format!(
            "{:<14} {:<10} {:<12} {:<24} {proof}\n",
            r.id,
            r.keyword.name(),
            r.binds.name(),
            cases
        ));
    }
    text
}

/// Per document and keyword: the requirements, the testable ones, those with a case, those proven.
fn summarize(covered: &[Covered]) -> Vec<String> {
    let mut counts: BTreeMap<(&str, Keyword), [usize; 4]> = BTreeMap::new();
    for c in covered {
        let entry = counts
            .entry((c.requirement.rfc.as_str(), c.requirement.keyword))
            .or_default();
        entry[0] += 1;
        if c.testable {
            entry[1] += 1;
            entry[2] += usize::from(c.checked());
            entry[3] += usize::from(c.proven_by.is_some());
        }
    }
    let percent = |part: usize, whole: usize| {
        (part * 100)
            .checked_div(whole)
            .map_or("-".to_owned(), |percent| format!("{percent}%"))
    };
    counts
        .iter()
        .map(|((rfc, keyword), [all, testable, with_case, proven])| {
            format!(
                "{rfc} {:<10} {all:>3} sentences, {testable:>3} testable: {with_case:>3} checked ({}), {proven:>3} by a case proven able to fail ({})",
                keyword.name(),
                percent(*with_case, *testable),
                percent(*proven, *testable),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_suite::requirement::Binds;

    #[test]
    fn the_snapshot_proves_the_masking_cases_can_fail() {
        let proofs = failing_cases();
        let proof = proofs[&("server", "18.1")];
        assert_eq!(proof.peer, "mutant-accepts-unmasked-frames");
        // That mutant answers the handshake wrongly and so fails nearly every case: no proof.
        assert!(
            proofs
                .values()
                .all(|p| p.peer != "mutant-wrong-accept-guid")
        );
    }

    #[test]
    fn a_requirement_is_proven_only_in_a_role_it_binds() {
        let registry = Registry::builtin().unwrap();
        let suite = wsspec_suite::Suite::builtin().unwrap();
        let proofs = failing_cases();
        let server_masking = registry
            .iter()
            .find(|r| r.text.contains("upon receiving a frame that is not masked"))
            .unwrap();
        let covered = cover(server_masking, &suite.cases, &proofs);
        assert!(covered.cases.contains(&"18.1"), "{:?}", covered.cases);
        assert_eq!(covered.proven_by.map(|p| p.role), Some("server"));
        assert_eq!(server_masking.binds, Binds::Server);
    }
}
