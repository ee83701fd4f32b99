//! Each step kind, fed by hand: what it writes and what it waits for.

use super::*;

#[test]
fn a_send_step_writes_its_frame_and_an_echo_meets_the_expectation() {
    let mut peer = Peer::client(ECHO);
    assert_eq!(peer.written_frames(), [(Opcode::Text, b"hello".to_vec())]);
    peer.done_writing();
    assert!(
        peer.action().is_none(),
        "nothing to do until the peer answers"
    );
    assert!(peer.it.wake().is_some(), "the expectation has a deadline");
    peer.send(FrameSpec::text("hello").with_mask(MASK));
    peer.close_well();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.actual);
    assert_eq!(result.behavior_close, CloseBehavior::Ok);
}

#[test]
fn a_wait_keeps_what_arrives_for_the_next_expectation() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "binary", payload = "ab" } },
  { wait = 500 },
  { expect = "echo", within_ms = 1 },
]"#,
    );
    peer.written();
    peer.done_writing();
    peer.send(FrameSpec::binary("ab").with_mask(MASK));
    assert!(peer.action().is_none(), "the wait goes on");
    peer.later(500);
    // The echo kept by the wait meets the expectation at once, though its time is 1 ms.
    peer.close_well();
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn a_close_step_sends_the_code_and_a_silent_peer_costs_the_close_wait() {
    let mut peer = Peer::client(r#"steps = [{ close = 1001 }]"#);
    assert_eq!(peer.written_frames(), [(Opcode::Close, vec![3, 233])]);
    peer.done_writing();
    let wait = settings().close_wait.as_millis() as u64;
    peer.later(wait - 1);
    assert!(peer.action().is_none());
    peer.later(1);
    // No close frame: the harness, as the server, closes TCP first and waits for the peer's side.
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    assert!(peer.action().is_none());
    peer.later(wait);
    peer.finished();
    let record = peer.it.record.clone();
    assert!(record.close_timed_out && record.tcp_timed_out);
    assert_eq!(peer.judged().verdict, Verdict::Fail);
}

#[test]
fn send_raw_writes_exactly_its_bytes() {
    let mut peer =
        Peer::client(r#"steps = [{ send_raw = { hex = "8100" } }, { expect = { nothing = 5 } }]"#);
    assert_eq!(peer.written(), [0x81, 0x00]);
}

#[test]
fn drop_ends_the_case_at_once_without_a_close_frame() {
    let mut peer =
        Peer::client(r#"steps = [{ drop = true }, { send = { opcode = "text", payload = "x" } }]"#);
    assert!(matches!(peer.action(), Some(Action::Drop)));
    assert!(matches!(peer.action(), Some(Action::Finished)));
    let result = peer.judged();
    assert_eq!(result.close.tcp_closed_by, Some(Side::Harness));
    assert_eq!(result.behavior_close, CloseBehavior::Ok);
}

#[test]
fn half_close_shuts_down_the_sending_half_and_the_case_goes_on() {
    let mut peer = Peer::client(r#"steps = [{ half_close = true }, { expect = { nothing = 5 } }]"#);
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    assert!(peer.action().is_none());
    peer.later(5);
    assert_eq!(peer.written_frames(), [(Opcode::Close, vec![3, 232])]);
}

#[test]
fn a_peer_closing_during_a_write_abandons_it_and_the_steps_after() {
    let mut peer = Peer::client(
        r#"steps = [
  { send = { opcode = "text", payload = "a" } },
  { send = { opcode = "text", payload = "b" } },
]"#,
    );
    peer.written();
    assert!(peer.it.is_writing());
    peer.send(FrameSpec::close(Some(CloseCode::PROTOCOL_ERROR), b"").with_mask(MASK));
    // No more frames go out: not "b", not even the close reply (the write failed); as the server, the
    // harness then closes TCP.
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    peer.input(Input::Closed(None));
    peer.finished();
}

#[test]
fn repeat_runs_its_steps_again() {
    let mut peer = Peer::client(
        r#"steps = [{ repeat = { times = 3, steps = [{ send = { opcode = "text", payload = "r" } }] } }]"#,
    );
    for _ in 0..3 {
        assert_eq!(peer.written_frames(), [(Opcode::Text, b"r".to_vec())]);
        peer.done_writing();
    }
    peer.close_well();
}

#[test]
fn a_flood_is_handled_a_turn_at_a_time() {
    let mut peer = Peer::client(r#"steps = [{ close = 1000 }]"#);
    peer.written();
    peer.done_writing();
    // After its close frame the harness answers no ping: nothing paces the flood but the turns.
    let ping = encode_frame(&FrameSpec::ping("").with_mask(MASK));
    let flood: Vec<u8> = ping.repeat(crate::interpret::EVENTS_PER_TURN * 3);
    peer.input(Input::Received(&flood));
    assert!(peer.it.has_more());
    assert!(peer.action().is_none());
    let mut turns = 1;
    while peer.it.has_more() {
        peer.input(Input::Timer);
        turns += 1;
    }
    assert_eq!(turns, 4);
    assert!(
        peer.it.wake().is_some(),
        "back to waiting for the close frame"
    );
}

#[test]
fn send_message_splits_a_message_into_fragments_and_an_echo_of_the_whole_meets_it() {
    let mut peer = Peer::client(
        r#"steps = [
  { send_message = { opcode = "binary", payload = "abcdefg", fragment = 3 } },
  { expect = "echo" },
]"#,
    );
    assert_eq!(
        peer.written_frames(),
        [
            (Opcode::Binary, b"abc".to_vec()),
            (Opcode::Continuation, b"def".to_vec()),
            (Opcode::Continuation, b"g".to_vec()),
        ]
    );
    peer.done_writing();
    peer.send(FrameSpec::binary("abcdefg").with_mask(MASK));
    peer.close_well();
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}
