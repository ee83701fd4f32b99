//! Hostile clients: peers that attack the harness in the client role (`wsspec client`, where the
//! harness is the server) rather than break one rule of the protocol.
//!
//! [`attack`] opens one URL the harness hands out, such as
//! `ws://127.0.0.1:9001/runCase?case=3&agent=NAME`, with a valid opening handshake request (`GET`
//! with the URL's path and query, `Host`, `Upgrade`, `Connection`, a fresh random
//! `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`), reads the response head, and then does what
//! its [`ClientBehavior`] says: silence (from the start or halfway through a frame), a trickle, a
//! flood of frames or of pings, an echo that never closes, a socket that is never read again. Every
//! frame it sends is masked with a fresh random key, so the harness meets only the attack the
//! behaviour names. An attack ends when the harness closes or breaks the connection (as far as the
//! behaviour notices: a deaf client does not), and after [`HOSTILE_LIFETIME`] at the latest.

use std::{fmt, io, net::SocketAddr, time::Duration};

use tokio::{
    io::AsyncWriteExt,
    net::{TcpSocket, TcpStream, lookup_host},
    time::timeout,
};
use url::{Host, Url};
use wsspec_reference::head::read_head;
use wsspec_wire::{FrameSpec, HeadReader, Request, encode_frame, encode_frame_into, generate_key};

use crate::{
    ClientDefect,
    client::{host_header, target},
    hostile::{self, DEAF_RECV_BUFFER, HOSTILE_LIFETIME},
    server::{self, HANDSHAKE_TIMEOUT},
    session::Session,
};

/// How many empty text frames [`ClientBehavior::EndlessFrames`] writes at a time.
const ENDLESS_BATCH: usize = 8 * 1024;

/// How many pings [`ClientBehavior::PingFlood`] writes at a time.
const PING_BATCH: usize = 4 * 1024;

/// What a hostile client does once the harness has answered its opening handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientBehavior {
    /// Silence: never sends anything, never answers a close frame, never closes TCP; reads and
    /// discards until the harness goes away.
    Silent,
    /// The first [`hostile::MID_MESSAGE_SENT_LEN`] bytes of a masked text frame of
    /// [`hostile::MID_MESSAGE_DECLARED_LEN`] payload bytes, header included, then silence as
    /// [`ClientBehavior::Silent`].
    SilentMidMessage,
    /// A masked text frame written one byte per second, over and over.
    Trickle,
    /// Masked empty text frames without end, as fast as the harness reads them.
    EndlessFrames,
    /// Masked pings without end, as fast as the harness reads them; what the harness sends is read
    /// and discarded.
    PingFlood,
    /// A correct echo client (masked frames, a pong for every ping), except that it never sends a
    /// close frame and never closes TCP: whatever would end the connection, the harness's close
    /// frame or a frame that fails it, is left unanswered, and input is read and discarded until the
    /// harness goes away.
    NeverCloses,
    /// Never reads another byte after the response head and never sends one, with a receive buffer
    /// of [`DEAF_RECV_BUFFER`], so that a harness writing a large message stalls soon.
    Deaf,
}

impl ClientBehavior {
    /// Every behaviour.
    pub const ALL: [ClientBehavior; 7] = [
        ClientBehavior::Silent,
        ClientBehavior::SilentMidMessage,
        ClientBehavior::Trickle,
        ClientBehavior::EndlessFrames,
        ClientBehavior::PingFlood,
        ClientBehavior::NeverCloses,
        ClientBehavior::Deaf,
    ];

    /// The kebab-case name, such as "silent-mid-message".
    pub fn name(self) -> &'static str {
        match self {
            ClientBehavior::Silent => "silent",
            ClientBehavior::SilentMidMessage => "silent-mid-message",
            ClientBehavior::Trickle => "trickle",
            ClientBehavior::EndlessFrames => "endless-frames",
            ClientBehavior::PingFlood => "ping-flood",
            ClientBehavior::NeverCloses => "never-closes",
            ClientBehavior::Deaf => "deaf",
        }
    }
}

