//! Echo server on yawc (over hyper), with permessage-deflate: `yawc_echo PORT` listens on
//! 127.0.0.1:PORT, sends every text and binary message back with the same type, and prints `ready`
//! once listening. It accepts permessage-deflate offers (zlib, so every window size), checks UTF-8,
//! and caps messages at 64 MiB.

use futures_util::SinkExt;
use http_body_util::Empty;
use hyper::{
    Request, Response, body::Bytes, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use yawc::{
    Options, WebSocket, WebSocketError,
    frame::{Frame, OpCode},
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_default();
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("ready");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .with_upgrades();
            let _ = connection.await;
        });
    }
}

async fn handle(mut request: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let options = Options::default()
        .with_balanced_compression()
        .with_max_payload_read(64 << 20)
        .with_utf8();
    let (response, upgraded) = WebSocket::upgrade_with_options(&mut request, options)?;
    tokio::spawn(async move {
        let Ok(mut ws) = upgraded.await else {
            return;
        };
        while let Ok(frame) = ws.next_frame().await {
            let (opcode, _, payload) = frame.into_parts();
            let echo = match opcode {
                OpCode::Text => Frame::text(payload),
                OpCode::Binary => Frame::binary(payload),
                _ => continue,
            };
            if ws.send(echo).await.is_err() {
                return;
            }
        }
    });
    Ok(response)
}
