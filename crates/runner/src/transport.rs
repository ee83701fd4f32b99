//! The byte streams under a case: plain TCP for `ws://` targets, TLS over TCP (rustls) for `wss://`.
//!
//! [`connect`] opens the TCP connection, does the TLS handshake when the target asks for it, and hands
//! back a [`Reader`] and a [`Writer`] that the reader task and the case executor own separately. Both are
//! enums over the two kinds of stream, so a plain connection keeps tokio's lock-free TCP halves and pays
//! nothing for TLS being possible; a TLS stream is shared between its halves by [`tokio::io::split`].
//!
//! TLS uses rustls with the *ring* provider, installed in each configuration rather than process-wide.
//! What is trusted is a [`TlsOptions`]: Mozilla's root certificates (webpki-roots), the operating
//! system's store (rustls-native-certs), extra certificates (`--ca`), or anything at all (`--insecure`:
//! the certificate is not checked, but the handshake signatures still are, so the session is still
//! bound to the certificate's key).
//!
//! At the end of a connection, shutting down the [`Writer`] sends TLS `close_notify` before the TCP FIN.
//! RFC 6455 does not ask peers for `close_notify`, and many WebSocket servers drop TCP without it, so a
//! peer that does so is read as closing TCP, not as a read error.

use std::{
    io,
    net::Shutdown,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    time::Duration,
};

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{
        TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    time::Instant,
};
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

use crate::tls_tap::{Tap, TappedTcp};

use crate::Target;

/// Which certificates a TLS client trusts.
#[derive(Clone, Debug)]
pub struct TlsOptions {
    /// Accept any certificate (`--insecure`), still checking that the server holds its key.
    pub insecure: bool,
    /// Trust Mozilla's root certificates (webpki-roots).
    pub mozilla_roots: bool,
    /// Trust the operating system's certificate store (honours `SSL_CERT_FILE` and `SSL_CERT_DIR`).
    pub system_roots: bool,
    /// Further trusted certificates, e.g. from [`read_ca_file`] or a self-signed server's own.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for TlsOptions {
    /// Mozilla's roots only: nothing read from the system, nothing accepted blindly.
    fn default() -> Self {
        TlsOptions {
            insecure: false,
            mozilla_roots: true,
            system_roots: false,
            extra_roots: Vec::new(),
        }
    }
}

/// The TLS client of a run: its options, and the rustls configuration built from them on the first
/// `wss://` connection (so a `ws://` run never reads the system's store). Cloning it is cheap.
#[derive(Clone, Debug, Default)]
pub struct TlsClient {
    inner: Arc<LazyConfig>,
}

#[derive(Debug, Default)]
struct LazyConfig {
    options: TlsOptions,
    config: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl TlsClient {
    /// A client that trusts what `options` say.
    pub fn new(options: TlsOptions) -> TlsClient {
        TlsClient {
            inner: Arc::new(LazyConfig {
                options,
                config: OnceLock::new(),
            }),
        }
    }

    /// The rustls configuration, built once.
    fn config(&self) -> Result<Arc<ClientConfig>, String> {
        self.inner
            .config
            .get_or_init(|| client_config(&self.inner.options).map(Arc::new))
            .clone()
    }
}

/// The crypto provider: ring, chosen here rather than taken from a process-wide default.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(options: &TlsOptions) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS setup failed: {err}"))?;
    if options.insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    if options.mozilla_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if options.system_roots {
        // A missing or partly unreadable system store is not an error: other roots may do.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
    }
    for cert in &options.extra_roots {
        roots
            .add(cert.clone())
            .map_err(|err| format!("a trusted certificate is not usable as a root: {err}"))?;
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The `--insecure` verifier: any certificate is accepted, but the handshake signatures are verified
/// with the provider's algorithms, as usual.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why a CA file (`--ca`) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// The file cannot be read.
    #[error("cannot read the CA file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not PEM, or a certificate in it is not valid.
    #[error("the CA file {} is not a PEM certificate bundle: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Reads the certificates of a PEM bundle, checking that each one can serve as a trusted root.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let text = std::fs::read(path).map_err(|source| CaFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| CaFileError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(err.to_string()))?;
    if certs.is_empty() {
        return Err(invalid("it holds no CERTIFICATE block".into()));
    }
    let mut check = RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        check
            .add(cert.clone())
            .map_err(|err| invalid(format!("certificate {} is not valid: {err}", i + 1)))?;
    }
    Ok(certs)
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// TCP connect found nobody in time.
    #[error("no answer within {0} ms")]
    TcpTimeout(u128),
    /// TCP connect failed.
    #[error("{0}")]
    Tcp(io::Error),
    /// The TLS handshake did not finish in time.
    #[error("TLS handshake with {host}: no answer within {ms} ms")]
    TlsTimeout {
        /// The server's host.
        host: String,
        /// The deadline.
        ms: u128,
    },
    /// The TLS handshake failed (a certificate error says how to proceed).
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls {
        /// The server's host.
        host: String,
        /// What rustls said.
        reason: String,
    },
}

