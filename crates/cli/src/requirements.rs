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
    /// A verdict of the test suite's peers that turned on it: the peer, the case and the verdict.
    proven_by: Option<Proof<'static>>,
}

impl Covered<'_> {
    /// Whether a case or the judge's check of every frame covers it.
    fn checked(&self) -> bool {
        self.every_frame || !self.cases.is_empty()
    }
}

/// A snapshot line that shows a requirement broken.
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
    let failures = failures();
    let covered: Vec<Covered> = registry
        .iter()
        .filter(|r| args.prefixes.is_empty() || args.prefixes.iter().any(|p| r.id.starts_with(p)))
        .map(|requirement| cover(requirement, &suite.cases, &failures))
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

/// The share of its cases a peer may fail and still prove the rules of its cases: a peer that
/// fails nearly every case (a broken opening handshake, every frame unmasked) shows nothing about the
/// rules each case is about, only about the rules the judge found it breaking.
const BLANKET_FAILURE: f64 = 0.9;

/// A snapshot line whose verdict turned on requirements: `ROLE PEER CASE VERDICT CLOSE BROKEN`.
struct Failure {
    proof: Proof<'static>,
    broken: Vec<&'static str>,
    /// Whether the peer fails nearly every case of its run ([`BLANKET_FAILURE`]).
    blanket: bool,
}

/// The snapshot's failing verdicts with the requirement ids they turned on.
fn failures() -> Vec<Failure> {
    let lines: Vec<Vec<&'static str>> = SNAPSHOT
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split(' ').collect::<Vec<_>>())
        .filter(|fields| matches!(fields.len(), 5 | 6))
        .collect();
    let failing = |verdict: &str| matches!(verdict, "FAILED" | "NON-STRICT");
    let mut tally: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for fields in &lines {
        let (failed, all) = tally.entry((fields[0], fields[1])).or_default();
        *failed += usize::from(failing(fields[3]));
        *all += 1;
    }
    lines
        .iter()
        .filter(|fields| failing(fields[3]) && fields.len() == 6)
        .map(|fields| {
            let (failed, all) = tally[&(fields[0], fields[1])];
            Failure {
                proof: Proof {
                    role: fields[0],
                    peer: fields[1],
                    case: fields[2],
                    verdict: fields[3],
                },
                broken: fields[5].split(',').collect(),
                blanket: failed as f64 >= BLANKET_FAILURE * all as f64,
            }
        })
        .collect()
}

/// The cases that name `requirement`, and the first failing verdict in a role it binds that turned
/// on it: from a peer that fails nearly everything, only when the judge found the rule broken
/// beyond what the case itself checks. A MAY is never broken, though a case that relies on it names
/// it: no verdict proves one.
fn cover<'a>(requirement: &'a Requirement, cases: &'a [Case], failures: &[Failure]) -> Covered<'a> {
    let naming: Vec<&Case> = cases
        .iter()
        .filter(|case| case.requirements.contains(&requirement.id))
        .collect();
    let id = requirement.id.as_str();
    let proven_by = failures
        .iter()
        .filter(|_| requirement.keyword != Keyword::May)
        .filter(|failure| failure.broken.contains(&id))
        .filter(|failure| {
            [Role::Server, Role::Client].into_iter().any(|role| {
                role_name(role) == failure.proof.role && requirement.binds.binds_role(role)
            })
        })
        .find(|failure| {
            !failure.blanket
                || !naming
                    .iter()
                    .any(|case| case.id.as_str() == failure.proof.case)
        })
        .map(|failure| failure.proof);
    Covered {
        requirement,
        testable: requirement.testable(),
        cases: naming.iter().map(|case| case.id.as_str()).collect(),
        every_frame: Violation::one_of_each()
            .iter()
            .any(|violation| violation.requirements().contains(&id)),
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
            [] if r.pending.is_some() => "pending".to_owned(),
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
                "{rfc} {:<10} {all:>3} sentences, {testable:>3} testable: {with_case:>3} checked ({}), {proven:>3} proven able to fail ({})",
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

    /// The proof of the requirement whose sentence contains `text`.
    fn covered(text: &str) -> Option<Proof<'static>> {
        let registry = Registry::builtin().unwrap();
        let suite = wsspec_suite::Suite::builtin().unwrap();
        let requirement = registry.iter().find(|r| r.text.contains(text)).unwrap();
        cover(requirement, &suite.cases, &failures()).proven_by
    }

    #[test]
    fn a_requirement_is_proven_by_a_verdict_that_turned_on_it_in_a_role_it_binds() {
        let proof = covered("upon receiving a frame that is not masked").unwrap();
        assert_eq!((proof.role, proof.case), ("server", "18.1"));
        assert_eq!(proof.peer, "mutant-accepts-unmasked-frames");
        let registry = Registry::builtin().unwrap();
        let client_masks = registry.get("6455-5.1-1").unwrap();
        assert_eq!(client_masks.binds, Binds::Client);
        // The client that sends unmasked frames fails every case it runs, but the judge found the
        // rule broken on its frames: that proves the rule, in the client role.
        let proof = covered("a client MUST mask all frames").unwrap();
        assert_eq!(
            (proof.role, proof.peer),
            ("client", "mutant-sends-unmasked")
        );
        // 2.9 names the MAY it relies on (an unsolicited pong), and a failure of 2.9 proves nothing of it.
        assert!(covered("A Pong frame MAY be sent unsolicited").is_none());
    }

    #[test]
    fn a_testable_requirement_is_proven_or_says_what_it_waits_for() {
        let registry = Registry::builtin().unwrap();
        let suite = wsspec_suite::Suite::builtin().unwrap();
        let failures = failures();
        for requirement in registry.iter() {
            let c = cover(requirement, &suite.cases, &failures);
            let must = matches!(requirement.keyword, Keyword::Must | Keyword::MustNot);
            if c.testable && must {
                assert_ne!(
                    c.proven_by.is_some(),
                    requirement.pending.is_some(),
                    "{}: proven, or pending with the reason (and not both)",
                    requirement.id
                );
            }
        }
    }

    #[test]
    fn a_peer_failing_nearly_everything_proves_no_rule_of_the_cases_themselves() {
        let failures = failures();
        let wrong_accept: Vec<&Failure> = failures
            .iter()
            .filter(|f| f.proof.peer == "mutant-wrong-accept-guid")
            .collect();
        assert!(!wrong_accept.is_empty() && wrong_accept.iter().all(|f| f.blanket));
        let on_accept = wrong_accept
            .iter()
            .filter(|f| f.broken == ["6455-4.2.2-12"])
            .count();
        assert!(on_accept * 10 >= wrong_accept.len() * 9, "{on_accept}");
        // Its failures of the refusal cases turn on their own rules: no proof of those.
        let refusal = covered("If the server does not wish to accept this connection");
        assert!(refusal.is_none_or(|p| p.peer != "mutant-wrong-accept-guid"));
    }
}
