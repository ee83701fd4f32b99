//! The tokio side of a mutant server: accepting, the opening handshake, reading frames into the
//! [`Session`], and carrying out its steps on the socket.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use wsspec_wire::{FrameDecoder, FrameSpec, Parsed, Response, encode_frame, parse_request};

use crate::Defect;
use crate::session::{Session, Step};

/// How much is read from the socket at a time.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// How long a client has to send its whole opening handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long input is read and discarded after the write side was shut down, so that the peer
/// reads the last frame instead of a reset caused by unread data.
const LINGER: Duration = Duration::from_secs(1);

/// A pause after a failed `accept` (such as running out of file descriptors), so the accept loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The answer to a head that is not a WebSocket upgrade.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Binds a local port and spawns the accept loop; see [`crate::spawn`].
pub(crate) async fn spawn(defect: Defect) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(accept_loop(listener, defect));
    Ok(addr)
}

async fn accept_loop(listener: TcpListener, defect: Defect) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    // An error ends this connection only; there is nobody to report it to.
                    let _ = serve(stream, defect).await;
                });
            }
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

/// Serves one connection from the handshake to its end.
async fn serve(mut stream: TcpStream, defect: Defect) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(READ_CHUNK);
    let head_len = match timeout(HANDSHAKE_TIMEOUT, handshake(&mut stream, &mut buf)).await {
        Ok(Ok(Some(len))) => len,
        Ok(Ok(None)) => return Ok(()),
        Ok(Err(e)) => return Err(e),
        Err(_elapsed) => return Ok(()),
    };
    // Whatever followed the head already belongs to the frames.
    buf.drain(..head_len);
    echo(stream, buf, defect).await
}

/// Serves the frames of an upgraded connection until it ends; `buf` holds the bytes that came after
/// the request head.
pub(crate) async fn echo(
    mut stream: TcpStream,
    mut buf: Vec<u8>,
    defect: Defect,
) -> io::Result<()> {
    let mut session = Session::new(defect);
    let mut decoder = FrameDecoder::new();
    loop {
        let mut pos = 0;
        let end = loop {
            let (used, event) = decoder.decode(&mut buf[pos..]);
            pos += used;
            let Some(event) = event else { break None };
            match session.on_event(event) {
                Step::Continue => {}
                Step::Send(frame) => stream.write_all(&frame).await?,
                step => break Some(step),
            }
        };
        buf.drain(..pos);
        if let Some(step) = end {
            return finish(stream, step).await;
        }
        buf.reserve(READ_CHUNK);
        if stream.read_buf(&mut buf).await? == 0 {
            // The peer went away without a close frame: nothing more to do.
            return Ok(());
        }
    }
}

/// Reads the request head into `buf` and answers it. Returns the head's length after a 101, or
/// `None` when the connection is over (refused, or the peer left).
async fn handshake(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    match read_upgrade(stream, buf).await? {
        Upgrade::Key { key, len } => {
            let response = Response::switching_protocols(&key);
            stream.write_all(&response.to_bytes()).await?;
            Ok(Some(len))
        }
        Upgrade::Refused => refuse(stream).await.map(|()| None),
        Upgrade::Gone => Ok(None),
    }
}

/// What a client's request head asks for.
pub(crate) enum Upgrade {
    /// A WebSocket upgrade with this key; the head took `len` bytes of the buffer.
    Key {
        /// The `Sec-WebSocket-Key`.
        key: String,
        /// The head's length.
        len: usize,
    },
    /// Not HTTP, or not a WebSocket upgrade: to be answered with 400.
    Refused,
    /// The client left before its head was complete.
    Gone,
}

/// Reads a request head into `buf` (without answering it).
pub(crate) async fn read_upgrade(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Upgrade> {
    loop {
        match parse_request(buf) {
            Ok(Parsed::Complete { value, len }) => {
                let key = value
                    .header("Sec-WebSocket-Key")
                    .map(str::trim)
                    .filter(|key| !key.is_empty());
                return Ok(match key {
                    Some(key) if value.method == "GET" => Upgrade::Key {
                        key: key.to_owned(),
                        len,
                    },
                    _ => Upgrade::Refused,
                });
            }
            // parse_request bounds the head (MAX_HEAD_BYTES), so the buffer cannot grow forever.
            Ok(Parsed::Incomplete) => {
                buf.reserve(READ_CHUNK);
                if stream.read_buf(buf).await? == 0 {
                    return Ok(Upgrade::Gone);
                }
            }
            Err(_) => return Ok(Upgrade::Refused),
        }
    }
}

/// Answers 400 and closes.
pub(crate) async fn refuse(stream: &mut TcpStream) -> io::Result<()> {
    stream.write_all(BAD_REQUEST).await?;
    stream.shutdown().await?;
    linger(stream).await;
    Ok(())
}

/// Carries out a step that ends the session.
async fn finish(mut stream: TcpStream, step: Step) -> io::Result<()> {
    match step {
        Step::Fail { code, reason } => {
            let close = encode_frame(&FrameSpec::close(Some(code), reason.as_bytes()));
            stream.write_all(&close).await?;
            stream.flush().await?;
            stream.shutdown().await?;
            linger(&mut stream).await;
        }
        Step::Closed { reply, close_tcp } => {
            if let Some(reply) = reply {
                stream.write_all(&reply).await?;
                stream.flush().await?;
            }
            if close_tcp {
                stream.shutdown().await?;
                linger(&mut stream).await;
            } else {
                discard_until_eof(&mut stream).await;
            }
        }
        Step::Continue | Step::Send(_) => {}
    }
    Ok(())
}

/// Reads and discards input until the peer closes, an error, or [`LINGER`] has passed.
async fn linger(stream: &mut TcpStream) {
    let _ = timeout(LINGER, discard_until_eof(stream)).await;
}

/// Reads and discards input until the peer closes its side or the connection breaks.
pub(crate) async fn discard_until_eof(stream: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut sink).await {}
}
