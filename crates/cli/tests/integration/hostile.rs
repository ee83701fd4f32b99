//! Hostile servers never hang, crash or confuse the harness: each behaviour of
//! `wsspec_mutants::hostile` meets every other connection of a run, and the run must end within
//! seconds, fail exactly the attacked cases with a reason that says what happened, and pass the cases
//! served correctly beside them.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::time::{Duration, Instant};

use common::run_server;
use serde_json::Value;
use wsspec_mutants::hostile::{self, Behavior};

/// Seven echo cases of 125 bytes to 64 KiB: with every other request attacked, four are attacked
/// (requests 1, 3, 5 and 7) and three are served correctly. (1.1.1 is left out: its echo is an empty
/// message, which a flood of empty messages would answer.)
const SELECTION: &str = "1.1.2,1.1.3,1.1.4,1.1.5,1.1.6,1.1.7,1.1.8";
const ATTACKED: usize = 4;
const SERVED: usize = 3;

/// Each case's deadline, and how long the peer may stall, in seconds.
const DEADLINE: &str = "3";

/// The most a run may take: every case runs at once, so about one deadline, with room for a loaded
/// machine.
const RUN_LIMIT: Duration = Duration::from_secs(8);

/// What a run against a hostile server gave.
struct Attack {
    code: i32,
    took: Duration,
    cases: Vec<Value>,
    stderr: String,
}

impl Attack {
    /// The attacked cases, which must have failed.
    fn failed(&self) -> Vec<&Value> {
        self.cases
            .iter()
            .filter(|c| c["verdict"] == "fail")
            .collect()
    }
}

/// Runs [`SELECTION`] against a server that meets every other request with `behavior`.
fn attack(behavior: Behavior) -> Attack {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(hostile::spawn(behavior, 2)).unwrap();
    let started = Instant::now();
    let (code, results, stderr) = run_server(
        &format!("hostile-{behavior}"),
        Some(&server.url()),
        &[
            "--cases",
            SELECTION,
            "--timeout",
            DEADLINE,
            "--case-deadline",
            DEADLINE,
        ],
    );
    let took = started.elapsed();
    assert_eq!(server.attacked(), ATTACKED, "{behavior}: {stderr}");
    let cases = results["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{behavior}: no results: {stderr}"))
        .clone();
    Attack {
        code,
        took,
        cases,
        stderr,
    }
}

/// Why a case failed: its `actual` up to the list of what the peer sent.
fn reason(case: &Value) -> &str {
    let actual = case["actual"].as_str().unwrap();
    actual.split(". the peer sent").next().unwrap_or(actual)
}

/// Runs `behavior` and checks what every hostile behaviour must give: the attacked cases FAILED with a
/// reason containing `because`, the others passed, exit 1, and the run over within seconds.
fn contained(behavior: Behavior, because: &str) -> Attack {
    let attack = attack(behavior);
    assert_eq!(attack.code, 1, "{behavior}: {}", attack.stderr);
    assert!(
        attack.took < RUN_LIMIT,
        "{behavior}: the run took {:?}",
        attack.took
    );
    assert_eq!(attack.cases.len(), ATTACKED + SERVED, "{behavior}");
    let failed = attack.failed();
    assert_eq!(failed.len(), ATTACKED, "{behavior}: {:#?}", attack.cases);
    for case in &failed {
        assert!(
            reason(case).contains(because),
            "{behavior}: {} failed for another reason: {}",
            case["id"],
            case["actual"]
        );
    }
    let passed = attack.cases.iter().filter(|c| c["verdict"] == "pass");
    assert_eq!(passed.count(), SERVED, "{behavior}: {:#?}", attack.cases);
    attack
}

#[test]
fn a_frame_declaring_2_pow_63_bytes_fails_without_allocating_or_hanging() {
    let attack = contained(
        Behavior::HugeFrame,
        "no echo of the message sent within 2000 ms",
    );
    for case in attack.failed() {
        assert_eq!(case["behavior_close"], "unclean", "{case}");
    }
}

#[test]
fn an_endless_stream_of_frames_fails_on_the_first_wrong_message() {
    contained(Behavior::EndlessFrames, "got a text message of 0 bytes");
}

#[test]
fn one_byte_per_second_fails_at_the_expectation_deadline() {
    contained(
        Behavior::Trickle,
        "no echo of the message sent within 2000 ms",
    );
}

#[test]
fn a_peer_that_never_sends_or_closes_fails_unclean() {
    let attack = contained(
        Behavior::Silent,
        "no echo of the message sent within 2000 ms",
    );
    for case in attack.failed() {
        assert_eq!(case["behavior_close"], "unclean", "{case}");
        assert_eq!(case["close"]["clean"], false, "{case}");
    }
}

#[test]
fn garbage_instead_of_http_fails_in_the_handshake() {
    contained(
        Behavior::Garbage,
        "the handshake response is not valid HTTP: malformed HTTP head",
    );
}

#[test]
fn a_101_without_upgrade_fails_the_handshake() {
    contained(
        Behavior::NoUpgrade,
        "opening handshake failed: no Upgrade header",
    );
}

#[test]
fn a_reset_in_the_middle_of_a_frame_fails_as_a_lost_connection() {
    contained(
        Behavior::ResetMidFrame,
        "connection lost: Connection reset by peer",
    );
}