impl fmt::Display for ClientBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Connects to `url` (`ws://` only), completes the opening handshake and attacks the harness with
/// `behavior` until the harness closes or breaks the connection (as far as `behavior` notices), or
/// [`HOSTILE_LIFETIME`] has passed.
///
/// # Errors
///
/// When the attack cannot begin: `url` is not a `ws://` URL with a host, the connection cannot be
/// made, or the opening handshake fails (an I/O error, not over within 10 s, a response head that is
/// not HTTP, a status other than 101). Whatever happens once the attack has begun, the
/// harness closing or resetting the connection included, ends it without an error.
pub async fn attack(url: &Url, behavior: ClientBehavior) -> io::Result<()> {
    let attack = async {
        let (stream, rest) = match timeout(HANDSHAKE_TIMEOUT, open(url, behavior)).await {
            Ok(opened) => opened?,
            Err(_elapsed) => {
                let message = "the opening handshake took too long";
                return Err(io::Error::new(io::ErrorKind::TimedOut, message));
            }
        };
        // The harness ending the connection is how most attacks end: not an error.
        let _ = misbehave(stream, rest, behavior).await;
        Ok(())
    };
    timeout(HOSTILE_LIFETIME, attack).await.unwrap_or(Ok(()))
}

/// Connects and sends the opening handshake request; returns the stream and the bytes that came
/// after the 101's head.
async fn open(url: &Url, behavior: ClientBehavior) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut stream = connect(url, behavior).await?;
    let key = generate_key(rand::random());
    let request = Request::websocket(&host_header(url), &target(url), &key);
    stream.write_all(&request.to_bytes()).await?;
    let head = read_head(&mut stream, HeadReader::response())
        .await?
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
    if head.value.status != 101 {
        let message = format!("status {}, not 101", head.value.status);
        return Err(io::Error::new(io::ErrorKind::InvalidData, message));
    }
    Ok((stream, head.rest))
}