/// The read half of a connection.
#[derive(Debug)]
pub enum Reader {
    /// Plain TCP.
    Plain(OwnedReadHalf),
    /// TLS over TCP, and the first bytes read off the TCP beneath.
    Tls(tokio::io::ReadHalf<TlsStream<TappedTcp>>, Tap),
}

impl Reader {
    /// What the peer sent in the clear after its TLS records, if it left the tunnel (see
    /// [`Tap::cleartext`]); `None` on plain TCP.
    pub fn cleartext_after_tls(&self) -> Option<Vec<u8>> {
        match self {
            Reader::Plain(_) => None,
            Reader::Tls(_, tap) => tap.cleartext(),
        }
    }
}

/// The write half of a connection. Dropping it sends a TCP FIN, as dropping tokio's TCP write half
/// does: over TLS without `close_notify`, which makes a drop abrupt there too. [`AsyncWriteExt::shutdown`]
/// closes properly, with `close_notify` first.
///
/// [`AsyncWriteExt::shutdown`]: tokio::io::AsyncWriteExt::shutdown
#[derive(Debug)]
pub enum Writer {
    /// Plain TCP.
    Plain(OwnedWriteHalf),
    /// TLS over TCP, and a second handle on the socket to send FIN with on drop.
    Tls(
        tokio::io::WriteHalf<TlsStream<TappedTcp>>,
        std::net::TcpStream,
    ),
}

/// Opens a connection to the target: TCP, then TLS for `wss://` (SNI from the host, an IP address
/// needs a certificate for that address), all within `timeout`.
pub async fn connect(
    target: &Target,
    tls: &TlsClient,
    timeout: Duration,
) -> Result<(Reader, Writer), ConnectError> {
    let deadline = Instant::now() + timeout;
    let tcp = tokio::time::timeout_at(
        deadline,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| ConnectError::TcpTimeout(timeout.as_millis()))?
    .map_err(ConnectError::Tcp)?;
    // Small frames must not wait for Nagle's algorithm; failing to set it only costs latency.
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        let (reader, writer) = tcp.into_split();
        return Ok((Reader::Plain(reader), Writer::Plain(writer)));
    }
    let tls_error = |reason: String| ConnectError::Tls {
        host: target.host.clone(),
        reason,
    };
    let config = tls.config().map_err(tls_error)?;
    let name = ServerName::try_from(target.host.clone())
        .map_err(|err| tls_error(format!("`{}` is not a server name: {err}", target.host)))?;
    let std_tcp = tcp.into_std().map_err(ConnectError::Tcp)?;
    let fin_handle = std_tcp.try_clone().map_err(ConnectError::Tcp)?;
    let tcp = TcpStream::from_std(std_tcp).map_err(ConnectError::Tcp)?;
    let (tcp, tap) = TappedTcp::new(tcp);
    let stream = tokio::time::timeout_at(deadline, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| ConnectError::TlsTimeout {
            host: target.host.clone(),
            ms: timeout.as_millis(),
        })?
        .map_err(|err| tls_error(explain_tls_error(&err)))?;
    Ok(tls_halves(TlsStream::Client(stream), fin_handle, tap))
}

/// The halves of a connection a client opened to the listener (plain TCP).
pub fn accepted_plain(stream: TcpStream) -> (Reader, Writer) {
    // Small frames must not wait for Nagle's algorithm; failing to set it only costs latency.
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    (Reader::Plain(reader), Writer::Plain(writer))
}

/// How a connection a client opened to the listener carries its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Plain TCP, on a plain listener.
    Plain,
    /// TLS, with the host name the client gave in its `server_name` extension (SNI), if any.
    Tls {
        /// The SNI host name.
        server_name: Option<String>,
    },
    /// Plain TCP on a TLS listener: the client's first byte was no TLS handshake record.
    SkippedTls,
}

/// A TLS handshake with a client that failed: why, and what the client sent in the clear behind its
/// TLS records, if that is what broke it.
#[derive(Debug)]
pub struct TlsAcceptError {
    /// What went wrong.
    pub error: io::Error,
    /// The client's bytes after its last TLS record, when they are not TLS.
    pub cleartext: Option<Vec<u8>>,
}

impl From<io::Error> for TlsAcceptError {
    fn from(error: io::Error) -> Self {
        TlsAcceptError {
            error,
            cleartext: None,
        }
    }
}

