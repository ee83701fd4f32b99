//! Hostile servers: peers that attack the harness itself rather than break one rule of the protocol.
//!
//! A conformance tool is pointed at broken software all day, so it must survive whatever a server
//! does: a frame that declares 2^63-1 bytes, a flood, a trickle, silence (from the start or halfway
//! through a frame), garbage, a reset, a header block of a megabyte, a handshake that stops halfway,
//! an echo that never closes, a socket that is never read again. [`spawn`] starts a server that
//! meets every `every`-th WebSocket request with one [`Behavior`] and serves the others as the
//! correct echo server ([`Defect::None`]), so a test can check both that the hostile cases fail with
//! a reason and that the cases beside them are unaffected.
//!
//! A connection counts as a request once its whole request head has arrived: a bare TCP connect (the
//! harness's reachability probe) is not one. Every hostile connection ends after
//! [`HOSTILE_LIFETIME`] at the latest, so a test server never keeps tasks and sockets for ever.

use std::{
    fmt, io,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    time::timeout,
};
use wsspec_wire::{FrameSpec, Response, accept_key, encode_frame};

use crate::{
    Defect,
    server::{self, HANDSHAKE_TIMEOUT, Upgrade},
    session::Session,
};

/// The longest a hostile connection lasts.
pub const HOSTILE_LIFETIME: Duration = Duration::from_secs(60);

/// The size of the header block [`Behavior::HugeHeaders`] sends: 1 MiB.
pub const HUGE_HEADERS_LEN: usize = 1 << 20;

/// How many one-byte fragments [`Behavior::TinyFragments`] sends as one message.
pub const TINY_FRAGMENTS: usize = 100_000;

/// The payload length of the text frame that [`Behavior::SilentMidMessage`] starts: 1024 bytes.
pub const MID_MESSAGE_DECLARED_LEN: usize = 1024;

/// How many bytes of that frame, header included, are sent before the silence: 512.
pub const MID_MESSAGE_SENT_LEN: usize = 512;

/// The receive buffer [`Behavior::Deaf`] asks for (`SO_RCVBUF`; the kernel adjusts the figure, and
/// Linux doubles it). A peer writing to it then stalls once its own send buffer is full, which is
/// most of what it can write: on Linux's loopback a send buffer grows to a few MiB (`tcp_wmem`), and
/// the default receive buffer would add about 1 MiB to that.
pub const DEAF_RECV_BUFFER: u32 = 4096;

/// How long [`Behavior::ResetMidFrame`] waits between its half frame and the reset, so that the half
/// frame is read before the reset arrives.
const BEFORE_RESET: Duration = Duration::from_millis(200);

/// What a hostile server does to the connections it attacks. Unless a variant says otherwise, it
/// completes a correct opening handshake first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Behavior {
    /// A binary frame header that declares 2^63-1 payload bytes, three of them, then silence.
    HugeFrame,
    /// Empty text messages without end, as fast as the harness reads them.
    EndlessFrames,
    /// A text frame written one byte per second, over and over.
    Trickle,
    /// Silence: never sends anything, never answers a close frame, never closes TCP.
    Silent,
    /// Bytes that are not HTTP instead of a handshake response.
    Garbage,
    /// A 101 response without an `Upgrade` header.
    NoUpgrade,
    /// Half of a frame, then a TCP reset (RST).
    ResetMidFrame,
    /// A 101 response with a header block of [`HUGE_HEADERS_LEN`] bytes.
    HugeHeaders,
    /// The first lines of a 101 response, then silence: the handshake never completes.
    HandshakeHang,
    /// Pings without end, as fast as the harness reads them.
    PingFlood,
    /// One text message of [`TINY_FRAGMENTS`] bytes in one-byte fragments, then silence.
    TinyFragments,
    /// The first [`MID_MESSAGE_SENT_LEN`] bytes of a text frame of [`MID_MESSAGE_DECLARED_LEN`]
    /// payload bytes, header included, then silence: reads and discards, never closes.
    SilentMidMessage,
    /// The correct echo server (unmasked frames, a pong for every ping), except that it never
    /// sends a close frame and never closes TCP: whatever would end the connection, the harness's
    /// close frame or a frame that fails it, is left unanswered, and input is read and discarded
    /// until the harness goes away.
    NeverCloses,
    /// Never reads another byte after the request head and never sends one after the 101, with a
    /// receive buffer of [`DEAF_RECV_BUFFER`], so that a harness writing a large message stalls
    /// soon. The buffer is set on the listening socket, so the connections served correctly beside
    /// the attacked ones have it too, which only slows them.
    Deaf,
}

