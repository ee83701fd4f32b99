//! The interpreter fed literal events: each test plays the peer by hand and checks the actions.

use std::{
    borrow::Cow,
    time::{Duration, Instant},
};

use wsspec_suite::{
    Case, Suite,
    results::{CloseBehavior, Side, Verdict},
};
use wsspec_wire::{
    CloseCode, FrameDecoder, FrameSpec, Opcode, Parsed, Request, accept_key, encode_frame,
    parse_request,
};

use super::{Action, Fact, Input, Interpreter};
use crate::{CaseSettings, RunConfig, Target, conn::Recorder, judge};

const MASK: Option<[u8; 4]> = Some([1, 2, 3, 4]);

/// One case from TOML text (the body of a `[[case]]` entry).
fn case(body: &str) -> Case {
    let text = format!(
        "section = \"90\"\ntitle = \"tests\"\n[[case]]\nid = \"90.1\"\ntitle = \"t\"\n\
         rfc = \"RFC 6455\"\nlevel = \"must\"\nrequirement = \"r\"\n{body}\n"
    );
    let suite = Suite::from_sources([("t.toml".to_owned(), Cow::Owned(text))]).unwrap();
    suite.cases.into_iter().next().unwrap()
}

fn settings() -> CaseSettings {
    RunConfig::default().settings
}

/// A client's opening handshake.
fn request() -> (Request, Vec<u8>) {
    let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    let Ok(Parsed::Complete { value, .. }) = parse_request(&head) else {
        panic!("the request parses");
    };
    (value, head)
}

/// A fresh client handshake with nothing behind it.
fn hello<'a>(request: &'a Request, head: &'a [u8]) -> super::ClientHello<'a> {
    super::ClientHello {
        request,
        head,
        leftover: Vec::new(),
        seen_before: false,
    }
}

/// The peer, played by hand: the interpreter and the time.
struct Peer {
    it: Interpreter,
    now: Instant,
    start: Instant,
    recorder: Recorder,
    case: Case,
}

impl Peer {
    /// The harness as the server of a client case, past its handshake response.
    fn client(body: &str) -> Peer {
        let case = case(body);
        let start = Instant::now();
        let recorder = Recorder::new(start);
        let (request, head) = request();
        let it = Interpreter::client(
            &case,
            &settings(),
            recorder.clone(),
            start,
            hello(&request, &head),
        );
        let mut peer = Peer {
            it,
            now: start,
            start,
            recorder,
            case,
        };
        let response = peer.written();
        assert!(response.starts_with(b"HTTP/1.1 101"), "{response:?}");
        peer.done_writing();
        peer
    }

    /// The harness as the client of a server case, right after connecting.
    fn server(body: &str) -> Peer {
        let case = case(body);
        let start = Instant::now();
        let recorder = Recorder::new(start);
        let mut it = Interpreter::server(&case, &settings(), recorder.clone(), start);
        it.connected(start, &Target::parse("ws://127.0.0.1:9/").unwrap());
        Peer {
            it,
            now: start,
            start,
            recorder,
            case,
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.it.handle(self.now, input);
    }

    fn send(&mut self, frame: FrameSpec) {
        self.input(Input::Received(&encode_frame(&frame)));
    }

    /// The bytes of the write the interpreter asks for next (and nothing else is asked first).
    fn written(&mut self) -> Vec<u8> {
        match self.it.poll_action() {
            Some(Action::Write { out, .. }) => out.to_bytes(),
            other => panic!("expected a write, got {other:?}"),
        }
    }

    /// The frames of the next write: (opcode, payload), unmasked.
    fn written_frames(&mut self) -> Vec<(Opcode, Vec<u8>)> {
        let mut bytes = self.written();
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        let mut offset = 0;
        loop {
            let (used, event) = decoder.decode(&mut bytes[offset..]);
            offset += used;
            match event {
                Some(wsspec_wire::DecodeEvent::Header(h)) => frames.push((h.opcode, Vec::new())),
                Some(wsspec_wire::DecodeEvent::Payload(p)) => {
                    frames.last_mut().unwrap().1.extend_from_slice(p)
                }
                Some(wsspec_wire::DecodeEvent::End) => {}
                None if used == 0 => break,
                None => {}
            }
        }
        frames
    }

    fn done_writing(&mut self) {
        self.input(Input::Written(Ok(())));
    }

    fn later(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        self.input(Input::Timer);
    }

    fn action(&mut self) -> Option<Action> {
        self.it.poll_action()
    }

    /// The closing as a well-behaved client: the harness's close frame is answered, then TCP closes.
    fn close_well(&mut self) {
        assert_eq!(self.written_frames(), [(Opcode::Close, vec![3, 232])]);
        self.done_writing();
        self.send(FrameSpec::close(Some(CloseCode::NORMAL), b"").with_mask(MASK));
        self.input(Input::Closed(None));
        self.finished();
    }

    fn finished(&mut self) {
        loop {
            match self.action() {
                Some(Action::Finished) => return,
                Some(Action::Shutdown) => self.done_writing(),
                other => panic!("expected the end, got {other:?}"),
            }
        }
    }

    fn judged(self) -> wsspec_suite::results::CaseResult {
        let timing = judge::Timing {
            run_start: self.start,
            start: self.start,
        };
        judge::judge_case(
            &self.case,
            self.it.into_record(),
            timing,
            self.recorder.snapshot(),
        )
    }
}

const ECHO: &str = r#"steps = [
  { send = { opcode = "text", payload = "hello" } },
  { expect = "echo" },
]"#;

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
fn the_harness_as_client_checks_the_upgrade_and_finds_the_frames_behind_it() {
    let mut peer = Peer::server(ECHO);
    let request = peer.written();
    let Ok(Parsed::Complete { value, .. }) = parse_request(&request) else {
        panic!("a request")
    };
    let key = value.header("sec-websocket-key").unwrap().to_owned();
    peer.done_writing();
    assert!(peer.it.wake().is_some(), "the response has a deadline");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(&key)
    );
    peer.input(Input::Received(response.as_bytes()));
    // The harness masks what it sends as a client.
    let sent = peer.written();
    assert_eq!(sent[1] & 0x80, 0x80, "masked");
    peer.done_writing();
    peer.send(FrameSpec::text("hello"));
    let frames = peer.written();
    assert_eq!(frames[0], 0x88, "the closing starts");
    peer.done_writing();
    peer.send(FrameSpec::close(Some(CloseCode::NORMAL), b""));
    peer.input(Input::Closed(None));
    peer.finished();
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.actual);
}

