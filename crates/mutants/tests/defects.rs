//! Each mutant against a raw client: the correct server behaves, and every defect shows on one
//! small input where the correct server's answer differs.

#![cfg(test)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use wsspec_mutants::{Defect, spawn};
use wsspec_wire::{
    CloseCode, DecodeEvent, FrameDecoder, FrameSpec, Opcode, Parsed, Request, accept_key,
    encode_frame, encode_frame_into, parse_response,
};

/// How long a silent server is given before the test calls it silent.
const SILENCE: Duration = Duration::from_millis(300);

/// The longest any single test step may take.
const STEP: Duration = Duration::from_secs(5);

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// What a frame from the server looked like; close frames keep only their status code bytes.
type Seen = (Opcode, Vec<u8>);

/// A probe: the defect, the frames sent, what the correct server answers, what the defect does.
type Probe = (Defect, Vec<FrameSpec>, Vec<Seen>, Vec<Seen>);

/// How the server's output ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// TCP was closed (or reset) by the server.
    Closed,
    /// Nothing more came for [`SILENCE`], and TCP stayed open.
    Silent,
}

/// A raw WebSocket client after the handshake.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    decoder: FrameDecoder,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let mut stream = timeout(STEP, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        let request = Request::websocket(&addr.to_string(), "/", KEY);
        stream.write_all(&request.to_bytes()).await.unwrap();
        let mut buf = Vec::new();
        loop {
            if let Parsed::Complete { value, len } = parse_response(&buf).unwrap() {
                assert_eq!(value.status, 101);
                let expected = accept_key(KEY);
                assert_eq!(value.header("Sec-WebSocket-Accept"), Some(&*expected));
                buf.drain(..len);
                break;
            }
            let n = timeout(STEP, stream.read_buf(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_ne!(n, 0, "closed during the handshake");
        }
        Client {
            stream,
            buf,
            decoder: FrameDecoder::new(),
        }
    }

    /// Sends the frames, masked as a client must, in one write.
    async fn send(&mut self, frames: &[FrameSpec]) {
        let mut wire = Vec::new();
        for spec in frames {
            let spec = spec.clone().with_mask(Some([0x37, 0xfa, 0x21, 0x3d]));
            encode_frame_into(&spec, &mut wire);
        }
        self.stream.write_all(&wire).await.unwrap();
    }

    /// The next whole frame, or how the output ended.
    async fn recv(&mut self) -> Result<Seen, End> {
        let mut frame: Option<Seen> = None;
        loop {
            let mut pos = 0;
            let mut done = false;
            while let (used, Some(event)) = self.decoder.decode(&mut self.buf[pos..]) {
                pos += used;
                match event {
                    DecodeEvent::Header(h) => frame = Some((h.opcode, Vec::new())),
                    DecodeEvent::Payload(p) => frame.as_mut().unwrap().1.extend_from_slice(p),
                    DecodeEvent::End => {
                        done = true;
                        break;
                    }
                }
            }
            self.buf.drain(..pos);
            if done {
                let (opcode, mut payload) = frame.unwrap();
                if opcode == Opcode::Close {
                    payload.truncate(2);
                }
                return Ok((opcode, payload));
            }
            match timeout(SILENCE, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Err(End::Silent),
                Ok(Ok(0) | Err(_)) => return Err(End::Closed),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Every frame until the output ends, and how it ended.
    async fn recv_all(&mut self) -> (Vec<Seen>, End) {
        let mut seen = Vec::new();
        loop {
            match timeout(STEP, self.recv()).await.unwrap() {
                Ok(frame) => seen.push(frame),
                Err(end) => return (seen, end),
            }
        }
    }
}

/// Connects to a fresh server with `defect`, sends `frames` and collects the answer.
async fn probe(defect: Defect, frames: &[FrameSpec]) -> (Vec<Seen>, End) {
    let addr = spawn(defect).await.unwrap();
    let mut client = Client::connect(addr).await;
    client.send(frames).await;
    client.recv_all().await
}

fn text(s: &str) -> Seen {
    (Opcode::Text, s.as_bytes().to_vec())
}

fn close(code: u16) -> Seen {
    (Opcode::Close, code.to_be_bytes().to_vec())
}

fn pong(payload: impl Into<Vec<u8>>) -> Seen {
    (Opcode::Pong, payload.into())
}

fn close_1000() -> FrameSpec {
    FrameSpec::close(Some(CloseCode::NORMAL), b"")
}

#[tokio::test]
async fn correct_server_echoes_fragments_and_answers_pings() {
    let addr = spawn(Defect::None).await.unwrap();
    let mut client = Client::connect(addr).await;
    client
        .send(&[
            FrameSpec::text("Hello, ").with_fin(false),
            FrameSpec::continuation("wor").with_fin(false),
            FrameSpec::continuation("ld!"),
            FrameSpec::ping("are you there?"),
            FrameSpec::pong("unsolicited"),
            FrameSpec::binary(vec![0xfe; 300]),
        ])
        .await;
    assert_eq!(client.recv().await, Ok(text("Hello, world!")));
    assert_eq!(client.recv().await, Ok(pong("are you there?")));
    assert_eq!(client.recv().await, Ok((Opcode::Binary, vec![0xfe; 300])));
    client
        .send(&[FrameSpec::text("x").with_fin(false), FrameSpec::ping("p")])
        .await;
    assert_eq!(client.recv().await, Ok(pong("p")));
    client.send(&[FrameSpec::continuation("y")]).await;
    assert_eq!(client.recv().await, Ok(text("xy")));
    client.send(&[FrameSpec::close(None, b"")]).await;
    assert_eq!(
        client.recv_all().await,
        (vec![(Opcode::Close, vec![])], End::Closed)
    );
}

#[tokio::test]
async fn correct_server_fails_bad_input() {
    // `send` masks every frame, so the unmasked one goes out as raw bytes.
    let addr = spawn(Defect::None).await.unwrap();
    let mut client = Client::connect(addr).await;
    let unmasked = encode_frame(&FrameSpec::text("hi"));
    client.stream.write_all(&unmasked).await.unwrap();
    assert_eq!(client.recv_all().await, (vec![close(1002)], End::Closed));

    let mut too_big = FrameSpec::binary("");
    too_big.declared_len = Some(wsspec_mutants::MAX_MESSAGE_LEN + 1);
    let cases: [(&[FrameSpec], u16); 6] = [
        (&[FrameSpec::text(&b"ok\xc3"[..])], 1007),
        (&[FrameSpec::text(&b"\xff"[..]).with_fin(false)], 1007),
        (&[FrameSpec::close(None, b"\x03")], 1002),
        (
            &[FrameSpec::close(Some(CloseCode::NO_STATUS_RECEIVED), b"")],
            1002,
        ),
        (&[FrameSpec::close(Some(CloseCode::NORMAL), b"\xff")], 1007),
        (&[too_big], 1009),
    ];
    for (frames, code) in cases {
        let got = probe(Defect::None, frames).await;
        assert_eq!(got, (vec![close(code)], End::Closed), "{frames:?}");
    }
}

#[tokio::test]
async fn correct_server_refuses_a_non_upgrade() {
    let addr = spawn(Defect::None).await.unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    timeout(STEP, stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 426 "), "{answer:?}");
}

#[tokio::test]
async fn every_defect_differs_from_the_correct_server() {
    let long = vec![0x2a; 65536];
    let probes: Vec<Probe> = vec![
        (
            Defect::AcceptsRsv,
            vec![FrameSpec::text("hi").with_rsv(4), close_1000()],
            vec![close(1002)],
            vec![text("hi"), close(1000)],
        ),
        (
            Defect::AcceptsReservedOpcode,
            vec![
                FrameSpec::new(Opcode::Reserved(3), "x"),
                FrameSpec::new(Opcode::Reserved(11), ""),
                FrameSpec::text("hi"),
                close_1000(),
            ],
            vec![close(1002)],
            vec![text("hi"), close(1000)],
        ),
        (
            Defect::EmptyPong,
            vec![FrameSpec::ping("abc"), close_1000()],
            vec![pong("abc"), close(1000)],
            vec![pong(""), close(1000)],
        ),
        (
            Defect::AcceptsStrayContinuation,
            vec![
                FrameSpec::continuation("x"),
                FrameSpec::text("hi"),
                close_1000(),
            ],
            vec![close(1002)],
            vec![text("hi"), close(1000)],
        ),
        (
            Defect::AcceptsFragmentedControl,
            vec![
                FrameSpec::ping("ab").with_fin(false),
                FrameSpec::continuation("cd"),
                close_1000(),
            ],
            vec![close(1002)],
            vec![pong("abcd"), close(1000)],
        ),
        (
            Defect::AcceptsOversizedControl,
            vec![FrameSpec::ping(vec![0xfe; 126]), close_1000()],
            vec![close(1002)],
            vec![pong(vec![0xfe; 126]), close(1000)],
        ),
        (
            Defect::TruncatesLongMessages,
            vec![FrameSpec::binary(long.clone()), close_1000()],
            vec![(Opcode::Binary, long.clone()), close(1000)],
            vec![(Opcode::Binary, long[..65535].to_vec()), close(1000)],
        ),
        (
            Defect::NoPongWhileFragmented,
            vec![
                FrameSpec::text("a").with_fin(false),
                FrameSpec::ping("p"),
                FrameSpec::continuation("b"),
                close_1000(),
            ],
            vec![pong("p"), text("ab"), close(1000)],
            vec![text("ab"), close(1000)],
        ),
        (
            Defect::AcceptsNewMessageMidFragment,
            vec![
                FrameSpec::text("a").with_fin(false),
                FrameSpec::text("b"),
                close_1000(),
            ],
            vec![close(1002)],
            vec![text("b"), close(1000)],
        ),
    ];
    for (defect, frames, correct, broken) in probes {
        let name = defect.name();
        let got = probe(Defect::None, &frames).await;
        assert_eq!(
            got,
            (correct, End::Closed),
            "correct server on {name}'s probe"
        );
        let got = probe(defect, &frames).await;
        assert_eq!(got, (broken, End::Closed), "{name}");
    }
}

#[tokio::test]
async fn close_defects_differ_from_the_correct_server() {
    let frames = [close_1000()];
    let cases = [
        (Defect::None, vec![close(1000)], End::Closed),
        (Defect::NoCloseReply, vec![], End::Silent),
        (Defect::KeepsTcpOpen, vec![close(1000)], End::Silent),
    ];
    for (defect, seen, end) in cases {
        assert_eq!(probe(defect, &frames).await, (seen, end), "{defect}");
    }
}