impl Behavior {
    /// Every behaviour.
    pub const ALL: [Behavior; 14] = [
        Behavior::HugeFrame,
        Behavior::EndlessFrames,
        Behavior::Trickle,
        Behavior::Silent,
        Behavior::Garbage,
        Behavior::NoUpgrade,
        Behavior::ResetMidFrame,
        Behavior::HugeHeaders,
        Behavior::HandshakeHang,
        Behavior::PingFlood,
        Behavior::TinyFragments,
        Behavior::SilentMidMessage,
        Behavior::NeverCloses,
        Behavior::Deaf,
    ];

    /// The kebab-case name, such as "huge-frame".
    pub fn name(self) -> &'static str {
        match self {
            Behavior::HugeFrame => "huge-frame",
            Behavior::EndlessFrames => "endless-frames",
            Behavior::Trickle => "trickle",
            Behavior::Silent => "silent",
            Behavior::Garbage => "garbage",
            Behavior::NoUpgrade => "no-upgrade",
            Behavior::ResetMidFrame => "reset-mid-frame",
            Behavior::HugeHeaders => "huge-headers",
            Behavior::HandshakeHang => "handshake-hang",
            Behavior::PingFlood => "ping-flood",
            Behavior::TinyFragments => "tiny-fragments",
            Behavior::SilentMidMessage => "silent-mid-message",
            Behavior::NeverCloses => "never-closes",
            Behavior::Deaf => "deaf",
        }
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A running hostile server.
#[derive(Clone, Debug)]
pub struct HostileServer {
    addr: SocketAddr,
    attacked: Arc<AtomicUsize>,
}

impl HostileServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its `ws://` URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// How many connections it has attacked so far.
    pub fn attacked(&self) -> usize {
        self.attacked.load(Ordering::Relaxed)
    }
}

/// Starts a hostile server on 127.0.0.1: the 1st, (1 + `every`)th, (1 + 2 × `every`)th ... WebSocket
/// request meets `behavior`, the others the correct echo server. `every` of 0 counts as 1 (attack
/// every request). Like [`crate::spawn`], it lives as long as the tokio runtime it was started on.
///
/// # Errors
///
/// When the listening socket cannot be bound.
pub async fn spawn(behavior: Behavior, every: usize) -> io::Result<HostileServer> {
    let listener = listen(behavior).await?;
    let server = HostileServer {
        addr: listener.local_addr()?,
        attacked: Arc::new(AtomicUsize::new(0)),
    };
    let attacked = server.attacked.clone();
    tokio::spawn(async move {
        let requests = Arc::new(AtomicUsize::new(0));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let (requests, attacked) = (requests.clone(), attacked.clone());
            tokio::spawn(async move {
                // An error ends this connection only; there is nobody to report it to.
                let _ = serve(stream, behavior, every.max(1), &requests, &attacked).await;
            });
        }
    });
    Ok(server)
}

