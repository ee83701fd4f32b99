//! The mutant server that speaks TLS, [`Defect::AnswersOutsideTls`]: it completes the TLS handshake
//! with a fresh self-signed certificate, reads the request through the tunnel, and writes its answer
//! on the TCP beneath, in the clear (RFC 6455 §4.2.2: all further communication, the server's
//! handshake included, MUST run through the encrypted tunnel).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use wsspec_reference::TlsIdentity;
use wsspec_reference::handshake::{self, ServerPolicy};
use wsspec_reference::head::read_head;
use wsspec_wire::HeadReader;

/// How long a client has for TLS and its request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds 127.0.0.1:0 and serves every connection on a task of its own.
pub(crate) async fn spawn() -> io::Result<SocketAddr> {
    let identity = TlsIdentity::self_signed().map_err(io::Error::other)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let acceptor = identity.acceptor();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            // An error ends this connection only; there is nobody to report it to.
            tokio::spawn(async move {
                let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, serve(tcp, acceptor)).await;
            });
        }
    });
    Ok(addr)
}

/// The TLS handshake, the request through it, and the reference server's answer in the clear.
async fn serve(tcp: TcpStream, acceptor: TlsAcceptor) -> io::Result<()> {
    let mut tls = acceptor.accept(tcp).await?;
    let head = match read_head(&mut tls, HeadReader::request()).await? {
        Ok(head) => head,
        Err(_) => return Ok(()),
    };
    let answer = handshake::answer(&head.value, &ServerPolicy::default());
    let (mut tcp, _) = tls.into_inner();
    tcp.write_all(&answer.to_bytes()).await?;
    tcp.shutdown().await
}
