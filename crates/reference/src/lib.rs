//! The built-in reference testee of wsspec: a WebSocket echo server built on
//! tokio-tungstenite, over plain TCP (`ws://`) or TLS (`wss://`, see [`tls`]).
//!
//! Every text and binary message a client sends comes back with the same type
//! and payload. Pings and close frames are answered by tungstenite itself; this
//! crate only makes sure those replies reach the wire, that the server closes
//! TCP after the close handshake, and that a protocol violation ends the
//! connection promptly with a close frame carrying a fitting status code.
//!
//! tungstenite 0.30 has no permessage-deflate (RFC 7692; its frames carry RSV1 but nothing
//! compresses or inflates). With [`EchoConfig::permessage_deflate`] (`wsspec server` with no URL,
//! `wsspec echo --deflate`), a connection that agrees to it runs on yawc instead ([`deflate`]);
//! without, the server declines every offer, and the compression cases (12, 13 and most of 17) are
//! UNIMPLEMENTED against it. Everything below is about the tungstenite connections.
//!
//! # What tungstenite 0.30 does on a protocol error
//!
//! Reading the tungstenite 0.30 source (`protocol/mod.rs`,
//! `WebSocketContext::read` and `read_message_frame`): when an incoming frame
//! breaks the protocol, `read` simply returns the error
//! (`Error::Protocol(..)` for framing violations, `Error::Utf8(..)` for invalid
//! UTF-8 in a text message or a close reason, `Error::Capacity(..)` for a frame
//! or message over the configured limit). It does **not** queue a close frame
//! and it does not change the connection state, which stays `Active`; nothing
//! is written. If the stream is dropped at that point the peer only sees the TCP
//! connection go away. The one case where tungstenite answers a bad peer on its
//! own is a close frame with a status code that may not be sent on the wire
//! (e.g. 1005 or 999): it is reported as an ordinary close, and the queued reply
//! carries 1002 instead of echoing the code.
//!
//! Since RFC 6455 section 7.1.7 says an endpoint that must _Fail the WebSocket
//! Connection_ SHOULD first send a close frame with a suitable code, this
//! server does so itself: it sends 1002 (protocol error), 1007 (invalid
//! payload data) or 1009 (message too big), flushes it, shuts down the TCP
//! write side so the peer sees a FIN right after the close frame, reads and
//! discards whatever the peer still sends for a short while (so an early reset
//! cannot destroy the close frame before the peer reads it), and drops the
//! socket. Over TLS, the shutdown sends `close_notify` before the FIN, here and
//! after a normal close handshake.
//!
//! # Fragmentation
//!
//! tungstenite 0.30 has no outgoing auto-fragmentation to turn off: `write`
//! turns every text or binary message into exactly one final frame. Its only
//! frame-size setting, `max_frame_size`, limits *incoming* frames; this server
//! sets it to the same value as the message size limit, since a single frame
//! larger than the largest acceptable message can never be valid. UTF-8
//! validation of text messages (including incremental validation of fragmented
//! ones) is always on in tungstenite and cannot be disabled.

pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use wsspec_wire::HeadReader;

pub mod client;
pub mod deflate;
pub mod handshake;
pub mod head;
mod inbound;

pub use handshake::ServerPolicy;

pub use tls::{TlsError, TlsIdentity};

/// The agent name the reference server reports under.
pub const AGENT: &str = "wsspec-reference (tokio-tungstenite 0.30)";

/// How long the server waits after an accept error before accepting again, so
/// that resource exhaustion (e.g. too many open files) does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long a failing connection may take to write its close frame, and then
/// how long the peer's remaining bytes are drained before the socket is dropped;
/// also how long a closing connection may take to shut down its sending side.
const FAIL_LINGER: Duration = Duration::from_secs(2);

/// How long a client has to send its whole request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for the reference echo server.
#[derive(Clone, Debug, Default)]
pub struct EchoConfig {
    /// The largest incoming message (and so frame) accepted, in bytes.
    /// `None` keeps tungstenite's default (64 MiB).
    pub max_message_size: Option<usize>,
    /// Subprotocols supported and origins refused in the opening handshake.
    pub policy: ServerPolicy,
    /// Serve TLS (`wss://`) with this certificate; `None` serves plain TCP.
    pub tls: Option<TlsIdentity>,
    /// Accept permessage-deflate offers (see [`deflate`]); off, every offer is declined.
    pub permessage_deflate: bool,
}

