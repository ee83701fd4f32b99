//! The tokio side of a mutant server: accepting, the opening handshake, reading frames into the
//! [`Session`], and carrying out its steps on the socket.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use wsspec_reference::handshake::{self, Answer, ServerPolicy};
use wsspec_reference::head::read_head;
use wsspec_wire::{
    FrameDecoder, FrameSpec, Head, HeadError, HeadReader, Request, Response, accept_key_with_guid,
    deflate::{Agreement, DeflateParams, PERMESSAGE_DEFLATE},
    encode_frame, extension_list_problem, list_items, parse_extensions,
};

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

/// The GUID that [`Defect::WrongAcceptGuid`] uses instead of RFC 6455's (one digit off).
const WRONG_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B12";

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
    // Whatever followed the head already belongs to the frames.
    let (buf, deflate) = match timeout(HANDSHAKE_TIMEOUT, handshake(&mut stream, defect)).await {
        Ok(Ok(Some(upgraded))) => upgraded,
        Ok(Ok(None)) => return Ok(()),
        Ok(Err(e)) => return Err(e),
        Err(_elapsed) => return Ok(()),
    };
    echo(stream, buf, defect, deflate).await
}

/// Serves the frames of an upgraded connection until it ends; `buf` holds the bytes that came after
/// the request head, `deflate` what was agreed about permessage-deflate.
pub(crate) async fn echo(
    mut stream: TcpStream,
    buf: Vec<u8>,
    defect: Defect,
    deflate: Option<Agreement>,
) -> io::Result<()> {
    let mut session = Session::server(defect, deflate);
    match converse(&mut stream, buf, &mut session).await? {
        Some(step) => finish(stream, step).await,
        // The peer went away without a close frame: nothing more to do.
        None => Ok(()),
    }
}

/// Feeds what arrives on `stream` to `session`, the bytes already read (`buf`) first, and carries
/// out every step that does not end the session: it writes the frames the session sends, and echoes
/// the messages it hands to the application (only a client session does). Returns the step that
/// ends the session, for the caller to carry out or not, or `None` when the peer closed its side
/// first. The hostile peers of both roles use it too.
pub(crate) async fn converse(
    stream: &mut TcpStream,
    mut buf: Vec<u8>,
    session: &mut Session,
) -> io::Result<Option<Step>> {
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
                Step::Message { opcode, payload } => {
                    let echo = session.encode(FrameSpec::new(opcode, payload));
                    stream.write_all(&echo).await?;
                }
                step => break Some(step),
            }
        };
        buf.drain(..pos);
        if end.is_some() {
            return Ok(end);
        }
        buf.reserve(READ_CHUNK);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
    }
}

/// Reads the request head and answers it. Returns the bytes that followed the head after a 101,
/// with what was agreed about permessage-deflate, or `None` when the connection is over (refused,
/// or the peer left).
async fn handshake(
    stream: &mut TcpStream,
    defect: Defect,
) -> io::Result<Option<(Vec<u8>, Option<Agreement>)>> {
    match read_upgrade(stream, defect).await? {
        Upgrade::Accepted {
            response,
            rest,
            deflate,
            ..
        } => {
            stream.write_all(&response.to_bytes()).await?;
            Ok(Some((rest, deflate)))
        }
        Upgrade::Refused(_) if defect == Defect::DropsRefusals => {
            stream.shutdown().await?;
            linger(stream).await;
            Ok(None)
        }
        Upgrade::Refused(refusal) => refuse(stream, &refusal).await.map(|()| None),
        Upgrade::Gone => Ok(None),
    }
}

/// What a client's request head gets, as the reference server answers it (bent by `defect`).
pub(crate) enum Upgrade {
    /// An upgrade: the client's key, the 101 to send, and the bytes that followed the head.
    Accepted {
        /// The `Sec-WebSocket-Key`.
        key: String,
        /// The answer.
        response: Response,
        /// What followed the head: the start of the frames.
        rest: Vec<u8>,
        /// What was agreed about permessage-deflate, if it was accepted.
        deflate: Option<Agreement>,
    },
    /// Not HTTP, or not an acceptable WebSocket upgrade: the error response to send.
    Refused(Answer),
    /// The client left before its head was complete.
    Gone,
}

