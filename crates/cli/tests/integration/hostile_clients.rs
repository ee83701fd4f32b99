//! Hostile clients never hang or confuse `wsspec client`: each behaviour of
//! `wsspec_mutants::hostile_client` opens the cases it is given, and every case must fail within
//! seconds with a reason that says what happened, however long its own deadline.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

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

/// Runs `cases` attacked by `behavior` and checks that every case failed within `limit` with a
/// reason containing `because`.
fn fails_within(
    behavior: ClientBehavior,
    cases: &str,
    extra: &[&str],
    limit: Duration,
    because: &str,
) {
    let settle = limit + Duration::from_secs(1);
    for case in attacked(behavior, cases, settle, extra) {
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

/// What a stalled echo fails with, with [`STALL`].
const STALLED: &str =
    "the peer sent nothing for 1.0 s while the case waited for: echo of the message sent";

/// A case that waits for an answer until its expectation's 2 s, then for both parts of the closing
/// (2 s each), lasts about this long at most.
const WAITED_OUT: Duration = Duration::from_secs(7);

#[test]
fn a_client_silent_after_the_handshake_fails_once_it_has_stalled() {
    let limit = Duration::from_secs(5);
    fails_within(ClientBehavior::Silent, ECHOES, STALL, limit, STALLED);
}

#[test]
fn a_client_silent_mid_message_fails_once_it_has_stalled() {
    let limit = Duration::from_secs(5);
    fails_within(
        ClientBehavior::SilentMidMessage,
        ECHOES,
        STALL,
        limit,
        STALLED,
    );
}

#[test]
fn a_client_trickling_a_byte_a_second_fails_at_the_expectation_deadline() {
    // A byte a second is progress: only the expectation's own 2 s ends the wait.
    let because = "no echo of the message sent within 2000 ms";
    fails_within(
        ClientBehavior::Trickle,
        ECHOES,
        &["--timeout", "3"],
        WAITED_OUT,
        because,
    );
}

#[test]
fn a_client_sending_frames_without_end_fails_on_the_first_wrong_message() {
    let because = "got a text message of 0 bytes";
    fails_within(
        ClientBehavior::EndlessFrames,
        ECHOES,
        STALL,
        WAITED_OUT,
        because,
    );
}

#[test]
fn a_client_flooding_pings_fails_at_the_expectation_deadline() {
    let because = "no echo of the message sent within 2000 ms";
    fails_within(
        ClientBehavior::PingFlood,
        ECHOES,
        STALL,
        WAITED_OUT,
        because,
    );
}

#[test]
fn a_client_that_stops_reading_fails_once_a_large_write_has_stalled() {
    // 9.1.6 sends one 16 MiB message: far more than the socket buffers take.
    let because = "the peer took none of the bytes sent for 1.0 s";
    fails_within(ClientBehavior::Deaf, "9.1.6", STALL, WAITED_OUT, because);
}

#[test]
fn a_client_that_never_closes_fails_the_closing_after_its_waits() {
    let settle = WAITED_OUT + Duration::from_secs(1);
    for case in attacked(ClientBehavior::NeverCloses, ECHOES, settle, STALL) {
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