#[test]
fn a_server_that_never_answers_the_handshake_fails_after_the_handshake_timeout() {
    let mut peer = Peer::server(ECHO);
    peer.written();
    peer.done_writing();
    peer.later(settings().handshake_timeout.as_millis() as u64);
    assert!(matches!(peer.action(), Some(Action::Finished)));
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(
        result.actual.contains("no complete handshake response"),
        "{}",
        result.actual
    );
    assert_eq!(result.behavior_close, CloseBehavior::Failed);
}

#[test]
fn a_refusal_the_case_asks_for_is_judged_and_the_connection_shut() {
    let mut peer = Peer::server(
        r#"steps = []
roles = ["server"]
[case.handshake]
remove = ["Sec-WebSocket-Key"]
refuse = { typical = [400] }"#,
    );
    peer.written();
    peer.done_writing();
    peer.input(Input::Received(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    ));
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    assert!(matches!(peer.action(), Some(Action::Finished)));
    assert!(matches!(peer.it.record.facts[..], [Fact::Refusal(_)]));
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn a_wrong_client_handshake_is_recorded_and_no_step_runs() {
    let case = case(ECHO);
    let (mut request, _) = request();
    request.remove_header("sec-websocket-version");
    let head = request.to_bytes();
    let start = Instant::now();
    let mut it = Interpreter::client(
        &case,
        &settings(),
        Recorder::new(start),
        start,
        hello(&request, &head),
    );
    assert!(matches!(it.poll_action(), Some(Action::Write { .. })));
    it.handle(start, Input::Written(Ok(())));
    // Straight to the closing: the echo step never runs.
    let Some(Action::Write { out, .. }) = it.poll_action() else {
        panic!("the closing")
    };
    assert_eq!(out.to_bytes()[0], 0x88);
    assert!(matches!(it.record.facts[..], [Fact::BadClientRequest(_)]));
}

#[test]
fn the_case_deadline_is_recorded_with_the_phase() {
    let mut peer = Peer::server(ECHO);
    peer.it.deadline_reached(Duration::from_millis(3000));
    assert!(matches!(
        peer.it.record.facts[..],
        [Fact::DeadlineReached {
            ms: 3000,
            established: false
        }]
    ));
    let result = peer.judged();
    assert!(
        result.actual.contains("still in the opening handshake"),
        "{}",
        result.actual
    );
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
    let flood: Vec<u8> = ping.repeat(super::EVENTS_PER_TURN * 3);
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

    let mut wrong = Peer::client(body);
    wrong.written();
    wrong.done_writing();
    wrong.send(FrameSpec::pong("p2").with_mask(MASK));
    wrong.close_well();
    assert_eq!(wrong.judged().verdict, Verdict::Fail);
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