/// The listening socket on 127.0.0.1, an ephemeral port. For [`Behavior::Deaf`] its receive buffer
/// is [`DEAF_RECV_BUFFER`], set before `listen` so that the accepted sockets inherit it and
/// advertise a small window from their first segment.
async fn listen(behavior: Behavior) -> io::Result<TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    if behavior != Behavior::Deaf {
        return TcpListener::bind(addr).await;
    }
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(DEAF_RECV_BUFFER)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Reads the request head, then attacks the connection or serves it correctly.
async fn serve(
    mut stream: TcpStream,
    behavior: Behavior,
    every: usize,
    requests: &AtomicUsize,
    attacked: &AtomicUsize,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (key, rest) = match timeout(
        HANDSHAKE_TIMEOUT,
        server::read_upgrade(&mut stream, Defect::None),
    )
    .await
    {
        Ok(Ok(Upgrade::Accepted { key, rest, .. })) => (key, rest),
        Ok(Ok(Upgrade::Refused(refusal))) => return server::refuse(&mut stream, &refusal).await,
        Ok(Ok(Upgrade::Gone)) | Ok(Err(_)) | Err(_) => return Ok(()),
    };
    if requests.fetch_add(1, Ordering::Relaxed) % every != 0 {
        stream
            .write_all(&Response::switching_protocols(&key).to_bytes())
            .await?;
        return server::echo(stream, rest, Defect::None, None).await;
    }
    attacked.fetch_add(1, Ordering::Relaxed);
    match timeout(HOSTILE_LIFETIME, attack(stream, &key, rest, behavior)).await {
        Ok(result) => result,
        Err(_elapsed) => Ok(()),
    }
}

