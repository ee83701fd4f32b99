//! The opening handshake in both roles, refusals and the case deadline, fed by hand.

use super::*;

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
fn a_server_answering_outside_tls_breaks_section_4_2_2() {
    let mut peer = Peer::server(ECHO);
    peer.written();
    peer.done_writing();
    peer.input(Input::LeftTls(b"HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(matches!(peer.action(), Some(Action::Finished)));
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert_eq!(result.broken, ["6455-4.2.2-2"]);
    assert!(
        result
            .actual
            .contains("starting `HTTP/1.1 101 Switching Protocols`"),
        "{}",
        result.actual
    );
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
