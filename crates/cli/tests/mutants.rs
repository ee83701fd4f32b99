//! Broken servers of our own, one defect each, prove that the cases can fail: each defect must fail
//! exactly the cases that check the rule it breaks, and the run must exit 1.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

mod common;

use std::collections::BTreeMap;

use common::{run_server, verdicts};
use wsspec_mutants::Defect;

/// Runs every case against a server with `defect`; returns (exit code, verdict → ids).
fn run(defect: Defect, extra: &[&str]) -> (i32, BTreeMap<String, Vec<String>>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = runtime.block_on(wsspec_mutants::spawn(defect)).unwrap();
    let url = format!("ws://{addr}/");
    let (code, results, stderr) = run_server(&format!("mutant-{defect}"), Some(&url), extra);
    assert!(!results.is_null(), "{defect}: no results.json: {stderr}");
    let mut by_verdict: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, verdict) in verdicts(&results) {
        by_verdict.entry(verdict).or_default().push(id);
    }
    (code, by_verdict)
}

fn ids(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// The cases that close normally at the end: a server that mishandles its side of the close fails them.
const CLOSING_CASES: &str = "1.1.1 1.1.2 1.1.3 1.1.4 1.1.5 1.1.6 1.1.7 1.1.8 1.2.1 1.2.2 1.2.3 1.2.4 1.2.5 1.2.6 \
    1.2.7 1.2.8 2.1 2.2 2.3 2.4 2.6 2.7 2.8 2.9 2.10 2.11 5.3 5.4 5.5 5.6 5.7 5.8 5.19 5.20";

/// Each defect and exactly the cases it must fail.
fn expected_failures(defect: Defect) -> Vec<String> {
    ids(match defect {
        Defect::None | Defect::KeepsTcpOpen => "",
        Defect::AcceptsRsv => "3.1 3.2 3.3 3.4 3.5 3.6 3.7",
        Defect::AcceptsReservedOpcode => {
            "4.1.1 4.1.2 4.1.3 4.1.4 4.1.5 4.2.1 4.2.2 4.2.3 4.2.4 4.2.5"
        }
        Defect::EmptyPong => "2.2 2.3 2.4 2.6 2.9 2.10 2.11 5.6 5.7 5.8 5.19 5.20",
        Defect::AcceptsStrayContinuation => "5.9 5.10 5.11 5.12 5.13 5.14 5.15 5.16 5.17",
        Defect::AcceptsFragmentedControl => "5.1 5.2",
        Defect::AcceptsOversizedControl => "2.5",
        Defect::TruncatesLongMessages => "1.1.7 1.1.8 1.2.7 1.2.8",
        Defect::NoPongWhileFragmented => "5.6 5.7 5.8 5.19 5.20",
        Defect::AcceptsNewMessageMidFragment => "5.18",
        Defect::NoCloseReply => CLOSING_CASES,
    })
}

#[test]
fn each_defect_fails_exactly_its_cases() {
    let mut sections_shown_failing = std::collections::BTreeSet::new();
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = Defect::ALL
            .map(|defect| scope.spawn(move || (defect, run(defect, &[]))))
            .into();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (defect, (code, by_verdict)) in runs {
        let failed = by_verdict.get("fail").cloned().unwrap_or_default();
        assert_eq!(
            failed,
            expected_failures(defect),
            "{defect}: {by_verdict:?}"
        );
        assert_eq!(code, if failed.is_empty() { 0 } else { 1 }, "{defect}");
        sections_shown_failing.extend(
            failed
                .iter()
                .filter_map(|id| id.split('.').next().map(str::to_owned)),
        );
        if defect == Defect::None {
            assert_eq!(
                by_verdict.keys().collect::<Vec<_>>(),
                ["pass"],
                "the correct server: {by_verdict:?}"
            );
        }
    }
    assert_eq!(
        sections_shown_failing.into_iter().collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5"]
    );
}

#[test]
fn a_server_that_keeps_tcp_open_is_non_strict_and_fails_under_strict() {
    let (code, by_verdict) = run(Defect::KeepsTcpOpen, &["--cases", "1.1.1,2.7,5.3"]);
    assert_eq!(code, 0);
    assert_eq!(
        by_verdict.get("non-strict"),
        Some(&ids("1.1.1 2.7 5.3")),
        "{by_verdict:?}"
    );
    let (code, _) = run(Defect::KeepsTcpOpen, &["--cases", "1.1.1", "--strict"]);
    assert_eq!(code, 1);
}