/// The first byte of a TLS record that carries a handshake message (RFC 8446 §5.1).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The TLS handshake on a connection a client opened to the listener, within `timeout`; a
/// connection whose first byte is no TLS handshake record is left plain ([`Channel::SkippedTls`]).
pub async fn accept_tls(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    timeout: Duration,
) -> Result<(Reader, Writer, Channel), TlsAcceptError> {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(timeout, stream.peek(&mut first))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "nothing sent in time"))??;
    if peeked == 1 && first[0] != TLS_HANDSHAKE_RECORD {
        let (reader, writer) = accepted_plain(stream);
        return Ok((reader, writer, Channel::SkippedTls));
    }
    let std_tcp = stream.into_std()?;
    let fin_handle = std_tcp.try_clone()?;
    let tcp = TcpStream::from_std(std_tcp)?;
    let (tcp, tap) = TappedTcp::new(tcp);
    let stream = tokio::time::timeout(timeout, acceptor.accept(tcp))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no TLS handshake in time"))?
        .map_err(|error| TlsAcceptError {
            error,
            cleartext: tap.cleartext(),
        })?;
    let server_name = stream.get_ref().1.server_name().map(str::to_owned);
    let (reader, writer) = tls_halves(TlsStream::Server(stream), fin_handle, tap);
    Ok((reader, writer, Channel::Tls { server_name }))
}

fn tls_halves(
    stream: TlsStream<TappedTcp>,
    fin_handle: std::net::TcpStream,
    tap: Tap,
) -> (Reader, Writer) {
    let (reader, writer) = tokio::io::split(stream);
    (Reader::Tls(reader, tap), Writer::Tls(writer, fin_handle))
}

/// What rustls said, with a hint for certificate errors.
fn explain_tls_error(err: &io::Error) -> String {
    let rejected_certificate = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|err| matches!(err, rustls::Error::InvalidCertificate(_)));
    if rejected_certificate {
        format!("{err} (use --insecure for a self-signed certificate, or --ca FILE)")
    } else {
        err.to_string()
    }
}

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Reader::Plain(half) => Pin::new(half).poll_read(cx, buf),
            Reader::Tls(half, _) => match Pin::new(half).poll_read(cx, buf) {
                // TCP closed without close_notify: for WebSocket, just the end of the stream.
                Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::UnexpectedEof => {
                    Poll::Ready(Ok(()))
                }
                other => other,
            },
        }
    }
}

