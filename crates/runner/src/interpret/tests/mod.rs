//! The interpreter fed literal events: each test plays the peer by hand and checks the actions. This
//! file holds the hand-played peer; the tests are in its submodules.

mod expectations;
mod opening;
mod quiet;
mod steps;

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

/// "Mask this frame": [`Peer::send`] gives each masked frame a key of its own, as a client must.
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
        channel: &crate::transport::Channel::Plain,
    }
}

/// The peer, played by hand: the interpreter and the time.
struct Peer {
    it: Interpreter,
    now: Instant,
    start: Instant,
    recorder: Recorder,
    case: Case,
    /// How many masked frames the peer has sent: the next one's masking key.
    sent: u32,
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
            sent: 0,
        };
        let response = peer.written();
        assert!(response.starts_with(b"HTTP/1.1 101"), "{response:?}");
        peer.done_writing();
        peer
    }

    /// The harness as the client of a server case, right after connecting.
    fn server(body: &str) -> Peer {
        Peer::server_with(body, &settings())
    }

    /// The same, with these settings.
    fn server_with(body: &str, settings: &CaseSettings) -> Peer {
        let case = case(body);
        let start = Instant::now();
        let recorder = Recorder::new(start);
        let mut it = Interpreter::server(&case, settings, recorder.clone(), start);
        it.connected(start, &Target::parse("ws://127.0.0.1:9/").unwrap());
        Peer {
            it,
            now: start,
            start,
            recorder,
            case,
            sent: 0,
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.it.handle(self.now, input);
    }

    fn send(&mut self, mut frame: FrameSpec) {
        if frame.mask.is_some() {
            self.sent += 1;
            frame.mask = Some(self.sent.to_be_bytes());
        }
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
