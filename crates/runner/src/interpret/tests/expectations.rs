//! Each expectation kind, met and broken, fed by hand.

use super::*;

#[test]
fn an_expectation_not_met_in_time_fails_and_stops_the_steps() {
    let mut peer = Peer::client(&format!(
        "{}\n",
        r#"steps = [
  { send = { opcode = "text", payload = "a" } },
  { expect = "echo", within_ms = 100 },
  { send = { opcode = "text", payload = "never sent" } },
]"#
    ));
    peer.written();
    peer.done_writing();
    peer.later(99);
    assert!(peer.action().is_none());
    peer.later(1);
    // The next write is the closing, not the third step.
    peer.close_well();
    let record_facts = peer.judged();
    assert_eq!(record_facts.verdict, Verdict::Fail);
    assert!(
        record_facts.actual.contains("within 100 ms"),
        "{}",
        record_facts.actual
    );
}

#[test]
fn a_ping_is_answered_with_its_payload_while_an_expectation_waits() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "text", payload = "x" } },
  { expect = "echo" },
]"#,
    );
    peer.written();
    peer.done_writing();
    peer.send(FrameSpec::ping("are you there").with_mask(MASK));
    assert_eq!(
        peer.written_frames(),
        [(Opcode::Pong, b"are you there".to_vec())]
    );
    peer.done_writing();
    peer.send(FrameSpec::text("x").with_mask(MASK));
    peer.close_well();
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn nothing_is_met_by_silence_and_broken_by_a_message() {
    let body = r#"steps = [{ expect = { nothing = 200 } }]"#;
    let mut quiet = Peer::client(body);
    quiet.later(200);
    quiet.close_well();
    assert_eq!(quiet.judged().verdict, Verdict::Pass);

    let mut chatty = Peer::client(body);
    chatty.send(FrameSpec::text("hi").with_mask(MASK));
    chatty.close_well();
    assert_eq!(chatty.judged().verdict, Verdict::Fail);
}

#[test]
fn a_late_reaction_allowed_by_on_timeout_is_recorded_and_the_steps_go_on() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "text", payload = "x" } },
  { expect = "echo", within_ms = 10, on_timeout = "non-strict" },
  { send = { opcode = "text", payload = "y" } },
]"#,
    );
    peer.written();
    peer.done_writing();
    peer.later(10);
    assert_eq!(peer.written_frames(), [(Opcode::Text, b"y".to_vec())]);
    peer.done_writing();
    assert!(matches!(
        peer.it.record.facts.last(),
        Some(Fact::Late(reason)) if reason.contains("10 ms")
    ));
}

#[test]
fn a_peer_that_fails_the_connection_as_expected_passes() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "ping", payload = { repeat = "x", count = 126 } } },
  { expect = { fail = [1002] } },
]"#,
    );
    peer.written();
    peer.done_writing();
    peer.send(FrameSpec::close(Some(CloseCode::PROTOCOL_ERROR), b"").with_mask(MASK));
    // The harness answers the close frame with the same code.
    assert_eq!(peer.written_frames(), [(Opcode::Close, vec![3, 234])]);
    peer.done_writing();
    peer.input(Input::Closed(None));
    peer.finished();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.actual);
    assert_eq!(result.close.initiated_by, Some(Side::Peer));
}

#[test]
fn a_message_no_step_expected_fails_the_case_at_closing() {
    let mut peer = Peer::client("steps = [{ wait = 10 }]");
    peer.send(FrameSpec::text("surprise").with_mask(MASK));
    peer.later(10);
    peer.close_well();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(
        result.actual.contains("that no step expected"),
        "{}",
        result.actual
    );
}

#[test]
fn an_unmasked_client_frame_is_a_violation() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "text", payload = "a" } },
  { expect = "echo" },
]"#,
    );
    peer.written();
    peer.done_writing();
    peer.send(FrameSpec::text("a"));
    assert!(peer.it.record.observed[0].contains("protocol violation"));
}

#[test]
fn a_message_expectation_wants_that_opcode_and_payload() {
    let body = r#"steps = [{ expect = { message = { opcode = "text", payload = "hi" } } }]"#;
    let mut right = Peer::client(body);
    right.send(FrameSpec::text("hi").with_mask(MASK));
    right.close_well();
    assert_eq!(right.judged().verdict, Verdict::Pass);

    let mut wrong = Peer::client(body);
    wrong.send(FrameSpec::binary("hi").with_mask(MASK));
    wrong.close_well();
    assert_eq!(wrong.judged().verdict, Verdict::Fail);
}

