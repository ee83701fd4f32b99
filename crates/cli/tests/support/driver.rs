//! A client driver for tests, as Autobahn users write them: it asks `/getCaseCount`, opens
//! `/runCase?case=N&agent=A` for every case and echoes each message until the close, then asks for
//! `/updateReports`. It runs tokio-tungstenite's client, which is correct enough to pass the cases
//! that the tests select.

// Test code: lets the driver unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{connect_async, tungstenite::Message};

/// The text of the one message a control endpoint sends.
async fn fetch(url: &str) -> String {
    let (mut ws, _) = connect_async(url)
        .await
        .expect("the control endpoint upgrades");
    let mut text = String::new();
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Text(body) = message {
            text = body.to_string();
        }
    }
    text
}

/// Runs every case for `agent` against the wsspec client listener at `base` (`ws://host:port`).
pub async fn drive(base: &str, agent: &str) {
    let count: usize = fetch(&format!("{base}/getCaseCount"))
        .await
        .trim()
        .parse()
        .expect("getCaseCount answers a number");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        // Cases that send a response a client must refuse end here.
        let Ok((mut ws, _)) = connect_async(&url).await else {
            continue;
        };
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    }
    fetch(&format!("{base}/updateReports?agent={agent}")).await;
}

/// Waits until something accepts TCP connections on the port (at most 20 s).
pub fn wait_for_listener(port: u16) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "nothing listens on port {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