#[test]
fn a_1_mib_header_block_is_refused_after_64_kib() {
    let attack = contained(
        Behavior::HugeHeaders,
        "the handshake response is not valid HTTP: header block over 65536 bytes",
    );
    // The harness read no more than the cap and one more read of 4 KiB, not the megabyte.
    for case in attack.failed() {
        let read: u64 = case["transcript"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["dir"] == "received" && e["kind"] == "bytes")
            // An entry repeated right away stands for its repeats too.
            .map(|e| e["len"].as_u64().unwrap() * (1 + e["repeats"].as_u64().unwrap_or(0)))
            .sum();
        assert!(read > 64 * 1024, "{read}");
        assert!(read <= 68 * 1024, "read {read} bytes of the header block");
    }
}

#[test]
fn a_handshake_that_stops_halfway_fails_at_the_case_deadline() {
    contained(
        Behavior::HandshakeHang,
        "the case did not finish within its deadline of 3000 ms, still in the opening handshake",
    );
}

#[test]
fn a_ping_flood_is_answered_and_still_fails_at_the_expectation_deadline() {
    let attack = contained(
        Behavior::PingFlood,
        "no echo of the message sent within 2000 ms",
    );
    for case in attack.failed() {
        assert!(
            case["actual"]
                .as_str()
                .unwrap()
                .contains("the peer sent: ping"),
            "{case}"
        );
    }
}

#[test]
fn a_message_in_100_000_one_byte_fragments_is_reassembled_and_judged() {
    contained(
        Behavior::TinyFragments,
        "got a text message of 100000 bytes",
    );
}

#[test]
fn a_peer_silent_mid_message_fails_at_the_expectation_deadline() {
    contained(
        Behavior::SilentMidMessage,
        "no echo of the message sent within 2000 ms",
    );
}

#[test]
fn a_peer_that_echoes_but_never_closes_fails_the_closing() {
    let attack = attack(Behavior::NeverCloses);
    assert_eq!(attack.code, 1, "{}", attack.stderr);
    assert!(attack.took < RUN_LIMIT, "the run took {:?}", attack.took);
    let failed = attack.failed();
    assert_eq!(failed.len(), ATTACKED, "{:#?}", attack.cases);
    for case in failed {
        // The echo was right; the closing outlasts the 3 s deadline (2 s for a close frame, 2 s for
        // the end of TCP).
        let transcript = case["transcript"].to_string();
        assert!(transcript.contains("expectation met"), "{case}");
        assert_eq!(case["behavior_close"], "unclean", "{case}");
        assert!(
            case["notes"]
                .to_string()
                .contains("did not answer the harness's close frame"),
            "{case}"
        );
    }
}

/// Runs `cases` against a server that attacks every connection with `behavior`, with `extra`
/// arguments; (exit code, the cases' results, wall time).
fn every_connection(
    behavior: Behavior,
    cases: &str,
    extra: &[&str],
) -> (i32, Vec<Value>, Duration) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(hostile::spawn(behavior, 1)).unwrap();
    let started = Instant::now();
    let mut args = vec!["--cases", cases];
    args.extend_from_slice(extra);
    let (code, results, stderr) =
        run_server(&format!("every-{behavior}"), Some(&server.url()), &args);
    let cases = results["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{behavior}: no results: {stderr}"))
        .clone();
    (code, cases, started.elapsed())
}

#[test]
fn a_silent_peer_fails_at_the_progress_timeout_long_before_the_expectation_deadline() {
    // 9.1.1 waits up to 60 s for the echo of its 64 KiB message.
    let (code, cases, took) = every_connection(Behavior::Silent, "9.1.1", &["--timeout", "1"]);
    assert_eq!(code, 1);
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        reason(&cases[0]).starts_with(
            "the peer sent nothing for 1.0 s while the case waited for: echo of the message sent"
        ),
        "{}",
        cases[0]["actual"]
    );
}

#[test]
fn a_peer_that_stops_reading_fails_once_a_large_write_has_stalled() {
    // 9.1.6 sends one 16 MiB message: far more than the socket buffers take.
    let (code, cases, took) = every_connection(Behavior::Deaf, "9.1.6", &["--timeout", "1"]);
    assert_eq!(code, 1);
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        reason(&cases[0]).starts_with("the peer took none of the bytes sent for 1.0 s, with "),
        "{}",
        cases[0]["actual"]
    );
}

#[test]
fn once_a_target_has_gone_silent_the_cases_after_fail_fast_with_the_reason() {
    // 27 cases, 16 at a time: the first ones wait out their expectations and closings; once eight in a
    // row heard nothing, the rest are probed with a ping for 500 ms each. The first seven to end free
    // slots before the run is quiet, so at least 27 - 16 - 7 = 4 cases are probed (all 11 when the
    // first 16 end together; on a loaded machine they spread out).
    let (code, cases, took) = every_connection(Behavior::Silent, "1.*,2.*", &[]);
    assert_eq!(code, 1);
    assert_eq!(cases.len(), 27);
    assert!(cases.iter().all(|case| case["verdict"] == "fail"));
    let probed: Vec<&Value> = cases
        .iter()
        .filter(|case| reason(case).contains("connections before this one, nor a ping"))
        .collect();
    assert!(probed.len() >= 4, "{} probed: {cases:#?}", probed.len());
    for case in probed {
        assert!(case["duration_ms"].as_u64().unwrap() < 1_500, "{case}");
    }
    assert!(took < Duration::from_secs(15), "{took:?}");
}
