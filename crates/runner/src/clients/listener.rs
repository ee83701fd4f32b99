//! The listener's plumbing: accepting connections (plain or TLS), reading a request head, and
//! answering with an HTTP error. What a connection is for is the [`ConnectionHandler`]'s business.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;
use wsspec_wire::{Head, HeadError, HeadReader, Request};

use crate::transport::{self, Channel, Reader, Writer};

/// What the accept loop does with each connection.
pub(super) trait ConnectionHandler: Send + Sync + 'static {
    /// How long TLS and the request head may take.
    fn handshake_timeout(&self) -> Duration;
    /// A connection arrived (before TLS).
    fn arrived(&self) {}
    /// A client sent these bytes in the clear as soon as its TLS handshake was done, in the same
    /// read, so that the handshake failed on them.
    fn left_tls(&self, _cleartext: &[u8]) {}
    /// Serves one connection to its end.
    fn serve(
        self: Arc<Self>,
        reader: Reader,
        writer: Writer,
        channel: Channel,
    ) -> impl Future<Output = ()> + Send;
}

/// Accepts connections and serves each in its own task, until dropped.
pub(super) async fn accept_loop<H: ConnectionHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    tls: Option<TlsAcceptor>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    handler.arrived();
                    let (handler, tls) = (handler.clone(), tls.clone());
                    tasks.spawn(async move {
                        let timeout = handler.handshake_timeout();
                        let accepted = match &tls {
                            None => {
                                let (reader, writer) = transport::accepted_plain(stream);
                                Ok((reader, writer, Channel::Plain))
                            }
                            Some(acceptor) => transport::accept_tls(stream, acceptor, timeout).await,
                        };
                        // A client that cannot finish the TLS handshake is gone; nothing to answer.
                        match accepted {
                            Ok((reader, writer, channel)) => {
                                handler.serve(reader, writer, channel).await;
                            }
                            Err(failed) => {
                                if let Some(cleartext) = failed.cleartext {
                                    handler.left_tls(&cleartext);
                                }
                            }
                        }
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
}

/// A request head that arrived: the request, the head's bytes, and what followed them.
pub(super) struct Arrived {
    pub(super) request: Request,
    pub(super) head: Vec<u8>,
    pub(super) leftover: Vec<u8>,
}

/// What reading a request head gave.
pub(super) enum Read {
    /// A whole head.
    Arrived(Arrived),
    /// Something that is not a whole request head: a malformed head (answered with 400), or one
    /// the client stopped sending before its end.
    Unfinished(Unfinished),
    /// After its TLS handshake, the client sent these bytes in the clear.
    LeftTls(Vec<u8>),
    /// Nothing at all, or the connection broke.
    Gone,
}

/// A request head that did not arrive whole, as far as it came.
pub(super) struct Unfinished {
    /// The request line, when it came whole: what the head was for.
    pub(super) request_line: Option<String>,
    /// How many bytes came.
    pub(super) len: usize,
    /// Why it is not a request: the parse error, or `None` when the client stopped sending.
    pub(super) malformed: Option<HeadError>,
}

/// Reads a request head within `timeout`; a malformed one is answered with 400.
pub(super) async fn read_request(
    reader: &mut Reader,
    writer: &mut Writer,
    timeout: Duration,
) -> Read {
    let mut head = HeadReader::request();
    let read = tokio::time::timeout(timeout, read_head(reader, &mut head)).await;
    let unfinished = |head: &HeadReader<Request>, malformed| {
        Read::Unfinished(Unfinished {
            request_line: request_line(head.received()),
            len: head.received().len(),
            malformed,
        })
    };
    match read {
        Ok(Ok(Ok(head))) => Read::Arrived(Arrived {
            request: head.value,
            head: head.bytes,
            leftover: head.rest,
        }),
        Ok(Ok(Err(err))) => {
            // The client may be gone already; nothing to report to.
            let _ = http_error(writer, 400, "Bad Request", &err.to_string()).await;
            unfinished(&head, Some(err))
        }
        Ok(Err(_)) if head.received().is_empty() => match reader.cleartext_after_tls() {
            Some(cleartext) => Read::LeftTls(cleartext),
            None => Read::Gone,
        },
        Err(_) if head.received().is_empty() => Read::Gone,
        Ok(Err(_)) | Err(_) => unfinished(&head, None),
    }
}

/// The first line of `bytes`, when it came whole (up to its line feed).
pub(super) fn request_line(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    Some(String::from_utf8_lossy(&bytes[..end]).trim_end().to_owned())
}

/// The request-target of a request line (`GET /runCase?case=1 HTTP/1.1`).
pub(super) fn request_target(line: &str) -> Option<&str> {
    line.split(' ').nth(1)
}

/// Reads a request head into `head`: the thin loop around [`HeadReader`] (which parses, bounds the
/// head and splits off what follows it). Outer error: I/O or EOF; inner: a bad head.
async fn read_head(
    stream: &mut Reader,
    head: &mut HeadReader<Request>,
) -> std::io::Result<Result<Head<Request>, HeadError>> {
    loop {
        if let Some(head) = head.head().transpose() {
            return Ok(head);
        }
        if stream.read_buf(head.buffer()).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// Answers with an HTTP error and a one-line text body.
pub(super) async fn http_error(
    stream: &mut Writer,
    status: u16,
    reason: &str,
    why: &str,
) -> std::io::Result<()> {
    let body = format!("{why}\n");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
