//! The fuzzer against broken servers of our own (`wsspec-mutants`), one defect each: it must find
//! the defect quickly and minimize it to a small case that still fails when replayed; against the
//! correct server it must find nothing.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

mod support;

use std::time::{Duration, Instant};

use wsspec_fuzzer::{
    FindingStatus, FuzzConfig, Progress, Quiet, StopReason, Summary, Testee, fuzz,
};
use wsspec_mutants::Defect;
use wsspec_runner::{RunConfig, Target, drive::run_server_case};
use wsspec_suite::results::Verdict;

/// Fuzzes a mutant until the first finding (at most 60 s) and returns what happened.
async fn fuzz_mutant(defect: Defect, seed: u64, limit: FuzzLimit) -> (Target, Summary) {
    let addr = wsspec_mutants::spawn(defect).await.unwrap();
    let target = Target::parse(&format!("ws://{addr}/")).unwrap();
    let mut settings = RunConfig::default().settings;
    settings.close_wait = Duration::from_millis(1000);
    let mut config = FuzzConfig::new(seed, settings);
    // The tests of this file run at once on two cores, in a debug build: fewer jobs, and a second
    // for each answer, keep a busy machine from looking like a broken server.
    config.jobs = 16;
    config.wait_ms = 1000;
    match limit {
        FuzzLimit::FirstFinding => {
            config.time = Some(Duration::from_secs(60));
            config.max_findings = Some(1);
        }
        FuzzLimit::Runs(runs) => config.runs = Some(runs),
    }
    let summary = fuzz(
        &Testee::Server(target.clone()),
        &config,
        &Progress::default(),
        &Quiet,
        std::future::pending(),
    )
    .await;
    (target, summary)
}

enum FuzzLimit {
    FirstFinding,
    Runs(u64),
}

async fn finds(defect: Defect) {
    let started = Instant::now();
    let (target, summary) = fuzz_mutant(defect, 1, FuzzLimit::FirstFinding).await;
    let finding = support::first_finding(defect, started, &summary);
    assert_eq!(summary.stopped, StopReason::MaxFindings);
    assert_eq!(finding.status, FindingStatus::Minimized);
    assert!(
        finding.case.steps.len() <= 5,
        "{defect}: {:#?}",
        finding.case.steps
    );
    // Replayed from its case file, the finding fails again.
    let text = wsspec_suite::write_file(99, "Fuzz findings", std::slice::from_ref(&finding.case));
    let suite = wsspec_suite::Suite::from_sources([("f.toml".to_string(), text.into())]).unwrap();
    let result = run_server_case(
        &suite.cases[0],
        &target,
        &RunConfig::default().settings,
        Instant::now(),
    )
    .await;
    assert_eq!(
        result.verdict,
        Verdict::Fail,
        "{defect}: replay {result:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_rsv_bits_accepted() {
    finds(Defect::AcceptsRsv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_reserved_opcodes_accepted() {
    finds(Defect::AcceptsReservedOpcode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_empty_pongs() {
    finds(Defect::EmptyPong).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_invalid_utf8_accepted() {
    finds(Defect::AcceptsInvalidUtf8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_fragmented_control_frames_accepted() {
    finds(Defect::AcceptsFragmentedControl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_invalid_close_codes_accepted() {
    finds(Defect::AcceptsInvalidCloseCodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_nothing_against_the_correct_server() {
    let (_, summary) = fuzz_mutant(Defect::None, 2, FuzzLimit::Runs(2000)).await;
    assert!(summary.findings.is_empty(), "{:#?}", summary.findings);
    assert_eq!(summary.scenarios, 2000);
    assert_eq!(summary.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_dies_is_one_finding_and_the_end_of_the_run() {
    let server = wsspec_reference::EchoServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        wsspec_reference::EchoConfig::default(),
    )
    .await
    .unwrap();
    let target = Target::parse(&server.url()).unwrap();
    let (_, handle) = server.spawn();
    // The server goes away (its listener closes) while scenarios run.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.abort();
    });
    let mut config = FuzzConfig::new(3, RunConfig::default().settings);
    config.time = Some(Duration::from_secs(30));
    let started = Instant::now();
    let summary = fuzz(
        &Testee::Server(target.clone()),
        &config,
        &Progress::default(),
        &Quiet,
        std::future::pending(),
    )
    .await;
    assert_eq!(summary.stopped, StopReason::TargetDown, "{summary:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(summary.findings.len(), 1);
    let finding = &summary.findings[0];
    assert_eq!(finding.status, FindingStatus::KilledTarget);
    assert!(summary.scenarios > 0);
    let note = finding.case.note.as_deref().unwrap();
    assert!(
        note.contains("no longer upgraded a standard handshake"),
        "{note}"
    );
    assert!(note.contains("--seed 3 --first"), "{note}");
}