/// Reads a request head and decides the answer (without sending it).
pub(crate) async fn read_upgrade(stream: &mut TcpStream, defect: Defect) -> io::Result<Upgrade> {
    let head = match defect {
        Defect::AnswersFirstRead => first_read_head(stream).await,
        _ => read_head(stream, HeadReader::request()).await,
    };
    let head = match head {
        Ok(Ok(head)) => head,
        Ok(Err(err)) => return Ok(Upgrade::Refused(handshake::answer_unparsable(&err))),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(Upgrade::Gone),
        Err(err) => return Err(err),
    };
    let mut request = head.value;
    if defect == Defect::DropsLongTargets && request.target.len() > LONG_TARGET {
        return Ok(Upgrade::Gone);
    }
    if defect == Defect::ReadsHeadersNaively && !naive_upgrade(&head.bytes) {
        // It sees no upgrade: the answer is the reference server's to a request without one.
        request.remove_header("Upgrade");
    }
    let key = request
        .header("sec-websocket-key")
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok(match answer(&request, defect) {
        Answer::Upgrade(mut response) => {
            let deflate = negotiate(&request, defect).map(|(params, agreement)| {
                response.set_header("Sec-WebSocket-Extensions", &params.to_string());
                agreement
            });
            bend_response(&mut response, &request, defect);
            Upgrade::Accepted {
                key,
                response,
                rest: head.rest,
                deflate,
            }
        }
        refusal => Upgrade::Refused(refusal),
    })
}

/// The request head as [`Defect::AnswersFirstRead`] reads it: what one read brought, malformed when
/// that is not a whole head.
async fn first_read_head(stream: &mut TcpStream) -> io::Result<Result<Head<Request>, HeadError>> {
    let mut reader = HeadReader::request();
    if stream.read_buf(reader.buffer()).await? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(reader.head().transpose().unwrap_or_else(|| {
        Err(HeadError::Malformed(
            "the head did not come in one read".into(),
        ))
    }))
}

/// The longest request target [`Defect::DropsLongTargets`] reads.
const LONG_TARGET: usize = 8 * 1024;

/// Whether a request head holds the line `Upgrade: websocket` exactly, the only upgrade that
/// [`Defect::ReadsHeadersNaively`] sees.
fn naive_upgrade(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.splitn(2, |&b| b == b':')
            .collect::<Vec<_>>()
            .as_slice()
            .eq(&[b"Upgrade".as_slice(), b" websocket".as_slice()])
    })
}

/// Sends a refusal and closes.
pub(crate) async fn refuse(stream: &mut TcpStream, refusal: &Answer) -> io::Result<()> {
    stream.write_all(&refusal.to_bytes()).await?;
    stream.shutdown().await?;
    linger(stream).await;
    Ok(())
}

