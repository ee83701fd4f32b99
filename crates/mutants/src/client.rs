//! Deliberately broken WebSocket *clients*, one defect each, that drive a fuzzing server
//! (`wsspec client`, or Autobahn's fuzzingserver) as echo peers.
//!
//! [`drive`] runs the usual loop of `wsspec_reference::client::drive_client` (getCaseCount, then
//! runCase and reportObservation for every case, then updateReports) with a client written on
//! the sans-IO codec of `wsspec-wire`. [`ClientDefect::None`] is the control: a correct client.
//! It
//!
//! - sends `Host`, `Sec-WebSocket-Version: 13` and a fresh random 16-byte key per connection, and
//!   fails the connection (closes TCP without sending a frame) unless the answer is exactly right:
//!   status 101, `Upgrade: websocket`, an `upgrade` token in `Connection`, the exact
//!   `Sec-WebSocket-Accept`, and no subprotocol or extension it did not offer;
//! - masks every frame with a fresh random key;
//! - echoes text and binary messages (reassembling fragments, checking the UTF-8 of text as it
//!   arrives) and answers pings with pongs;
//! - fails the connection with a close frame and then closes TCP: 1002 on a masked server frame,
//!   RSV bits, a reserved opcode, a fragmented or oversized control frame, a stray continuation,
//!   a new message inside a fragmented one, or an invalid close payload or code; 1007 on text or
//!   a close reason that is not UTF-8; 1009 on a message over [`crate::MAX_MESSAGE_LEN`];
//! - answers a close frame with a close frame echoing its code (none for an empty one), then waits
//!   up to 2 s for the server to close TCP before closing it itself;
//! - reports what its application saw: the close code and reason of the server's close frame
//!   (1005 for an empty one), cleanly; 1006, not cleanly, when it failed the connection or the
//!   server dropped TCP without a close frame.
//!
//! Each other variant of [`ClientDefect`] changes exactly one of these rules. The clients keep no
//! more than [`crate::MAX_MESSAGE_LEN`] bytes of a message in memory, speak `ws://` (and `wss://`
//! through [`drive_tls`], with SNI, trusting the certificates given), and never panic on what a
//! server sends.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, ServerName, pem::PemObject},
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::{Host, Url};
use wsspec_reference::client::{
    BoxError, CaseClient, DriveError, DriveOptions, DriveSummary, Observation, drive_client,
};
use wsspec_reference::head::read_head;
use wsspec_wire::{
    Extension, FrameDecoder, FrameSpec, HeadReader, Opcode, Request, Response, accept_key,
    deflate::{Agreement, DeflateParams, PERMESSAGE_DEFLATE},
    encode_frame, generate_key, header_has_token, parse_extensions,
};

use crate::ClientDefect;
use crate::session::{Session, Step};

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How long the client waits for the server to close TCP after the close handshake, or after
/// failing the connection, before it closes TCP itself.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How long the opening handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every case of the fuzzing server at `base_url` for `agent` with a client that has
/// `defect`, and calls `/updateReports` at the end. Case ids are not asked for.
///
/// # Errors
///
/// As `wsspec_reference::client::drive`: a bad URL, or `/getCaseCount` or `/updateReports`
/// failing. Cases whose connections fail are observed, not errors.
pub async fn drive(
    base_url: &str,
    agent: &str,
    defect: ClientDefect,
) -> Result<DriveSummary, DriveError> {
    let options = DriveOptions {
        case_ids: false,
        close_timeout: CLOSE_WAIT,
        ..DriveOptions::default()
    };
    drive_client(
        &mut MutantClient { defect, tls: None },
        base_url,
        agent,
        &options,
        |_| {},
    )
    .await
}