/// Does what `behavior` says to one connection; `rest` holds the bytes that came after the request
/// head.
async fn attack(
    mut stream: TcpStream,
    key: &str,
    rest: Vec<u8>,
    behavior: Behavior,
) -> io::Result<()> {
    let upgrade = Response::switching_protocols(key).to_bytes();
    match behavior {
        Behavior::HugeFrame => {
            // fin=1 binary, 64-bit length 0x7fff_ffff_ffff_ffff, then three payload bytes.
            let frame = b"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xffabc";
            stream
                .write_all(&[upgrade.as_slice(), frame].concat())
                .await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::EndlessFrames => {
            stream.write_all(&upgrade).await?;
            // 32768 empty text messages a write: the most events per byte a peer can send.
            let batch = [0x81, 0x00].repeat(32 * 1024);
            keep_writing(stream, std::iter::repeat(batch.as_slice()), Duration::ZERO).await?;
        }
        Behavior::Trickle => {
            stream.write_all(&upgrade).await?;
            let frame = [b"\x81\x07".as_slice(), b"trickle"].concat();
            keep_writing(stream, frame.chunks(1).cycle(), Duration::from_secs(1)).await?;
        }
        Behavior::Silent => {
            stream.write_all(&upgrade).await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::Garbage => {
            stream
                .write_all(b"\x00\xff garbage \r\n\r\n\x13\x37")
                .await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::NoUpgrade => {
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(key)
            );
            stream.write_all(response.as_bytes()).await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::ResetMidFrame => {
            // A binary frame of 256 bytes, of which only 100 come.
            let half = [b"\x82\x7e\x01\x00".as_slice(), &[0x55; 100]].concat();
            stream
                .write_all(&[upgrade.as_slice(), &half].concat())
                .await?;
            stream.flush().await?;
            tokio::time::sleep(BEFORE_RESET).await;
            // SO_LINGER of zero: closing sends RST instead of FIN.
            stream.set_zero_linger()?;
            drop(stream);
        }
        Behavior::HugeHeaders => {
            let mut head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
                accept_key(key)
            )
            .into_bytes();
            // Lines of 1 KiB: "X-Filler-0001: aaaa...\r\n".
            let mut line = 0;
            while head.len() < HUGE_HEADERS_LEN {
                let name = format!("X-Filler-{line:04}: ");
                head.extend_from_slice(name.as_bytes());
                head.resize(head.len() + 1024 - name.len() - 2, b'a');
                head.extend_from_slice(b"\r\n");
                line += 1;
            }
            head.extend_from_slice(b"\r\n");
            // The harness stops reading long before the end: a failed write is the expected outcome.
            let _ = stream.write_all(&head).await;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::HandshakeHang => {
            stream
                .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
                .await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::PingFlood => {
            stream.write_all(&upgrade).await?;
            let batch = b"\x89\x04ping".repeat(10 * 1024);
            keep_writing(stream, std::iter::repeat(batch.as_slice()), Duration::ZERO).await?;
        }
        Behavior::TinyFragments => {
            let mut message = Vec::with_capacity(upgrade.len() + 3 * TINY_FRAGMENTS);
            message.extend_from_slice(&upgrade);
            for i in 0..TINY_FRAGMENTS {
                let opcode = if i == 0 { 0x01 } else { 0x00 };
                let fin = if i + 1 == TINY_FRAGMENTS { 0x80 } else { 0x00 };
                message.extend_from_slice(&[fin | opcode, 0x01, b'a']);
            }
            stream.write_all(&message).await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::SilentMidMessage => {
            let half = mid_message_frame(None);
            stream
                .write_all(&[upgrade.as_slice(), &half].concat())
                .await?;
            server::discard_until_eof(&mut stream).await;
        }
        Behavior::NeverCloses => {
            stream.write_all(&upgrade).await?;
            let mut session = Session::server(Defect::None, None);
            // The step that ends the session (a close frame to send, TCP to close) is left undone.
            if server::converse(&mut stream, rest, &mut session)
                .await?
                .is_some()
            {
                server::discard_until_eof(&mut stream).await;
            }
        }
        Behavior::Deaf => {
            stream.write_all(&upgrade).await?;
            // The connection is held, unread, until HOSTILE_LIFETIME drops it.
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

/// The first [`MID_MESSAGE_SENT_LEN`] bytes of a text frame of [`MID_MESSAGE_DECLARED_LEN`] payload
/// bytes, masked with `mask` (a client's) or not (a server's).
pub(crate) fn mid_message_frame(mask: Option<[u8; 4]>) -> Vec<u8> {
    let payload = vec![b'a'; MID_MESSAGE_DECLARED_LEN];
    let mut frame = encode_frame(&FrameSpec::text(payload).with_mask(mask));
    frame.truncate(MID_MESSAGE_SENT_LEN);
    frame
}

/// Writes `batches` one after another, pausing `pause` after each, until they run out or the
/// connection breaks, and reads and discards whatever the peer sends meanwhile. Reading and writing
/// are one future, so that dropping it (at the end of [`HOSTILE_LIFETIME`]) ends both.
pub(crate) async fn keep_writing<B: AsRef<[u8]>>(
    mut stream: TcpStream,
    batches: impl Iterator<Item = B>,
    pause: Duration,
) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    let discard = async {
        let mut sink = [0u8; 4096];
        while let Ok(1..) = reader.read(&mut sink).await {}
        // The peer closed its side: writing goes on until it fails.
        std::future::pending::<()>().await;
    };
    let write = async {
        for batch in batches {
            writer.write_all(batch.as_ref()).await?;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        Ok(())
    };
    tokio::select! {
        result = write => result,
        () = discard => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wsspec_reference::head::read_head;
    use wsspec_wire::{CloseCode, HeadReader, Request, generate_key};

    /// How long a test waits to be sure that nothing more comes.
    pub(crate) const QUIET: Duration = Duration::from_millis(300);

    /// How long a test waits for bytes that must come.
    pub(crate) const PROMPT: Duration = Duration::from_secs(2);

    /// Connects to a new server that attacks every request with `behavior` and completes the opening
    /// handshake; returns the stream and the bytes that came after the 101's head.
    async fn upgraded(behavior: Behavior) -> (TcpStream, Vec<u8>) {
        let server = spawn(behavior, 1).await.unwrap();
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        let key = generate_key(rand::random());
        let request = Request::websocket(&server.addr().to_string(), "/", &key);
        stream.write_all(&request.to_bytes()).await.unwrap();
        let head = timeout(PROMPT, read_head(&mut stream, HeadReader::response()))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(head.value.status, 101);
        let accept = accept_key(&key);
        assert_eq!(head.value.header("sec-websocket-accept"), Some(&*accept));
        assert_eq!(server.attacked(), 1);
        (stream, head.rest)
    }

    /// Reads until `got` holds at least `len` bytes.
    async fn read_at_least(stream: &mut TcpStream, got: &mut Vec<u8>, len: usize) {
        while got.len() < len {
            let read = timeout(PROMPT, stream.read_buf(got))
                .await
                .unwrap()
                .unwrap();
            assert_ne!(read, 0, "the server closed after {} bytes", got.len());
        }
    }

    /// Whether nothing arrives within [`QUIET`] and the connection stays open meanwhile.
    pub(crate) async fn stays_quiet(stream: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        timeout(QUIET, stream.read(&mut byte)).await.is_err()
    }

    /// Checks that writing to a peer that reads nothing stalls once the socket buffers are full (a
    /// few MiB on Linux's loopback, most of them this end's send buffer), and that it stays quiet.
    pub(crate) async fn writes_stall(stream: &mut TcpStream) {
        let chunk = vec![0u8; 64 * 1024];
        let mut written = 0;
        while let Ok(Ok(n)) = timeout(QUIET, stream.write(&chunk)).await {
            written += n;
            assert!(written < 16 << 20, "{written} bytes written and no stall");
        }
        assert!(stays_quiet(stream).await);
    }

    /// A client frame: `spec` masked.
    fn masked(spec: FrameSpec) -> Vec<u8> {
        encode_frame(&spec.with_mask(Some([0x12, 0x34, 0x56, 0x78])))
    }

    #[tokio::test]
    async fn silent_mid_message_sends_half_a_frame_then_nothing() {
        let (mut stream, mut got) = upgraded(Behavior::SilentMidMessage).await;
        read_at_least(&mut stream, &mut got, MID_MESSAGE_SENT_LEN).await;
        assert!(stays_quiet(&mut stream).await);
        assert_eq!(got.len(), MID_MESSAGE_SENT_LEN);
        // fin=1 text, unmasked, 16-bit length 1024, then 508 of its payload bytes
        assert_eq!(got[..4], [0x81, 0x7e, 0x04, 0x00]);
        assert!(got[4..].iter().all(|&b| b == b'a'));
        // It keeps reading: a frame from the harness is taken without an answer.
        stream
            .write_all(&masked(FrameSpec::ping("p")))
            .await
            .unwrap();
        assert!(stays_quiet(&mut stream).await);
    }

    #[tokio::test]
    async fn never_closes_echoes_and_pongs_but_leaves_a_close_unanswered() {
        let (mut stream, mut got) = upgraded(Behavior::NeverCloses).await;
        let frames = [
            masked(FrameSpec::text("hello")),
            masked(FrameSpec::ping("p")),
        ];
        stream.write_all(&frames.concat()).await.unwrap();
        let answers = [
            encode_frame(&FrameSpec::text("hello")),
            encode_frame(&FrameSpec::pong("p")),
        ]
        .concat();
        read_at_least(&mut stream, &mut got, answers.len()).await;
        assert_eq!(got, answers);

        let close = masked(FrameSpec::close(Some(CloseCode::NORMAL), b"bye"));
        stream.write_all(&close).await.unwrap();
        assert!(stays_quiet(&mut stream).await);
        // Frames after the close get no answer either.
        stream
            .write_all(&masked(FrameSpec::text("more")))
            .await
            .unwrap();
        assert!(stays_quiet(&mut stream).await);
        // Once the harness closes its side, the server goes too.
        stream.shutdown().await.unwrap();
        let mut byte = [0u8; 1];
        let read = timeout(PROMPT, stream.read(&mut byte)).await.unwrap();
        assert_eq!(read.unwrap(), 0);
    }

    #[tokio::test]
    async fn deaf_sends_nothing_and_stops_reading() {
        let (mut stream, got) = upgraded(Behavior::Deaf).await;
        assert!(got.is_empty());
        assert!(stays_quiet(&mut stream).await);
        writes_stall(&mut stream).await;
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Behavior::ALL.iter().map(|b| b.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Behavior::ALL.len());
        assert_eq!(Behavior::PingFlood.to_string(), "ping-flood");
    }
}
