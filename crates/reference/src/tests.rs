//! Tests of the reference echo server.

use super::*;
use std::net::{IpAddr, Ipv4Addr};
use tokio_tungstenite::connect_async;

const LOCALHOST: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
const TIMEOUT: Duration = Duration::from_secs(5);

async fn start(config: EchoConfig) -> SocketAddr {
    let server = EchoServer::bind(LOCALHOST, config).await.unwrap();
    let (addr, _handle) = server.spawn();
    addr
}

#[tokio::test]
async fn echoes_text_binary_ping_and_closes_cleanly() {
    let addr = start(EchoConfig::default()).await;
    let (mut ws, _resp) = connect_async(format!("ws://{addr}/")).await.unwrap();

    ws.send(Message::text("hello, wsspec ✓")).await.unwrap();
    let got = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::text("hello, wsspec ✓"));

    let bytes: Vec<u8> = (0..=255u8).collect();
    ws.send(Message::binary(bytes.clone())).await.unwrap();
    let got = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::binary(bytes));

    ws.send(Message::Ping(b"are you there"[..].into()))
        .await
        .unwrap();
    let got = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert_eq!(
        got.unwrap().unwrap(),
        Message::Pong(b"are you there"[..].into())
    );

    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::from_static("bye"),
    };
    ws.send(Message::Close(Some(normal.clone()))).await.unwrap();
    let got = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::Close(Some(normal)));
    // The server then closes TCP, which ends the client's stream.
    let end = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert!(end.is_none(), "expected end of stream, got {end:?}");
}

#[tokio::test]
async fn large_single_frame_is_echoed_unfragmented() {
    let addr = start(EchoConfig::default()).await;
    // A raw client, so the frame boundaries of the echo can be checked.
    let mut tcp = raw_connect(addr).await;
    let payload = vec![b'x'; 200_000];
    tcp.write_all(&client_frame(true, 0x2, &payload))
        .await
        .unwrap();
    let (fin, opcode, got) = read_frame(&mut tcp).await;
    assert!(fin);
    assert_eq!(opcode, 0x2);
    assert_eq!(got, payload);
}

#[tokio::test]
async fn fragmented_text_is_echoed_as_one_message() {
    let addr = start(EchoConfig::default()).await;
    let mut tcp = raw_connect(addr).await;
    tcp.write_all(&client_frame(false, 0x1, b"frag"))
        .await
        .unwrap();
    tcp.write_all(&client_frame(false, 0x0, b"men"))
        .await
        .unwrap();
    tcp.write_all(&client_frame(true, 0x0, b"ted"))
        .await
        .unwrap();
    assert_eq!(
        read_frame(&mut tcp).await,
        (true, 0x1, b"fragmented".to_vec())
    );
}

#[tokio::test]
async fn reserved_bits_fail_with_1002_then_tcp_close() {
    let addr = start(EchoConfig::default()).await;
    let mut tcp = raw_connect(addr).await;
    let mut frame = client_frame(true, 0x1, b"rsv");
    frame[0] |= 0x40; // RSV1 without an extension
    tcp.write_all(&frame).await.unwrap();
    // Something the server must not echo once it has failed the connection.
    tcp.write_all(&client_frame(true, 0x1, b"after"))
        .await
        .unwrap();
    assert_close_then_eof(&mut tcp, 1002).await;
}

#[tokio::test]
async fn invalid_utf8_fails_with_1007() {
    let addr = start(EchoConfig::default()).await;
    let mut tcp = raw_connect(addr).await;
    tcp.write_all(&client_frame(true, 0x1, &[0xce, 0xba, 0xff]))
        .await
        .unwrap();
    assert_close_then_eof(&mut tcp, 1007).await;
}

#[tokio::test]
async fn oversized_message_fails_with_1009() {
    let addr = start(EchoConfig {
        max_message_size: Some(1000),
        ..EchoConfig::default()
    })
    .await;
    let mut tcp = raw_connect(addr).await;
    tcp.write_all(&client_frame(false, 0x2, &[0; 600]))
        .await
        .unwrap();
    tcp.write_all(&client_frame(true, 0x0, &[0; 600]))
        .await
        .unwrap();
    assert_close_then_eof(&mut tcp, 1009).await;
}

