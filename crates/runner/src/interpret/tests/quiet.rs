//! A quiet run (see [`crate::liveness`]): each case pings first, runs when answered and fails at once
//! when not; and which connections count as silent.

use super::*;
use crate::liveness::{QUIET_AFTER, QUIET_WAIT};

/// Settings whose run has found the peer silent on [`QUIET_AFTER`] connections in a row.
fn quiet_settings() -> CaseSettings {
    let settings = settings();
    for _ in 0..QUIET_AFTER {
        settings.liveness.case_ended(Some(true));
    }
    settings
}

/// A server case of a quiet run, past the opening handshake.
fn quiet_server() -> Peer {
    let mut peer = Peer::server_with(ECHO, &quiet_settings());
    let request = peer.written();
    let Ok(Parsed::Complete { value, .. }) = parse_request(&request) else {
        panic!("a request")
    };
    let key = value.header("sec-websocket-key").unwrap().to_owned();
    peer.done_writing();
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(&key)
    );
    peer.input(Input::Received(response.as_bytes()));
    peer
}

#[test]
fn a_case_of_a_quiet_run_pings_first_and_fails_at_once_without_an_answer() {
    let mut peer = quiet_server();
    assert_eq!(
        peer.written_frames(),
        [(Opcode::Ping, b"wsspec: are you there?".to_vec())]
    );
    peer.done_writing();
    peer.later(QUIET_WAIT.as_millis() as u64 - 1);
    assert!(peer.action().is_none());
    peer.later(1);
    assert!(matches!(peer.action(), Some(Action::Drop)));
    assert!(matches!(peer.action(), Some(Action::Finished)));
    assert_eq!(
        peer.it.silent(),
        None,
        "a dropped connection counts for nothing"
    );
    let result = peer.judged();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(
        result.actual.starts_with(&format!(
            "the peer answered nothing on the {QUIET_AFTER} connections before this one, nor a ping on this one within 500 ms"
        )),
        "{}",
        result.actual
    );
}

#[test]
fn an_answered_probe_runs_the_case_as_usual() {
    let mut peer = quiet_server();
    peer.written_frames();
    peer.done_writing();
    peer.send(FrameSpec::new(
        Opcode::Pong,
        b"wsspec: are you there?".to_vec(),
    ));
    assert_eq!(peer.written_frames(), [(Opcode::Text, b"hello".to_vec())]);
    peer.done_writing();
    peer.send(FrameSpec::text("hello"));
    assert_eq!(peer.written_frames()[0].0, Opcode::Close);
    peer.done_writing();
    peer.send(FrameSpec::close(Some(CloseCode::NORMAL), b""));
    peer.input(Input::Closed(None));
    peer.finished();
    assert_eq!(peer.it.silent(), Some(false));
    assert_eq!(peer.judged().verdict, Verdict::Pass);
}

#[test]
fn a_quiet_run_waits_less_for_the_opening_handshake() {
    let mut peer = Peer::server_with(ECHO, &quiet_settings());
    peer.written();
    peer.done_writing();
    peer.later(QUIET_WAIT.as_millis() as u64);
    assert!(matches!(peer.action(), Some(Action::Finished)));
    assert_eq!(peer.it.silent(), Some(true));
}

#[test]
fn a_peer_that_sends_nothing_after_the_handshake_was_silent_and_one_that_closes_was_not() {
    let mut silent = Peer::client(ECHO);
    silent.written();
    silent.done_writing();
    silent.later(2_000);
    assert_eq!(silent.it.silent(), Some(true));
    let mut closing = Peer::client(ECHO);
    closing.written();
    closing.done_writing();
    closing.input(Input::Closed(None));
    assert_eq!(closing.it.silent(), Some(false));
}

#[test]
fn a_client_that_closes_only_after_the_harness_shut_down_was_silent() {
    let mut peer = Peer::client(ECHO);
    peer.written();
    peer.done_writing();
    // The echo never comes; the closing's close frame is not answered either.
    peer.later(2_000);
    assert_eq!(peer.written_frames()[0].0, Opcode::Close);
    peer.done_writing();
    peer.later(2_000);
    assert!(matches!(peer.action(), Some(Action::Shutdown)));
    peer.done_writing();
    peer.input(Input::Closed(None));
    assert_eq!(peer.it.silent(), Some(true));
}