impl AsyncWrite for Writer {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Writer::Plain(half) => Pin::new(half).poll_write(cx, buf),
            Writer::Tls(half, _) => Pin::new(half).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Writer::Plain(half) => Pin::new(half).poll_flush(cx),
            Writer::Tls(half, _) => Pin::new(half).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Writer::Plain(half) => Pin::new(half).poll_shutdown(cx),
            Writer::Tls(half, _) => Pin::new(half).poll_shutdown(cx),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Writer::Tls(_, socket) = self {
            // Already shut down, or the peer is gone: nothing left to do either way.
            let _ = socket.shutdown(Shutdown::Write);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wsspec_reference::{EchoConfig, EchoServer, TlsIdentity};

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn trusting(identity: &TlsIdentity) -> TlsClient {
        TlsClient::new(TlsOptions {
            mozilla_roots: false,
            extra_roots: identity.chain().to_vec(),
            ..TlsOptions::default()
        })
    }

    /// A TLS reference server and its identity.
    async fn tls_echo() -> (Target, TlsIdentity) {
        let identity = TlsIdentity::self_signed().unwrap();
        let config = EchoConfig {
            tls: Some(identity.clone()),
            ..EchoConfig::default()
        };
        let server = EchoServer::bind("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        let target = Target::parse(&server.url()).unwrap();
        server.spawn();
        (target, identity)
    }

    /// Sends an opening handshake and returns the status line of the answer.
    async fn status_line(reader: &mut Reader, writer: &mut Writer) -> String {
        writer
            .write_all(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            )
            .await
            .unwrap();
        let mut head = vec![0u8; 12];
        reader.read_exact(&mut head).await.unwrap();
        String::from_utf8(head).unwrap()
    }

    #[tokio::test]
    async fn tls_connects_when_the_certificate_is_trusted_or_insecure() {
        let (target, identity) = tls_echo().await;
        assert!(target.tls);
        for client in [
            trusting(&identity),
            TlsClient::new(TlsOptions {
                insecure: true,
                ..TlsOptions::default()
            }),
        ] {
            let (mut reader, mut writer) = connect(&target, &client, TIMEOUT).await.unwrap();
            assert_eq!(status_line(&mut reader, &mut writer).await, "HTTP/1.1 101");
            writer.shutdown().await.unwrap();
        }
    }

    #[tokio::test]
    async fn an_unknown_certificate_fails_with_a_hint() {
        let (target, _identity) = tls_echo().await;
        let err = connect(&target, &TlsClient::default(), TIMEOUT)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "TLS handshake with 127.0.0.1 failed: invalid peer certificate: UnknownIssuer \
             (use --insecure for a self-signed certificate, or --ca FILE)"
        );
        // Another self-signed certificate is no better.
        let other = TlsIdentity::self_signed().unwrap();
        let err = connect(&target, &trusting(&other), TIMEOUT)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--insecure"), "{err}");
    }

    #[tokio::test]
    async fn plain_tcp_stays_plain_and_a_tls_client_fails_on_it() {
        let server = EchoServer::bind("127.0.0.1:0".parse().unwrap(), EchoConfig::default())
            .await
            .unwrap();
        let plain = Target::parse(&server.url()).unwrap();
        let tls = Target::parse(&server.url().replace("ws://", "wss://")).unwrap();
        server.spawn();
        let (mut reader, mut writer) = connect(&plain, &TlsClient::default(), TIMEOUT)
            .await
            .unwrap();
        assert!(matches!(reader, Reader::Plain(_)));
        assert_eq!(status_line(&mut reader, &mut writer).await, "HTTP/1.1 101");
        let err = connect(&tls, &TlsClient::default(), TIMEOUT)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::Tls { .. }), "{err}");
    }

    /// Connects to a TLS server that runs `server` on its side of the one connection.
    async fn with_tls_peer<F, Fut>(server: F) -> (Reader, Writer, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(tokio_rustls::server::TlsStream<TcpStream>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let identity = TlsIdentity::self_signed().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target::parse(&format!("wss://{}/", listener.local_addr().unwrap())).unwrap();
        let acceptor = identity.acceptor();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            server(acceptor.accept(tcp).await.unwrap()).await;
        });
        let (reader, writer) = connect(&target, &trusting(&identity), TIMEOUT)
            .await
            .unwrap();
        (reader, writer, task)
    }

    #[tokio::test]
    async fn the_end_of_tls_reads_as_eof_with_or_without_close_notify() {
        let (mut reader, _writer, _task) = with_tls_peer(|mut tls| async move {
            tls.write_all(b"bye").await.unwrap();
            tls.shutdown().await.unwrap();
        })
        .await;
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");

        let (mut reader, _writer, _task) = with_tls_peer(|mut tls| async move {
            tls.write_all(b"gone").await.unwrap();
            tls.flush().await.unwrap();
            // Dropping the stream closes TCP without close_notify.
        })
        .await;
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"gone");
    }

    #[tokio::test]
    async fn shutdown_sends_close_notify_and_a_dropped_writer_sends_fin() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (_reader, mut writer, task) = with_tls_peer(|mut tls| async move {
            let mut got = Vec::new();
            let _ = tx.send(tls.read_to_end(&mut got).await.map(|_| got));
        })
        .await;
        writer.write_all(b"done").await.unwrap();
        writer.shutdown().await.unwrap();
        assert_eq!(rx.await.unwrap().unwrap(), b"done");
        task.await.unwrap();

        let (tx, rx) = tokio::sync::oneshot::channel();
        let (_reader, writer, _task) = with_tls_peer(|mut tls| async move {
            let mut got = Vec::new();
            let _ = tx.send(tls.read_to_end(&mut got).await.map(|_| got));
        })
        .await;
        // The reader half stays alive, as the reader task's does, but the peer still sees the end.
        drop(writer);
        let err = tokio::time::timeout(TIMEOUT, rx)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("wsspec-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = read_ca_file(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot read the CA file {}: ", missing.display())),
            "{err}"
        );
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let err = read_ca_file(&garbage).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "the CA file {} is not a PEM certificate bundle: it holds no CERTIFICATE block",
                garbage.display()
            )
        );
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = read_ca_file(&broken).unwrap_err().to_string();
        assert!(err.contains("certificate 1 is not valid"), "{err}");
    }

    #[test]
    fn configurations_build_for_every_kind_of_trust() {
        for options in [
            TlsOptions::default(),
            TlsOptions {
                insecure: true,
                ..TlsOptions::default()
            },
            TlsOptions {
                system_roots: true,
                ..TlsOptions::default()
            },
        ] {
            assert!(TlsClient::new(options).config().is_ok());
        }
        let bad_root = TlsOptions {
            extra_roots: vec![CertificateDer::from(vec![1, 2, 3])],
            ..TlsOptions::default()
        };
        assert!(TlsClient::new(bad_root).config().is_err());
    }
}
