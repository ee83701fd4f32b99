//! Echo server on fastwebsockets (over hyper): `fastwebsockets_echo PORT` listens on
//! 127.0.0.1:PORT, sends every text and binary message back with the same type, and prints `ready`
//! once listening. Messages are capped at 64 MiB.

use fastwebsockets::{FragmentCollector, OpCode, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::{
    Request, Response, body::Bytes, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

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
    let (response, upgraded) = upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        let Ok(mut ws) = upgraded.await else {
            return;
        };
        ws.set_max_message_size(64 << 20);
        let mut ws = FragmentCollector::new(ws);
        while let Ok(frame) = ws.read_frame().await {
            match frame.opcode {
                OpCode::Close => return,
                OpCode::Text | OpCode::Binary => {
                    if ws.write_frame(frame).await.is_err() {
                        return;
                    }
                }
                _ => {}
            }
        }
    });
    Ok(response)
}