#[tokio::test]
async fn bad_close_code_is_answered_with_1002() {
    let addr = start(EchoConfig::default()).await;
    let mut tcp = raw_connect(addr).await;
    // 999 is not a valid close code.
    tcp.write_all(&client_frame(true, 0x8, &999u16.to_be_bytes()))
        .await
        .unwrap();
    assert_close_then_eof(&mut tcp, 1002).await;
}

#[tokio::test]
async fn bad_connections_do_not_stop_the_accept_loop() {
    let addr = start(EchoConfig::default()).await;
    for _ in 0..3 {
        let mut junk = TcpStream::connect(addr).await.unwrap();
        junk.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
        drop(junk);
        let silent = TcpStream::connect(addr).await.unwrap();
        drop(silent);
    }
    let (mut ws, _resp) = connect_async(format!("ws://{addr}/")).await.unwrap();
    ws.send(Message::text("still alive")).await.unwrap();
    let got = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::text("still alive"));
}

#[tokio::test]
async fn connection_outcomes() {
    async fn outcome_of(client: impl AsyncFnOnce(SocketAddr)) -> Outcome {
        let listener = TcpListener::bind(LOCALHOST).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let policy = Arc::new(ServerPolicy::default());
            let config = EchoConfig::default().websocket_config();
            handle_connection(stream, config, policy, None, false).await
        });
        client(addr).await;
        tokio::time::timeout(TIMEOUT, server)
            .await
            .unwrap()
            .unwrap()
    }

    let failed = outcome_of(async |addr| {
        let mut tcp = raw_connect(addr).await;
        tcp.write_all(&client_frame(true, 0x9, &[0; 126]))
            .await
            .unwrap();
        assert_close_then_eof(&mut tcp, 1002).await;
    })
    .await;
    assert_eq!(failed, Outcome::Failed(CloseCode::Protocol));

    let closed = outcome_of(async |addr| {
        let mut tcp = raw_connect(addr).await;
        tcp.write_all(&client_frame(true, 0x8, &1000u16.to_be_bytes()))
            .await
            .unwrap();
        assert_close_then_eof(&mut tcp, 1000).await;
    })
    .await;
    assert_eq!(closed, Outcome::Closed);

    let dropped = outcome_of(async |addr| drop(raw_connect(addr).await)).await;
    assert_eq!(dropped, Outcome::Dropped);

    let junk = outcome_of(async |addr| {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    })
    .await;
    assert_eq!(junk, Outcome::Refused(400));

    let gone = outcome_of(async |addr| {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
    })
    .await;
    assert_eq!(gone, Outcome::HandshakeFailed);
}

#[test]
fn config_sets_frame_limit_to_message_limit() {
    let default = EchoConfig::default().websocket_config();
    assert_eq!(default.max_message_size, Some(64 << 20));
    assert_eq!(default.max_frame_size, Some(64 << 20));
    let small = EchoConfig {
        max_message_size: Some(1234),
        ..EchoConfig::default()
    }
    .websocket_config();
    assert_eq!(small.max_message_size, Some(1234));
    assert_eq!(small.max_frame_size, Some(1234));
}

/// Opens a TCP connection and performs the opening handshake by hand.
async fn raw_connect(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    tcp
}

/// Builds one masked client frame.
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Reads one unmasked server frame: (fin, opcode, payload).
async fn read_frame(tcp: &mut TcpStream) -> (bool, u8, Vec<u8>) {
    let mut head = [0u8; 2];
    tokio::time::timeout(TIMEOUT, tcp.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head[1] & 0x80, 0, "server frames are unmasked");
    assert_eq!(head[0] & 0x70, 0, "no RSV bits");
    let len = match head[1] & 0x7f {
        126 => u64::from(tcp.read_u16().await.unwrap()),
        127 => tcp.read_u64().await.unwrap(),
        n => u64::from(n),
    };
    let mut payload = vec![0u8; usize::try_from(len).unwrap()];
    tcp.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
}

/// Expects a close frame with `code` next, and then the server's FIN.
async fn assert_close_then_eof(tcp: &mut TcpStream, code: u16) {
    let (fin, opcode, payload) = read_frame(tcp).await;
    assert!(fin);
    assert_eq!(
        opcode, 0x8,
        "expected a close frame, got payload {payload:?}"
    );
    assert!(payload.len() >= 2);
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
    assert!(std::str::from_utf8(&payload[2..]).is_ok());
    let mut rest = Vec::new();
    tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty(), "unexpected bytes after close: {rest:?}");
}