impl EchoConfig {
    /// The tungstenite configuration this server runs each connection with.
    fn websocket_config(&self) -> WebSocketConfig {
        let defaults = WebSocketConfig::default();
        let max_message = self.max_message_size.or(defaults.max_message_size);
        defaults
            .max_message_size(max_message)
            .max_frame_size(max_message)
    }
}

/// A bound, not yet running echo server.
#[derive(Debug)]
pub struct EchoServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: WebSocketConfig,
    policy: Arc<ServerPolicy>,
    tls: Option<TlsIdentity>,
    permessage_deflate: bool,
}

/// The largest message when none is configured: tungstenite's default, 64 MiB.
const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

impl EchoServer {
    /// Binds a TCP listener on `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, config: EchoConfig) -> io::Result<EchoServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(EchoServer {
            listener,
            local_addr,
            config: config.websocket_config(),
            policy: Arc::new(config.policy),
            tls: config.tls,
            permessage_deflate: config.permessage_deflate,
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients connect to: `ws://ADDR/`, or `wss://ADDR/` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}/", self.local_addr)
    }

    /// Accept connections forever, one task each; each echoes every text and
    /// binary message back with the same type and payload.
    ///
    /// Errors of a single connection, and errors from `accept` itself, never
    /// stop the loop, so in practice this future only ends when it is dropped
    /// or its task is aborted.
    pub async fn serve(self) -> io::Result<()> {
        loop {
            match self.listener.accept().await {
                Ok((stream, _peer)) => {
                    let tls = self.tls.as_ref().map(TlsIdentity::acceptor);
                    tokio::spawn(handle_connection(
                        stream,
                        self.config,
                        self.policy.clone(),
                        tls,
                        self.permessage_deflate,
                    ));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            }
        }
    }

    /// Convenience: spawn `serve` on the current tokio runtime and return the
    /// address and the JoinHandle.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime, like [`tokio::spawn`].
    pub fn spawn(self) -> (SocketAddr, JoinHandle<io::Result<()>>) {
        let addr = self.local_addr;
        (addr, tokio::spawn(self.serve()))
    }

    /// Serves on a thread of its own, with a runtime of its own, for as long as the process lives:
    /// the server's work then runs beside the caller's instead of taking turns with it (`wsspec
    /// server` with no URL runs the harness on a single-threaded runtime, and compressing and
    /// inflating the echoes of sections 12 and 13 is most of a run's work on both sides).
    pub fn serve_on_own_thread(self) -> io::Result<SocketAddr> {
        let EchoServer {
            listener,
            local_addr,
            config,
            policy,
            tls,
            permessage_deflate,
        } = self;
        // Registered with the caller's runtime: it moves to the new one as a plain socket.
        let listener = listener.into_std()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("wsspec-reference".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener)?;
                    EchoServer {
                        listener,
                        local_addr,
                        config,
                        policy,
                        tls,
                        permessage_deflate,
                    }
                    .serve()
                    .await
                })
            })?;
        Ok(local_addr)
    }
}

/// How a connection ended; returned by the per-connection task for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The opening handshake did not complete: the client went away, or sent no complete head in time.
    HandshakeFailed,
    /// The request was refused with this HTTP status.
    Refused(u16),
    /// The close handshake completed (or the stream simply ended).
    Closed,
    /// The peer broke the protocol; a close frame with this code was sent.
    Failed(CloseCode),
    /// The peer broke the protocol on a permessage-deflate connection; a close frame with the code
    /// yawc gives the error (1002 for RSV1 where it may not be) was sent.
    FailedOnDeflate,
    /// The transport failed or the peer vanished; the socket was dropped.
    Dropped,
}

/// Runs one connection from the TLS handshake, if any, to the end.
async fn handle_connection(
    stream: TcpStream,
    config: WebSocketConfig,
    policy: Arc<ServerPolicy>,
    tls: Option<TlsAcceptor>,
    permessage_deflate: bool,
) -> Outcome {
    // Small echoes and control replies must not wait for Nagle's algorithm.
    // Failing to set it only costs latency, so the error is ignored.
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = tls else {
        return serve_websocket(stream, config, &policy, permessage_deflate).await;
    };
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => serve_websocket(stream, config, &policy, permessage_deflate).await,
        _ => Outcome::HandshakeFailed,
    }
}