/// [`drive`] for a `wss://` fuzzing server whose certificate is among `trusted_pem` (PEM text, such
/// as what `wsspec client --tls --write-cert FILE` writes).
///
/// # Errors
///
/// As [`drive`], and when the certificates do not load.
pub async fn drive_tls(
    base_url: &str,
    agent: &str,
    defect: ClientDefect,
    trusted_pem: &str,
) -> Result<DriveSummary, DriveError> {
    let bad_certificates = |reason: String| DriveError::BadUrl {
        url: base_url.to_owned(),
        reason: format!("the certificates to trust do not load: {reason}"),
    };
    let trusted: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(trusted_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|err| bad_certificates(err.to_string()))?;
    let config = tls_config(&trusted).map_err(|err| bad_certificates(err.to_string()))?;
    let options = DriveOptions {
        case_ids: false,
        close_timeout: CLOSE_WAIT,
        ..DriveOptions::default()
    };
    let mut client = MutantClient {
        defect,
        tls: Some(config),
    };
    drive_client(&mut client, base_url, agent, &options, |_| {}).await
}

/// A TLS client configuration that trusts `trusted` only (rustls with ring, set per connection).
fn tls_config(trusted: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, rustls::Error> {
    let mut roots = RootCertStore::empty();
    for cert in trusted {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens `url` once with a client that has `defect` and echoes until the connection ends, as
/// [`drive`] does for each case; returns what its application saw. For a server that hands out one
/// URL per connection, such as the client fuzzer (`wsspec fuzz --client`).
pub async fn echo_once(url: &Url, defect: ClientDefect) -> Observation {
    MutantClient { defect, tls: None }.echo(url).await
}

/// The [`CaseClient`] of a mutant.
#[derive(Debug)]
struct MutantClient {
    defect: ClientDefect,
    /// How to speak `wss://`, if at all.
    tls: Option<Arc<ClientConfig>>,
}

/// A byte stream to the server: TCP, or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// What the application does with the messages it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum App {
    /// Send each one back with the same type.
    Echo,
    /// Keep the first text message.
    KeepFirstText,
}

impl CaseClient for MutantClient {
    async fn fetch_text(&mut self, url: &Url) -> Result<Option<String>, BoxError> {
        let connection = Connection::open(url, self.defect, self.tls.as_ref()).await?;
        Ok(connection.converse(App::KeepFirstText).await.0)
    }

    async fn echo(&mut self, url: &Url) -> Observation {
        match Connection::open(url, self.defect, self.tls.as_ref()).await {
            Ok(connection) => connection.converse(App::Echo).await.1,
            Err(_) => Observation::abnormal(),
        }
    }
}

/// An open WebSocket connection: the opening handshake is done.
struct Connection {
    stream: Box<dyn Stream>,
    /// Bytes read but not yet decoded (the first ones may have come with the handshake answer).
    buf: Vec<u8>,
    session: Session,
    defect: ClientDefect,
}

impl Connection {
    /// Connects to `url` and performs the opening handshake. A wrong answer closes TCP without
    /// sending anything and is an error.
    async fn open(
        url: &Url,
        defect: ClientDefect,
        tls: Option<&Arc<ClientConfig>>,
    ) -> Result<Connection, BoxError> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::handshake(url, defect, tls))
            .await
            .unwrap_or_else(|_| Err("the opening handshake timed out".into()))
    }

    async fn handshake(
        url: &Url,
        defect: ClientDefect,
        tls: Option<&Arc<ClientConfig>>,
    ) -> Result<Connection, BoxError> {
        // The case connections carry a request defect; the harness's control URLs
        // (getCaseCount, updateReports) get a correct request, as they are not under test.
        let defect = match url.path() {
            "/runCase" => defect,
            _ => ClientDefect::None,
        };
        let mut stream = connect(url, defect, tls).await?;
        let key = match defect {
            ClientDefect::ReusesKey => REUSED_KEY.to_owned(),
            ClientDefect::RequestsWithShortKey => "AAAA".to_owned(),
            ClientDefect::RequestsWithoutKey => String::new(),
            _ => generate_key(rand::random()),
        };
        let target = match defect {
            ClientDefect::RequestsWsUri => url.to_string(),
            _ => target(url),
        };
        let mut request = Request::websocket(&host_header(url), &target, &key);
        bend(&mut request, defect);
        if let Some(offer) = deflate_offer(defect) {
            request.set_header("Sec-WebSocket-Extensions", offer);
        }
        let mut opening = request.to_bytes();
        match defect {
            ClientDefect::SendsBeforeResponse => {
                let ping = FrameSpec::new(Opcode::Ping, b"early".to_vec());
                opening.extend(encode_frame(&ping.with_mask(Some(rand::random()))));
            }
            ClientDefect::AbandonsRequest => {
                // Everything but the final CRLF, then the connection closes.
                opening.truncate(opening.len() - 2);
                stream.write_all(&opening).await?;
                stream.shutdown().await?;
                return Err("the client abandoned its opening handshake".into());
            }
            _ => {}
        }
        stream.write_all(&opening).await?;

        let head = match read_head(&mut stream, HeadReader::response()).await {
            Ok(head) => head?,
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                return Err("the server closed the connection during the handshake".into());
            }
            Err(err) => return Err(err.into()),
        };
        let deflate = check_upgrade(&head.value, &key, defect)?;
        Ok(Connection {
            stream,
            // Whatever followed the head already belongs to the frames.
            buf: head.rest,
            session: Session::client(defect, deflate),
            defect,
        })
    }

    /// Reads frames and acts on them until the connection ends. Returns the first text message
    /// (for [`App::KeepFirstText`]) and what the application saw.
    async fn converse(mut self, app: App) -> (Option<String>, Observation) {
        let mut first_text = None;
        let mut decoder = FrameDecoder::new();
        loop {
            let mut pos = 0;
            let end = loop {
                let (used, event) = decoder.decode(&mut self.buf[pos..]);
                pos += used;
                let Some(event) = event else { break None };
                let written = match self.session.on_event(event) {
                    Step::Continue => Ok(()),
                    Step::Send(frame) => self.stream.write_all(&frame).await,
                    Step::Message { opcode, payload } => match app {
                        App::Echo => {
                            let echo = self.session.encode_message(opcode, payload);
                            self.stream.write_all(&echo).await
                        }
                        App::KeepFirstText => {
                            if opcode == Opcode::Text && first_text.is_none() {
                                first_text = Some(String::from_utf8_lossy(&payload).into_owned());
                            }
                            Ok(())
                        }
                    },
                    step => break Some(step),
                };
                if written.is_err() {
                    return (first_text, self.dropped());
                }
            };
            self.buf.drain(..pos);
            if let Some(step) = end {
                return (first_text, self.finish(step).await);
            }
            self.buf.reserve(READ_CHUNK);
            match self.stream.read_buf(&mut self.buf).await {
                Ok(1..) => {}
                // The server went away without a close frame (or the socket broke).
                Ok(0) | Err(_) => return (first_text, self.dropped()),
            }
        }
    }

    /// Carries out a step that ends the session and returns what the application saw.
    async fn finish(mut self, step: Step) -> Observation {
        let (frame, observation) = match step {
            Step::Fail { code, reason } => (
                Some(
                    self.session
                        .encode(FrameSpec::close(Some(code), reason.as_bytes())),
                ),
                Observation::abnormal(),
            ),
            Step::Closed {
                reply, observation, ..
            } => (reply, observation),
            Step::Continue | Step::Send(_) | Step::Message { .. } => {
                return Observation::abnormal();
            }
        };
        let written = match frame {
            Some(frame) => self.stream.write_all(&frame).await.is_ok(),
            None => true,
        };
        if written {
            // The server closes TCP first (RFC 6455 §7.1.1); give it a moment, then close.
            let mut sink = [0u8; 4096];
            let rest = async { while let Ok(1..) = self.stream.read(&mut sink).await {} };
            let _ = tokio::time::timeout(CLOSE_WAIT, rest).await;
        }
        observation
    }

    /// What the application sees when the connection ended without a close frame.
    fn dropped(&self) -> Observation {
        match self.defect {
            ClientDefect::Reports1000AfterDrop => {
                Observation::closed(Some(wsspec_wire::CloseCode::NORMAL.0), "")
            }
            _ => Observation::abnormal(),
        }
    }
}