/// The permessage-deflate response to the first offer the server can accept, and what it agrees
/// (RFC 7692 §7): offers with unknown, repeated or invalid parameters are declined (accepted as a
/// plain `permessage-deflate` by [`Defect::DeflateAcceptsInvalidOffer`], and from a malformed header
/// by [`Defect::DeflateAcceptsMalformedOffer`]), and so is a 2^8 window for
/// the server, which zlib cannot compress with.
fn negotiate(request: &Request, defect: Defect) -> Option<(DeflateParams, Agreement)> {
    let accepts_malformed = defect == Defect::DeflateAcceptsMalformedOffer
        && request
            .header_values("sec-websocket-extensions")
            .any(|value| extension_list_problem(value).is_some());
    request
        .header_values("sec-websocket-extensions")
        .flat_map(parse_extensions)
        .filter(|offer| offer.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .filter_map(|offer| match DeflateParams::parse(&offer.params) {
            Err(_) if defect == Defect::DeflateAcceptsInvalidOffer || accepts_malformed => {
                Some(DeflateParams::default())
            }
            parsed => parsed.ok(),
        })
        .find(|offer| offer.server_max_window_bits != Some(8))
        .map(|offer| {
            let mut response = DeflateParams {
                server_no_context_takeover: offer.server_no_context_takeover,
                server_max_window_bits: offer.server_max_window_bits,
                ..DeflateParams::default()
            };
            if defect == Defect::DeflateUnofferedParameter && offer.client_max_window_bits.is_none()
            {
                response.client_max_window_bits = Some(Some(15));
            }
            let mut agreement = Agreement::of(&offer, &response);
            if defect == Defect::DeflateTrustsContextHint {
                agreement.client.no_context_takeover |= offer.client_no_context_takeover;
            }
            (response, agreement)
        })
}

/// The reference server's answer to the request as the handshake defects read it (the 101 is bent
/// afterwards, by [`bend_response`]).
fn answer(request: &Request, defect: Defect) -> Answer {
    let mut request = request.clone();
    match defect {
        Defect::AcceptsAnyVersion => request.set_header("Sec-WebSocket-Version", "13"),
        Defect::AcceptsMissingKey if request.header("sec-websocket-key").is_none() => {
            request.set_header("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==");
        }
        Defect::AcceptsPost if request.method == "POST" => request.method = "GET".into(),
        // Its check of the offer is left out; `negotiate` accepts what it can read of it.
        Defect::DeflateAcceptsMalformedOffer => {
            let malformed = request
                .header_values("sec-websocket-extensions")
                .any(|value| extension_list_problem(value).is_some());
            if malformed {
                request.remove_header("Sec-WebSocket-Extensions");
            }
        }
        // Refused as a request without a key is: 400 Bad Request.
        Defect::RejectsAbsoluteForm if !request.target.starts_with('/') => {
            request.remove_header("Sec-WebSocket-Key");
        }
        _ => {}
    }
    handshake::answer(&request, &ServerPolicy::default())
}

/// Bends the reference server's 101 to `request` (its permessage-deflate answer in place) as the
/// response defects say; leaves it as it is otherwise.
fn bend_response(response: &mut Response, request: &Request, defect: Defect) {
    let accepted = response
        .header("sec-websocket-extensions")
        .map(str::to_owned);
    let first_offered = request
        .header_values("sec-websocket-protocol")
        .flat_map(list_items)
        .next();
    match defect {
        Defect::WrongAcceptGuid => {
            let key = request
                .header("sec-websocket-key")
                .unwrap_or_default()
                .trim();
            response.set_header(
                "Sec-WebSocket-Accept",
                &accept_key_with_guid(key, WRONG_GUID),
            );
        }
        Defect::UpgradesWithoutUpgradeHeader => response.remove_header("Upgrade"),
        Defect::AcceptsUnofferedExtension
            if request.header("sec-websocket-extensions").is_none() =>
        {
            response.set_header("Sec-WebSocket-Extensions", "x-wsspec-unoffered");
        }
        Defect::SelectsUnofferedSubprotocol
            if request.header("sec-websocket-protocol").is_some() =>
        {
            response.set_header("Sec-WebSocket-Protocol", "wsspec.unoffered");
        }
        Defect::DeflateAnswersUnknownParameter | Defect::DeflateQuotesNonToken => {
            if let Some(accepted) = accepted {
                let extra = match defect {
                    Defect::DeflateAnswersUnknownParameter => "; x-wsspec-server",
                    _ => "; client_max_window_bits=\"1 5\"",
                };
                response.set_header("Sec-WebSocket-Extensions", &format!("{accepted}{extra}"));
            }
        }
        Defect::EchoesExtensionOffer => {
            if let Some(offer) = request.header("sec-websocket-extensions") {
                response.set_header("Sec-WebSocket-Extensions", offer);
            }
        }
        Defect::DuplicatesResponseFields => {
            // The first offered subprotocol selected in two fields; the fields there once, twice.
            let mut extra: Vec<(String, String)> = Vec::new();
            if let Some(protocol) = first_offered {
                extra.push(("Sec-WebSocket-Protocol".into(), protocol.clone()));
                extra.push(("Sec-WebSocket-Protocol".into(), protocol));
            }
            extra.extend(accepted.map(|value| ("Sec-WebSocket-Extensions".into(), value)));
            let accept = response.header("sec-websocket-accept").map(str::to_owned);
            extra.extend(accept.map(|value| ("Sec-WebSocket-Accept".into(), value)));
            response.headers.extend(extra);
        }
        _ => {}
    }
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
        Step::Closed {
            reply, close_tcp, ..
        } => {
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
        Step::Continue | Step::Send(_) | Step::Message { .. } => {}
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