/// Runs one connection from the opening handshake to the end.
async fn serve_websocket<S>(
    mut stream: S,
    config: WebSocketConfig,
    policy: &ServerPolicy,
    permessage_deflate: bool,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = head::read_head(&mut stream, HeadReader::request());
    // Whatever followed the head is already WebSocket frames.
    let (mut answer, buf, deflate) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, head).await {
        Ok(Ok(Ok(head))) => (
            handshake::answer(&head.value, policy),
            head.rest,
            deflate::accept(&head.value).filter(|_| permessage_deflate),
        ),
        Ok(Ok(Err(err))) => (handshake::answer_unparsable(&err), Vec::new(), None),
        Ok(Err(_)) | Err(_) => return Outcome::HandshakeFailed,
    };
    if let (handshake::Answer::Upgrade(response), Some(agreed)) = (&mut answer, &deflate) {
        response.set_header("Sec-WebSocket-Extensions", &agreed.to_string());
    }
    if stream.write_all(&answer.to_bytes()).await.is_err() {
        return Outcome::Dropped;
    }
    match (answer, deflate) {
        (handshake::Answer::Upgrade(_), Some(agreed)) => {
            let max_message = config.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE);
            deflate::echo(stream, buf, &agreed, max_message, FAIL_LINGER).await
        }
        (handshake::Answer::Upgrade(_), None) => {
            let ws =
                WebSocketStream::from_partially_read(stream, buf, Role::Server, Some(config)).await;
            echo(ws).await
        }
        (handshake::Answer::Refuse(response, _), _) => {
            let _ = stream.shutdown().await;
            let _ = tokio::time::timeout(FAIL_LINGER, drain(&mut stream)).await;
            Outcome::Refused(response.status)
        }
    }
}

/// Echoes messages until the connection closes or fails.
async fn echo<S>(mut ws: WebSocketStream<S>) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => {
                // `send` flushes, so the echo is on the wire when it returns.
                if ws.send(msg).await.is_err() {
                    return Outcome::Dropped;
                }
            }
            Some(Ok(Message::Ping(_))) => {
                // tungstenite queued the pong; push it out now rather than on
                // the next read.
                if ws.flush().await.is_err() {
                    return Outcome::Dropped;
                }
            }
            Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Close(_))) => {
                // tungstenite queued the close reply. On the server side,
                // flushing it finishes the handshake (tungstenite reports
                // `ConnectionClosed`, which `flush` maps to `Ok`); shutting
                // down (close_notify first over TLS) and dropping the stream
                // afterwards closes TCP, server first as RFC 6455 wants.
                if ws.flush().await.is_err() {
                    return Outcome::Dropped;
                }
                let mut stream = ws.into_inner();
                let _ = tokio::time::timeout(FAIL_LINGER, stream.shutdown()).await;
                return Outcome::Closed;
            }
            Some(Err(err)) => {
                return match failure_code(&err) {
                    Some(code) => fail(ws, code).await,
                    None => Outcome::Dropped,
                };
            }
            None => return Outcome::Closed,
        }
    }
}

/// The close code to fail the connection with for a read error, or `None`
/// when the error is not the peer breaking the protocol (I/O errors, the peer
/// vanishing, the connection already being closed) and the socket should just
/// be dropped.
fn failure_code(err: &WsError) -> Option<CloseCode> {
    match err {
        WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake
            | ProtocolError::ReceivedAfterClosing
            | ProtocolError::SendAfterClosing,
        ) => None,
        WsError::Protocol(_) => Some(CloseCode::Protocol),
        WsError::Utf8(_) => Some(CloseCode::Invalid),
        WsError::Capacity(_) => Some(CloseCode::Size),
        _ => None,
    }
}

/// A short close reason for a failure code.
fn failure_reason(code: CloseCode) -> &'static str {
    match code {
        CloseCode::Invalid => "invalid UTF-8",
        CloseCode::Size => "message too big",
        _ => "protocol error",
    }
}

/// _Fail the WebSocket Connection_: send a close frame with `code`, flush it,
/// send FIN, drain the peer briefly and drop the socket.
async fn fail<S>(mut ws: WebSocketStream<S>, code: CloseCode) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(failure_reason(code)),
    };
    // tungstenite left the state `Active` after the error, so this queues the
    // close frame and flushes it. Whether it succeeds or not, the socket goes.
    let sent = tokio::time::timeout(FAIL_LINGER, ws.close(Some(frame))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return Outcome::Dropped;
    }
    let mut stream = ws.into_inner();
    if stream.shutdown().await.is_err() {
        return Outcome::Failed(code);
    }
    let _ = tokio::time::timeout(FAIL_LINGER, drain(&mut stream)).await;
    Outcome::Failed(code)
}

/// Reads and discards until end of stream or an error.
async fn drain<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