/// The key [`ClientDefect::ReusesKey`] sends on every connection.
const REUSED_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Opens TCP to `url`'s host, and TLS over it for `wss://` (unless `defect` skips it or leaves out
/// SNI).
async fn connect(
    url: &Url,
    defect: ClientDefect,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<Box<dyn Stream>, BoxError> {
    let secure = match url.scheme() {
        "ws" => false,
        "wss" => true,
        _ => return Err(format!("mutant clients speak ws:// and wss://, not {url}").into()),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = match url.host() {
        Some(Host::Domain(name)) => TcpStream::connect((name, port)).await?,
        Some(Host::Ipv4(addr)) => TcpStream::connect((addr, port)).await?,
        Some(Host::Ipv6(addr)) => TcpStream::connect((addr, port)).await?,
        None => return Err(format!("{url} has no host").into()),
    };
    tcp.set_nodelay(true)?;
    if !secure || defect == ClientDefect::SkipsTls {
        return Ok(Box::new(tcp));
    }
    let Some(config) = tls else {
        return Err(format!("{url}: wss:// needs the certificates to trust (drive_tls)").into());
    };
    let mut config = Arc::clone(config);
    if defect == ClientDefect::SendsNoSni {
        let mut without_sni = (*config).clone();
        without_sni.enable_sni = false;
        config = Arc::new(without_sni);
    }
    let host = url.host_str().unwrap_or_default();
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())?;
    let stream = TlsConnector::from(config).connect(name, tcp).await?;
    if defect == ClientDefect::LeavesTls {
        // The handshake is done; what follows goes on the TCP beneath, in the clear.
        return Ok(Box::new(stream.into_inner().0));
    }
    Ok(Box::new(stream))
}

/// Bends a correct opening handshake as a request defect says; leaves it as it is otherwise.
fn bend(request: &mut Request, defect: ClientDefect) {
    let duplicate = |request: &mut Request, name: &str, value: String| {
        request.headers.push((name.to_owned(), value));
    };
    match defect {
        ClientDefect::RequestsWithPost => request.method = "POST".into(),
        ClientDefect::RequestsWithHttp10 => request.version = "HTTP/1.0".into(),
        ClientDefect::RequestsWithoutHost => request.remove_header("Host"),
        ClientDefect::RequestsWithoutUpgrade => request.remove_header("Upgrade"),
        ClientDefect::RequestsWithoutConnection => request.remove_header("Connection"),
        ClientDefect::RequestsWithoutKey => request.remove_header("Sec-WebSocket-Key"),
        ClientDefect::RequestsWithTwoKeys => {
            duplicate(request, "Sec-WebSocket-Key", generate_key(rand::random()));
        }
        ClientDefect::RequestsWithoutVersion => request.remove_header("Sec-WebSocket-Version"),
        ClientDefect::RequestsVersion8 => request.set_header("Sec-WebSocket-Version", "8"),
        ClientDefect::RequestsWithTwoVersions => {
            duplicate(request, "Sec-WebSocket-Version", "13".into());
        }
        ClientDefect::OffersInvalidSubprotocol => {
            request.set_header("Sec-WebSocket-Protocol", "chat v1");
        }
        ClientDefect::SendsMalformedHeader => {
            request.remove_header("Sec-WebSocket-Version");
            duplicate(request, "Sec-WebSocket-Version ", "13".into());
        }
        _ => {}
    }
}

/// The `Host` header for `url`: the host, and the port when it is not the scheme's default.
pub(crate) fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The request target for `url`: its path and query.
pub(crate) fn target(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The `Sec-WebSocket-Extensions` offer of a client that offers permessage-deflate.
fn deflate_offer(defect: ClientDefect) -> Option<&'static str> {
    match defect {
        ClientDefect::DeflateOffersInvalidWindow => {
            Some("permessage-deflate; server_max_window_bits=16; client_max_window_bits=0")
        }
        ClientDefect::DeflateAcceptsConflictingExtension => {
            Some("permessage-deflate; client_max_window_bits, x-webkit-deflate-frame")
        }
        _ if defect.offers_deflate() => Some("permessage-deflate; client_max_window_bits"),
        _ => None,
    }
}

/// Checks the server's answer to the opening handshake (RFC 6455 §4.1, the client's checks) and
/// returns what it agreed about permessage-deflate.
fn check_upgrade(
    response: &Response,
    key: &str,
    defect: ClientDefect,
) -> Result<Option<Agreement>, String> {
    if response.status != 101 {
        return Err(format!("status {}, not 101", response.status));
    }
    let has_token = |name: &str, token: &str| {
        response
            .header_values(name)
            .any(|value| header_has_token(value, token))
    };
    if !has_token("upgrade", "websocket") {
        return Err("no Upgrade: websocket".into());
    }
    if !has_token("connection", "upgrade") {
        return Err("no upgrade token in Connection".into());
    }
    let accept = response.header("sec-websocket-accept").map(str::trim);
    if defect != ClientDefect::IgnoresWrongAccept && accept != Some(accept_key(key).as_str()) {
        return Err(format!("Sec-WebSocket-Accept is {accept:?}"));
    }
    // No subprotocol was offered, so none may be selected.
    if let Some(value) = response.header("sec-websocket-protocol") {
        return Err(format!("sec-websocket-protocol: {value} was not offered"));
    }
    let accepted: Vec<Extension> = response
        .header_values("sec-websocket-extensions")
        .flat_map(parse_extensions)
        .filter(|extension| {
            defect != ClientDefect::DeflateAcceptsConflictingExtension
                || !extension
                    .name
                    .eq_ignore_ascii_case("x-webkit-deflate-frame")
        })
        .collect();
    match accepted.as_slice() {
        [] if defect == ClientDefect::DeflateCompressesUnaccepted => {
            let offer = DeflateParams::default();
            Ok(Some(Agreement::of(&offer, &offer)))
        }
        [] => Ok(None),
        [deflate]
            if defect.offers_deflate() && deflate.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) =>
        {
            let answer = match DeflateParams::parse(&deflate.params) {
                _ if defect == ClientDefect::DeflateAcceptsInvalidResponse => {
                    leniently(&deflate.params)
                }
                // A response's client_max_window_bits needs a value (RFC 7692 §7.1.2.2).
                Ok(answer) if answer.client_max_window_bits == Some(None) => {
                    return Err("client_max_window_bits without a value".into());
                }
                Ok(answer)
                    if answer.client_no_context_takeover
                        && defect == ClientDefect::DeflateRefusesNoContextTakeover =>
                {
                    return Err("client_no_context_takeover is not supported".into());
                }
                Ok(answer) => answer,
                Err(err) => return Err(format!("permessage-deflate response: {err}")),
            };
            let offer = DeflateParams {
                client_max_window_bits: Some(None),
                ..DeflateParams::default()
            };
            Ok(Some(Agreement::of(&offer, &answer)))
        }
        _ => Err(format!(
            "sec-websocket-extensions: {} was not offered",
            response
                .header("sec-websocket-extensions")
                .unwrap_or_default()
        )),
    }
}

