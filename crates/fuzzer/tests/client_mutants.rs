//! The client fuzzer against broken clients of our own (`wsspec-mutants`), driven in this process:
//! it must find each defect its scenarios reach within seconds and minimize it to a case that
//! still fails; the correct mutant client must give no finding.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

mod support;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::net::TcpListener;
use wsspec_fuzzer::{
    ClientLauncher, ClientTestee, FindingStatus, FuzzConfig, Progress, Quiet, Summary, Testee,
    client::ClientRun, fuzz,
};
use wsspec_mutants::ClientDefect;
use wsspec_runner::{RunConfig, clients::ClientConnections};

/// A fuzzer's view of a mutant client: each scenario's URL opened once by a client with `defect`.
async fn mutant_testee(defect: ClientDefect) -> Testee {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connections = ClientConnections::start(listener, None, Duration::from_secs(5)).unwrap();
    let launcher = ClientLauncher::InProcess(Arc::new(move |url: String| -> ClientRun {
        Box::pin(async move {
            let url = url::Url::parse(&url).unwrap();
            wsspec_mutants::client::echo_once(&url, defect).await;
        })
    }));
    Testee::Client(Arc::new(ClientTestee::new(connections, launcher, "mutant")))
}

async fn fuzz_client(defect: ClientDefect, runs: Option<u64>) -> Summary {
    let mut settings = RunConfig::default().settings;
    settings.close_wait = Duration::from_millis(1000);
    let mut config = FuzzConfig::new(5, settings);
    config.jobs = 16;
    match runs {
        Some(runs) => config.runs = Some(runs),
        None => {
            config.time = Some(Duration::from_secs(60));
            config.max_findings = Some(1);
        }
    }
    let testee = mutant_testee(defect).await;
    fuzz(
        &testee,
        &config,
        &Progress::default(),
        &Quiet,
        std::future::pending(),
    )
    .await
}

/// Fuzzes until the first finding and checks that it is minimized to a few steps and names what
/// the defect breaks.
async fn finds(defect: ClientDefect, words: &str) {
    let started = Instant::now();
    let summary = fuzz_client(defect, None).await;
    let finding = support::first_finding(defect, started, &summary);
    assert_eq!(finding.status, FindingStatus::Minimized, "{finding:?}");
    assert!(
        finding.case.title.contains(words),
        "{defect}: {}",
        finding.case.title
    );
    assert!(finding.case.steps.len() <= 3, "{:?}", finding.case.steps);
    assert_eq!(finding.case.roles, [wsspec_suite::Role::Client]);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_a_client_that_accepts_masked_frames() {
    finds(ClientDefect::AcceptsMaskedServerFrames, "a masked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_a_client_that_ignores_the_accept_key() {
    finds(ClientDefect::IgnoresWrongAccept, "Sec-WebSocket-Accept").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_a_client_that_sends_unmasked_frames() {
    // Even the close the harness makes is answered with an unmasked frame.
    finds(
        ClientDefect::SendsUnmasked,
        "a connection opened and closed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_mutant_client_has_no_findings() {
    let summary = fuzz_client(ClientDefect::None, Some(300)).await;
    assert_eq!(summary.scenarios, 300, "{summary:?}");
    assert!(summary.findings.is_empty(), "{:#?}", summary.findings);
    assert_eq!((summary.errors, summary.non_strict), (0, 0), "{summary:?}");
}