/// Opens a TCP connection to `url`'s host and port, trying each address the host has in turn.
async fn connect(url: &Url, behavior: ClientBehavior) -> io::Result<TcpStream> {
    if url.scheme() != "ws" {
        let message = format!("hostile clients speak ws:// only, not {url}");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(Host::Domain(name)) => lookup_host((name, port)).await?.collect(),
        Some(Host::Ipv4(addr)) => vec![(addr, port).into()],
        Some(Host::Ipv6(addr)) => vec![(addr, port).into()],
        None => {
            let message = format!("{url} has no host");
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{url}: no address"));
    for addr in addrs {
        match connect_to(addr, behavior).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = err,
        }
    }
    Err(last)
}

/// Opens a TCP connection to `addr`. For [`ClientBehavior::Deaf`] the receive buffer is
/// [`DEAF_RECV_BUFFER`], set before connecting so that the window is small from the first segment.
async fn connect_to(addr: SocketAddr, behavior: ClientBehavior) -> io::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if behavior == ClientBehavior::Deaf {
        socket.set_recv_buffer_size(DEAF_RECV_BUFFER)?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Does what `behavior` says to an upgraded connection; `rest` holds the bytes that came after the
/// response head.
async fn misbehave(
    mut stream: TcpStream,
    rest: Vec<u8>,
    behavior: ClientBehavior,
) -> io::Result<()> {
    match behavior {
        ClientBehavior::Silent => server::discard_until_eof(&mut stream).await,
        ClientBehavior::SilentMidMessage => {
            let half = hostile::mid_message_frame(Some(rand::random()));
            stream.write_all(&half).await?;
            server::discard_until_eof(&mut stream).await;
        }
        ClientBehavior::Trickle => {
            let bytes = std::iter::repeat_with(|| masked(FrameSpec::text("trickle")))
                .flat_map(|frame| frame.into_iter().map(|byte| [byte]));
            hostile::keep_writing(stream, bytes, Duration::from_secs(1)).await?;
        }
        ClientBehavior::EndlessFrames => {
            let batches =
                std::iter::repeat_with(|| masked_batch(&FrameSpec::text(""), ENDLESS_BATCH));
            hostile::keep_writing(stream, batches, Duration::ZERO).await?;
        }
        ClientBehavior::PingFlood => {
            let batches =
                std::iter::repeat_with(|| masked_batch(&FrameSpec::ping("ping"), PING_BATCH));
            hostile::keep_writing(stream, batches, Duration::ZERO).await?;
        }
        ClientBehavior::NeverCloses => {
            let mut session = Session::client(ClientDefect::None, None);
            // The step that ends the session (a close frame to send) is left undone.
            if server::converse(&mut stream, rest, &mut session)
                .await?
                .is_some()
            {
                server::discard_until_eof(&mut stream).await;
            }
        }
        ClientBehavior::Deaf => {
            // The connection is held, unread, until HOSTILE_LIFETIME drops it.
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

/// `spec` encoded as a client sends it: masked with a fresh random key.
fn masked(spec: FrameSpec) -> Vec<u8> {
    encode_frame(&spec.with_mask(Some(rand::random())))
}

/// `count` copies of `spec` in a row, each masked with a fresh random key.
fn masked_batch(spec: &FrameSpec, count: usize) -> Vec<u8> {
    let frame_len = spec.header().encoded_len() + 4 + spec.payload.len();
    let mut batch = Vec::with_capacity(count * frame_len);
    for _ in 0..count {
        encode_frame_into(&spec.clone().with_mask(Some(rand::random())), &mut batch);
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostile::tests::{PROMPT, stays_quiet, writes_stall};
    use tokio::{io::AsyncReadExt, net::TcpListener, task::JoinHandle};
    use wsspec_wire::{
        CloseCode, DecodeEvent, FrameDecoder, FrameHeader, Opcode, Response, accept_key,
        header_has_token,
    };

    /// The path and query of the URL the clients are pointed at.
    const TARGET: &str = "/runCase?case=3&agent=hostile";

    /// Starts an attack with `behavior` on a one-connection listener that accepts it, checks that its
    /// request head is a valid upgrade request and answers 101. Returns the server's end of the
    /// connection, the bytes that came after the request head, and the attack.
    async fn accepted(
        behavior: ClientBehavior,
    ) -> (TcpStream, Vec<u8>, JoinHandle<io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = Url::parse(&format!("ws://{addr}{TARGET}")).unwrap();
        let attack = tokio::spawn(async move { attack(&url, behavior).await });
        let (mut stream, _) = timeout(PROMPT, listener.accept()).await.unwrap().unwrap();
        let head = timeout(PROMPT, read_head(&mut stream, HeadReader::request()))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let request = head.value;
        assert_eq!(
            (&*request.method, &*request.target, &*request.version),
            ("GET", TARGET, "HTTP/1.1")
        );
        assert_eq!(request.header("host"), Some(&*addr.to_string()));
        let has_token = |name: &str, token: &str| {
            request
                .header_values(name)
                .any(|value| header_has_token(value, token))
        };
        assert!(has_token("upgrade", "websocket"), "{request:?}");
        assert!(has_token("connection", "upgrade"), "{request:?}");
        assert_eq!(request.header("sec-websocket-version"), Some("13"));
        // The base64 of 16 bytes: 22 characters and "==".
        let key = request.header("sec-websocket-key").unwrap();
        assert_eq!(key.len(), 24, "{key}");
        assert!(key.ends_with("=="), "{key}");
        let response = Response::switching_protocols(key);
        assert_eq!(
            response.header("sec-websocket-accept"),
            Some(&*accept_key(key))
        );
        stream.write_all(&response.to_bytes()).await.unwrap();
        (stream, head.rest, attack)
    }

    /// Reads until `got` holds at least `len` bytes.
    async fn read_at_least(stream: &mut TcpStream, got: &mut Vec<u8>, len: usize) {
        while got.len() < len {
            let read = timeout(PROMPT, stream.read_buf(got))
                .await
                .unwrap()
                .unwrap();
            assert_ne!(read, 0, "the client closed after {} bytes", got.len());
        }
    }

    /// Reads until `count` whole frames have come; returns their headers and unmasked payloads.
    async fn read_frames(
        stream: &mut TcpStream,
        buf: &mut Vec<u8>,
        count: usize,
    ) -> Vec<(FrameHeader, Vec<u8>)> {
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        let (mut header, mut payload) = (None, Vec::new());
        loop {
            let mut pos = 0;
            while let (used, Some(event)) = decoder.decode(&mut buf[pos..]) {
                pos += used;
                match event {
                    DecodeEvent::Header(h) => header = Some(h),
                    DecodeEvent::Payload(chunk) => payload.extend_from_slice(chunk),
                    DecodeEvent::End => {
                        frames.push((header.take().unwrap(), std::mem::take(&mut payload)));
                        if frames.len() == count {
                            buf.drain(..pos);
                            return frames;
                        }
                    }
                }
            }
            buf.drain(..pos);
            let len = buf.len();
            read_at_least(stream, buf, len + 1).await;
        }
    }

    /// Closes the server's side of `stream` and checks that the attack then ends, without an error.
    async fn ends_after_eof(mut stream: TcpStream, attack: JoinHandle<io::Result<()>>) {
        stream.shutdown().await.unwrap();
        let ended = timeout(PROMPT, attack).await.unwrap().unwrap();
        assert!(ended.is_ok(), "{ended:?}");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = ClientBehavior::ALL.iter().map(|b| b.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ClientBehavior::ALL.len());
        assert_eq!(
            ClientBehavior::SilentMidMessage.to_string(),
            "silent-mid-message"
        );
    }

    #[tokio::test]
    async fn silent_sends_nothing_and_reads_until_the_end() {
        let (mut stream, got, attack) = accepted(ClientBehavior::Silent).await;
        assert!(got.is_empty());
        assert!(stays_quiet(&mut stream).await);
        let frames = [
            encode_frame(&FrameSpec::ping("p")),
            encode_frame(&FrameSpec::close(Some(CloseCode::NORMAL), b"")),
        ];
        stream.write_all(&frames.concat()).await.unwrap();
        assert!(stays_quiet(&mut stream).await);
        ends_after_eof(stream, attack).await;
    }

    #[tokio::test]
    async fn silent_mid_message_sends_half_a_masked_frame_then_nothing() {
        let (mut stream, mut got, attack) = accepted(ClientBehavior::SilentMidMessage).await;
        read_at_least(&mut stream, &mut got, hostile::MID_MESSAGE_SENT_LEN).await;
        assert!(stays_quiet(&mut stream).await);
        assert_eq!(got.len(), hostile::MID_MESSAGE_SENT_LEN);
        // fin=1 text, masked, 16-bit length 1024, the key, then 504 of its payload bytes
        assert_eq!(got[..4], [0x81, 0xfe, 0x04, 0x00]);
        let key = [got[4], got[5], got[6], got[7]];
        let mut unmasked = got[8..].iter().enumerate().map(|(i, &b)| b ^ key[i % 4]);
        assert!(unmasked.all(|b| b == b'a'));
        ends_after_eof(stream, attack).await;
    }

    #[tokio::test]
    async fn trickle_sends_a_masked_text_frame_a_byte_a_second() {
        let (mut stream, mut got, _attack) = accepted(ClientBehavior::Trickle).await;
        read_at_least(&mut stream, &mut got, 1).await;
        assert_eq!(got, [0x81]);
        assert!(stays_quiet(&mut stream).await);
        // The second byte, a second after the first: masked, 7 bytes ("trickle").
        read_at_least(&mut stream, &mut got, 2).await;
        assert_eq!(got, [0x81, 0x87]);
    }

    #[tokio::test]
    async fn endless_frames_are_masked_empty_text_frames() {
        let (mut stream, mut buf, _attack) = accepted(ClientBehavior::EndlessFrames).await;
        let frames = read_frames(&mut stream, &mut buf, 3 * ENDLESS_BATCH).await;
        for (header, payload) in &frames {
            assert!(header.fin && header.rsv == 0, "{header:?}");
            assert_eq!(header.opcode, Opcode::Text);
            assert!(header.mask.is_some());
            assert!(payload.is_empty());
        }
        // Each frame has a key of its own.
        let mut keys: Vec<[u8; 4]> = frames.iter().filter_map(|(h, _)| h.mask).collect();
        keys.sort_unstable();
        keys.dedup();
        assert!(keys.len() > frames.len() / 2, "{} keys", keys.len());
    }

    #[tokio::test]
    async fn ping_flood_sends_masked_pings_and_reads_what_comes() {
        let (mut stream, mut buf, _attack) = accepted(ClientBehavior::PingFlood).await;
        let pong = encode_frame(&FrameSpec::pong("ping"));
        for _ in 0..3 {
            let frames = read_frames(&mut stream, &mut buf, PING_BATCH).await;
            for (header, payload) in &frames {
                assert_eq!(header.opcode, Opcode::Ping);
                assert!(header.fin && header.mask.is_some(), "{header:?}");
                assert_eq!(payload, b"ping");
            }
            // What the server sends does not stop the flood.
            stream.write_all(&pong.repeat(100)).await.unwrap();
        }
    }

    #[tokio::test]
    async fn never_closes_echoes_masked_but_leaves_a_close_unanswered() {
        let (mut stream, mut buf, attack) = accepted(ClientBehavior::NeverCloses).await;
        let frames = [
            encode_frame(&FrameSpec::text("hello")),
            encode_frame(&FrameSpec::ping("p")),
            encode_frame(&FrameSpec::binary(vec![1, 2, 3])),
        ];
        stream.write_all(&frames.concat()).await.unwrap();
        let answers = read_frames(&mut stream, &mut buf, 3).await;
        let seen: Vec<(Opcode, bool, Vec<u8>)> = answers
            .into_iter()
            .map(|(h, payload)| (h.opcode, h.mask.is_some(), payload))
            .collect();
        assert_eq!(
            seen,
            [
                (Opcode::Text, true, b"hello".to_vec()),
                (Opcode::Pong, true, b"p".to_vec()),
                (Opcode::Binary, true, vec![1, 2, 3]),
            ]
        );
        let close = encode_frame(&FrameSpec::close(Some(CloseCode::NORMAL), b"bye"));
        stream.write_all(&close).await.unwrap();
        assert!(stays_quiet(&mut stream).await);
        assert!(buf.is_empty());
        ends_after_eof(stream, attack).await;
    }

    #[tokio::test]
    async fn deaf_sends_nothing_and_stops_reading() {
        let (mut stream, got, attack) = accepted(ClientBehavior::Deaf).await;
        assert!(got.is_empty());
        assert!(stays_quiet(&mut stream).await);
        writes_stall(&mut stream).await;
        assert!(!attack.is_finished());
    }

    #[tokio::test]
    async fn an_attack_that_cannot_begin_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = Url::parse(&format!("ws://{addr}{TARGET}")).unwrap();
        let refused = tokio::spawn(async move { attack(&url, ClientBehavior::Silent).await });
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream, HeadReader::request())
            .await
            .unwrap()
            .unwrap();
        stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        let refused = timeout(PROMPT, refused).await.unwrap().unwrap();
        assert_eq!(refused.unwrap_err().kind(), io::ErrorKind::InvalidData);

        drop(listener);
        let url = Url::parse(&format!("ws://{addr}{TARGET}")).unwrap();
        assert!(attack(&url, ClientBehavior::Silent).await.is_err());
        let url = Url::parse(&format!("wss://{addr}{TARGET}")).unwrap();
        let wss = attack(&url, ClientBehavior::Silent).await.unwrap_err();
        assert_eq!(wss.kind(), io::ErrorKind::InvalidInput);
    }
}