/// The response parameters that [`ClientDefect::DeflateAcceptsInvalidResponse`] reads: each one that
/// is valid on its own, the others ignored.
fn leniently(params: &[(String, Option<String>)]) -> DeflateParams {
    let mut answer = DeflateParams::default();
    for param in params {
        let Ok(one) = DeflateParams::parse(std::slice::from_ref(param)) else {
            continue;
        };
        answer.server_no_context_takeover |= one.server_no_context_takeover;
        answer.client_no_context_takeover |= one.client_no_context_takeover;
        answer.server_max_window_bits =
            one.server_max_window_bits.or(answer.server_max_window_bits);
        if let Some(Some(bits)) = one.client_max_window_bits {
            answer.client_max_window_bits = Some(Some(bits));
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;
    use wsspec_wire::{DecodeEvent, FrameHeader, Request, accept_key_with_guid, encode_frame};

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn the_handshake_answer_is_checked_fully() {
        let good = Response::switching_protocols(KEY);
        assert_eq!(check_upgrade(&good, KEY, ClientDefect::None), Ok(None));

        let mut lenient = good.clone();
        lenient.set_header("Upgrade", "WebSocket");
        lenient.set_header("Connection", "keep-alive, Upgrade");
        assert_eq!(check_upgrade(&lenient, KEY, ClientDefect::None), Ok(None));

        let mut edits: Vec<Response> = Vec::new();
        let mut status = good.clone();
        status.status = 200;
        edits.push(status);
        for header in ["Upgrade", "Connection", "Sec-WebSocket-Accept"] {
            let mut missing = good.clone();
            missing.remove_header(header);
            edits.push(missing);
        }
        let mut upgrade = good.clone();
        upgrade.set_header("Upgrade", "h2c");
        edits.push(upgrade);
        let mut subprotocol = good.clone();
        subprotocol.set_header("Sec-WebSocket-Protocol", "chat");
        edits.push(subprotocol);
        let mut extension = good.clone();
        extension.set_header("Sec-WebSocket-Extensions", "permessage-deflate");
        edits.push(extension);
        for response in &edits {
            assert!(
                check_upgrade(response, KEY, ClientDefect::None).is_err(),
                "{response:?}"
            );
        }

        let mut wrong = good;
        let wrong_accept = accept_key_with_guid(KEY, "not the GUID");
        wrong.set_header("Sec-WebSocket-Accept", &wrong_accept);
        assert!(check_upgrade(&wrong, KEY, ClientDefect::None).is_err());
        assert_eq!(
            check_upgrade(&wrong, KEY, ClientDefect::IgnoresWrongAccept),
            Ok(None)
        );
    }

    #[test]
    fn request_parts_come_from_the_url() {
        let url = Url::parse("ws://127.0.0.1:9001/runCase?case=1&agent=a+b").unwrap();
        assert_eq!(host_header(&url), "127.0.0.1:9001");
        assert_eq!(target(&url), "/runCase?case=1&agent=a+b");
        let url = Url::parse("ws://example.com/getCaseCount").unwrap();
        assert_eq!(host_header(&url), "example.com");
        assert_eq!(target(&url), "/getCaseCount");
    }

    /// How the one-connection test server below answers and what it then sends.
    #[derive(Clone, Copy)]
    enum Script {
        /// Sends a text and a binary message, reads both echoes, closes with 1000 "done".
        EchoThenClose,
        /// Sends a text message, reads its echo, drops TCP.
        EchoThenDrop,
        /// Answers with a wrong Sec-WebSocket-Accept, then sends a text message.
        WrongAccept,
        /// Sends a masked text frame.
        MaskedFrame,
    }

    /// Reads one frame the client sent: (header, unmasked payload), or `None` at end of stream.
    async fn read_frame(
        stream: &mut TcpStream,
        buf: &mut Vec<u8>,
    ) -> Option<(FrameHeader, Vec<u8>)> {
        let mut decoder = FrameDecoder::new();
        let mut header = None;
        let mut payload = Vec::new();
        loop {
            let mut pos = 0;
            loop {
                let (used, event) = decoder.decode(&mut buf[pos..]);
                pos += used;
                match event {
                    Some(DecodeEvent::Header(h)) => header = Some(h),
                    Some(DecodeEvent::Payload(chunk)) => payload.extend_from_slice(chunk),
                    Some(DecodeEvent::End) => {
                        buf.drain(..pos);
                        return Some((header?, payload));
                    }
                    None => break,
                }
            }
            buf.drain(..pos);
            if stream.read_buf(buf).await.ok()? == 0 {
                return None;
            }
        }
    }

    /// Serves one connection following `script`, and returns the frames the client sent
    /// (opcode, masked, payload) up to the end of its stream.
    async fn serve(listener: TcpListener, script: Script) -> Vec<(Opcode, bool, Vec<u8>)> {
        let (mut stream, _) = listener.accept().await.unwrap();
        let head = read_head(&mut stream, HeadReader::request())
            .await
            .unwrap()
            .unwrap();
        let (request, mut buf) = (head.value, head.rest);
        check_request(&request);
        let key = request.header("sec-websocket-key").unwrap();
        let mut response = Response::switching_protocols(key);
        if let Script::WrongAccept = script {
            response.set_header("Sec-WebSocket-Accept", &accept_key_with_guid(key, "wrong"));
        }
        stream.write_all(&response.to_bytes()).await.unwrap();
        let first = match script {
            Script::MaskedFrame => FrameSpec::text("masked").with_mask(Some([9, 8, 7, 6])),
            _ => FrameSpec::text("hello"),
        };
        stream.write_all(&encode_frame(&first)).await.unwrap();
        let mut seen = Vec::new();
        let mut record = |frame: Option<(FrameHeader, Vec<u8>)>| match frame {
            Some((h, payload)) => {
                seen.push((h.opcode, h.mask.is_some(), payload));
                true
            }
            None => false,
        };
        match script {
            Script::EchoThenClose => {
                let echo = read_frame(&mut stream, &mut buf).await;
                record(echo);
                let binary = FrameSpec::binary(vec![1, 2, 3]);
                stream.write_all(&encode_frame(&binary)).await.unwrap();
                let echo = read_frame(&mut stream, &mut buf).await;
                record(echo);
                let close = FrameSpec::close(Some(wsspec_wire::CloseCode::NORMAL), b"done");
                stream.write_all(&encode_frame(&close)).await.unwrap();
                let reply = read_frame(&mut stream, &mut buf).await;
                record(reply);
                // The server closes TCP first.
            }
            Script::EchoThenDrop => {
                let echo = read_frame(&mut stream, &mut buf).await;
                record(echo);
            }
            Script::WrongAccept | Script::MaskedFrame => {
                // The client's answer to the first frame, if any; then the server goes.
                let answer = read_frame(&mut stream, &mut buf).await;
                record(answer);
            }
        }
        seen
    }

    /// The client's request: GET, version 13, Host, a 16-byte base64 key, nothing offered.
    fn check_request(request: &Request) {
        assert_eq!(request.method, "GET");
        assert!(request.header("host").unwrap().starts_with("127.0.0.1:"));
        assert_eq!(request.header("sec-websocket-version"), Some("13"));
        assert_eq!(request.header("sec-websocket-key").unwrap().len(), 24);
        assert!(request.header("sec-websocket-protocol").is_none());
        assert!(request.header("sec-websocket-extensions").is_none());
    }

    /// Runs `script` against a client with `defect` echoing; returns the observation and the
    /// frames the server got.
    async fn run(
        script: Script,
        defect: ClientDefect,
    ) -> (Observation, Vec<(Opcode, bool, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!(
            "ws://{}/runCase?case=1&agent=t",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let server = tokio::spawn(serve(listener, script));
        let observation = MutantClient { defect, tls: None }.echo(&url).await;
        (observation, server.await.unwrap())
    }

    #[tokio::test]
    async fn echoes_masked_and_closes_cleanly() {
        let (observation, seen) = run(Script::EchoThenClose, ClientDefect::None).await;
        assert_eq!(observation, Observation::closed(Some(1000), "done"));
        assert_eq!(
            seen,
            [
                (Opcode::Text, true, b"hello".to_vec()),
                (Opcode::Binary, true, vec![1, 2, 3]),
                (Opcode::Close, true, 1000u16.to_be_bytes().to_vec()),
            ]
        );
        let (_, seen) = run(Script::EchoThenClose, ClientDefect::SendsUnmasked).await;
        assert!(seen.iter().all(|(_, masked, _)| !masked), "{seen:?}");
    }

    #[tokio::test]
    async fn a_dropped_connection_is_1006_unless_misreported() {
        let (observation, seen) = run(Script::EchoThenDrop, ClientDefect::None).await;
        assert_eq!(seen.len(), 1);
        assert_eq!(observation, Observation::abnormal());
        let (observation, _) = run(Script::EchoThenDrop, ClientDefect::Reports1000AfterDrop).await;
        assert_eq!(observation, Observation::closed(Some(1000), ""));
    }

    #[tokio::test]
    async fn a_wrong_accept_ends_the_connection_before_any_frame() {
        let (observation, seen) = run(Script::WrongAccept, ClientDefect::None).await;
        assert_eq!((observation, seen), (Observation::abnormal(), vec![]));
        let (_, seen) = run(Script::WrongAccept, ClientDefect::IgnoresWrongAccept).await;
        assert_eq!(seen, [(Opcode::Text, true, b"hello".to_vec())]);
    }

    #[tokio::test]
    async fn a_masked_server_frame_fails_the_connection() {
        let (observation, seen) = run(Script::MaskedFrame, ClientDefect::None).await;
        assert_eq!(observation, Observation::abnormal());
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, Opcode::Close);
        assert_eq!(seen[0].2[..2], 1002u16.to_be_bytes());
        let (_, seen) = run(Script::MaskedFrame, ClientDefect::AcceptsMaskedServerFrames).await;
        assert_eq!(seen, [(Opcode::Text, true, b"masked".to_vec())]);
    }
}