#[test]
fn a_pong_expectation_wants_the_pings_payload() {
    let body = r#"steps = [
  { send = { opcode = "ping", payload = "p1" } },
  { expect = { pong = "p1" } },
]"#;
    let mut right = Peer::client(body);
    assert_eq!(right.written_frames(), [(Opcode::Ping, b"p1".to_vec())]);
    right.done_writing();
    right.send(FrameSpec::pong("p1").with_mask(MASK));
    right.close_well();
    assert_eq!(right.judged().verdict, Verdict::Pass);

    // A pong that answers no ping is a heartbeat (§5.5.3): it neither meets the expectation nor
    // fails it, so a peer that sends only that fails at the expectation's deadline.
    let mut heartbeat = Peer::client(body);
    heartbeat.written();
    heartbeat.done_writing();
    heartbeat.send(FrameSpec::pong("beat").with_mask(MASK));
    heartbeat.send(FrameSpec::pong("p1").with_mask(MASK));
    heartbeat.close_well();
    assert_eq!(heartbeat.judged().verdict, Verdict::Pass);

    let mut silent = Peer::client(body);
    silent.written();
    silent.done_writing();
    silent.send(FrameSpec::pong("beat").with_mask(MASK));
    silent.later(2_001);
    let result = silent.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(result.actual.contains("pong"), "{}", result.actual);
}

#[test]
fn pongs_for_several_pings_may_answer_only_the_last() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = [{ opcode = "ping", payload = "a" }, { opcode = "ping", payload = "b" }] },
  { expect = { pongs_for = ["a", "b"] } },
]"#,
    );
    assert_eq!(
        peer.written_frames(),
        [(Opcode::Ping, b"a".to_vec()), (Opcode::Ping, b"b".to_vec())]
    );
    peer.done_writing();
    peer.send(FrameSpec::pong("b").with_mask(MASK));
    peer.close_well();
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn a_close_expectation_is_met_by_the_peers_close_frame_which_the_harness_answers() {
    let mut peer = Peer::client(
        r#"steps = [
  { close = 1000 },
  { expect = { close = [1000] } },
]"#,
    );
    assert_eq!(peer.written_frames(), [(Opcode::Close, vec![3, 232])]);
    peer.done_writing();
    peer.send(FrameSpec::close(Some(CloseCode::NORMAL), b"").with_mask(MASK));
    // The harness had sent its close already: nothing more to write but the end of TCP.
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    peer.input(Input::Closed(None));
    peer.finished();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.actual);
    assert!(result.close.clean);
}

#[test]
fn one_of_takes_the_first_alternative_that_matches_and_its_rank() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "text", payload = "x" } },
  { expect = { one_of = [
    { expect = ["echo"], verdict = "ok" },
    { expect = [{ message = { opcode = "text", payload = "y" } }], verdict = "non-strict" },
  ] } },
]"#,
    );
    peer.written();
    peer.done_writing();
    peer.send(FrameSpec::text("y").with_mask(MASK));
    peer.close_well();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::NonStrict, "{}", result.actual);
    assert!(result.notes.iter().any(|n| n.contains("less preferred")));
}

/// An echo awaited for a minute: only the progress timeout (5 s by default) can end it early.
const SLOW_ECHO: &str = r#"steps = [
  { send = { opcode = "text", payload = "x" } },
  { expect = "echo", within_ms = 60000 },
]"#;

#[test]
fn a_peer_that_sends_nothing_for_the_progress_timeout_fails_before_the_deadline() {
    let mut peer = Peer::client(SLOW_ECHO);
    peer.written();
    peer.done_writing();
    peer.later(4_999);
    assert!(peer.action().is_none());
    peer.later(1);
    peer.close_well();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(
        result.actual.starts_with(
            "the peer sent nothing for 5.0 s while the case waited for: echo of the message sent"
        ),
        "{}",
        result.actual
    );
}

#[test]
fn whatever_the_peer_sends_puts_the_stall_off() {
    let mut peer = Peer::client(SLOW_ECHO);
    peer.written();
    peer.done_writing();
    peer.later(4_000);
    peer.send(FrameSpec::ping("still here").with_mask(MASK));
    peer.written();
    peer.done_writing();
    peer.later(4_999);
    assert!(
        peer.action().is_none(),
        "5 s after the ping, not after the start"
    );
    peer.send(FrameSpec::text("x").with_mask(MASK));
    peer.close_well();
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn silence_the_case_asks_for_is_no_stall() {
    let mut peer = Peer::client(r#"steps = [{ expect = { nothing = 8000 } }]"#);
    peer.later(7_999);
    assert!(peer.action().is_none());
    peer.later(1);
    peer.close_well();
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn a_write_the_peer_stops_taking_fails_the_case_with_the_reason() {
    let mut peer = Peer::client(SLOW_ECHO);
    peer.written();
    peer.input(Input::WriteStalled {
        silent: Duration::from_secs(5),
        unsent: 3,
    });
    // The steps stop; the closing's close frame is not written to a peer that stopped reading, and
    // the harness, the server here, closes TCP once no close frame came.
    peer.later(2_000);
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    peer.later(2_000);
    peer.finished();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(
        result.actual.starts_with(
            "the peer took none of the bytes sent for 5.0 s, with 3 still to send: it stopped reading"
        ),
        "{}",
        result.actual
    );
}
