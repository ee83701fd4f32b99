//! Hostile clients never hang or confuse `wsspec client`: each behaviour of
//! `wsspec_mutants::hostile_client` opens the cases it is given, and every case must fail within
//! seconds with a reason that says what happened, however long its own deadline.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

mod common;

use std::time::{Duration, Instant};

use common::Listener;
use serde_json::Value;
use url::Url;
use wsspec_mutants::hostile_client::{self, ClientBehavior};
use wsspec_reference::client::{CaseClient, TungsteniteClient};

/// The agent name the attacks use.
const AGENT: &str = "hostile";

/// Runs `cases` (a comma list) with every case's connection attacked by `behavior`; the reports are
/// asked for after `settle`. Returns the cases' results and the run's wall time.
fn attacked(behavior: ClientBehavior, cases: &str, settle: Duration, extra: &[&str]) -> Vec<Value> {
    let name = format!("hostile-client-{behavior}");
    let mut args = vec!["--cases", cases];
    args.extend_from_slice(extra);
    let listener = Listener::start(&name, &args);
    let started = Instant::now();
    let count = cases.split(',').count();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for case in 1..=count {
            let url = Url::parse(&format!(
                "{}/runCase?case={case}&agent={AGENT}",
                listener.base
            ))
            .unwrap();
            // An attack lasts until the harness goes away (or for a deaf one, its lifetime): the
            // results tell what happened, not the attack.
            tokio::spawn(async move { hostile_client::attack(&url, behavior).await });
        }
        tokio::time::sleep(settle).await;
        let update = format!("{}/updateReports?agent={AGENT}", listener.base);
        let mut client = TungsteniteClient::new(Duration::from_secs(2));
        let _ = client.fetch_text(&Url::parse(&update).unwrap()).await;
    });
    let (code, results) = listener.finish(AGENT);
    runtime.shutdown_background();
    assert_eq!(code, 1, "{behavior}: {results}");
    assert!(started.elapsed() < settle + Duration::from_secs(5));
    let cases = results["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), count, "{behavior}: {results}");
    cases
}

/// Checks that every case failed within `limit` with a reason containing `because`.
fn all_failed(cases: &[Value], limit: Duration, because: &str) {
    for case in cases {
        let actual = case["actual"].as_str().unwrap();
        assert_eq!(case["verdict"], "fail", "{case}");
        assert!(actual.contains(because), "{}: {actual}", case["id"]);
        let took = Duration::from_millis(case["duration_ms"].as_u64().unwrap());
        assert!(took < limit, "{}: took {took:?}", case["id"]);
    }
}

/// Two echo cases, of 125 bytes and 64 KiB.
const ECHOES: &str = "1.1.2,1.1.6";

/// How long a stall may last here, and so about how long a case lasts against a silent client.
const STALL: &[&str] = &["--timeout", "1"];

#[test]
fn a_client_silent_after_the_handshake_fails_once_it_has_stalled() {
    let cases = attacked(
        ClientBehavior::Silent,
        ECHOES,
        Duration::from_secs(6),
        STALL,
    );
    all_failed(
        &cases,
        Duration::from_secs(6),
        "the peer sent nothing for 1.0 s while the case waited for: echo of the message sent",
    );
}

#[test]
fn a_client_silent_mid_message_fails_once_it_has_stalled() {
    let cases = attacked(
        ClientBehavior::SilentMidMessage,
        ECHOES,
        Duration::from_secs(6),
        STALL,
    );
    all_failed(
        &cases,
        Duration::from_secs(6),
        "the peer sent nothing for 1.0 s while the case waited for: echo of the message sent",
    );
}

#[test]
fn a_client_trickling_a_byte_a_second_fails_at_the_expectation_deadline() {
    let cases = attacked(
        ClientBehavior::Trickle,
        ECHOES,
        Duration::from_secs(7),
        &["--timeout", "3"],
    );
    all_failed(
        &cases,
        Duration::from_secs(7),
        "no echo of the message sent within 2000 ms",
    );
}

#[test]
fn a_client_sending_frames_without_end_fails_on_the_first_wrong_message() {
    let cases = attacked(
        ClientBehavior::EndlessFrames,
        ECHOES,
        Duration::from_secs(6),
        STALL,
    );
    all_failed(
        &cases,
        Duration::from_secs(6),
        "got a text message of 0 bytes",
    );
}

#[test]
fn a_client_flooding_pings_fails_at_the_expectation_deadline() {
    let cases = attacked(
        ClientBehavior::PingFlood,
        ECHOES,
        Duration::from_secs(8),
        STALL,
    );
    // The expectation's 2 s, then both waits of the closing (2 s each): the flood never stalls.
    all_failed(
        &cases,
        Duration::from_secs(7),
        "no echo of the message sent within 2000 ms",
    );
}

#[test]
fn a_client_that_never_closes_fails_the_closing_after_its_waits() {
    let cases = attacked(
        ClientBehavior::NeverCloses,
        ECHOES,
        Duration::from_secs(7),
        STALL,
    );
    for case in &cases {
        assert_eq!(case["verdict"], "fail", "{case}");
        assert_eq!(case["behavior"], "pass", "the echo was right: {case}");
        assert_eq!(case["behavior_close"], "unclean", "{case}");
        let notes = case["notes"].to_string();
        assert!(
            notes.contains("did not answer the harness's close frame"),
            "{notes}"
        );
        assert!(case["duration_ms"].as_u64().unwrap() < 6_000, "{case}");
    }
}

#[test]
fn a_client_that_stops_reading_fails_once_a_large_write_has_stalled() {
    // 9.1.6 sends one 16 MiB message: far more than the socket buffers take.
    let cases = attacked(ClientBehavior::Deaf, "9.1.6", Duration::from_secs(8), STALL);
    all_failed(
        &cases,
        Duration::from_secs(8),
        "the peer took none of the bytes sent for 1.0 s",
    );
}
