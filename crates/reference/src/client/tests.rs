//! Tests of the built-in client driver ([`super`]).

use super::*;

#[test]
fn endpoint_urls() {
    let endpoints = Endpoints::new("ws://127.0.0.1:9001").unwrap();
    assert_eq!(
        endpoints.case_count().as_str(),
        "ws://127.0.0.1:9001/getCaseCount"
    );
    assert_eq!(
        endpoints.run_case(7, "my client/1.0").as_str(),
        "ws://127.0.0.1:9001/runCase?case=7&agent=my+client%2F1.0"
    );
    assert_eq!(
        endpoints.case_info(3).as_str(),
        "ws://127.0.0.1:9001/getCaseInfo?case=3"
    );
    assert_eq!(
        endpoints.update_reports("a&b").as_str(),
        "ws://127.0.0.1:9001/updateReports?agent=a%26b"
    );
    let seen = Observation::closed(Some(1000), "bye ✓");
    assert_eq!(
        endpoints.report_observation(2, "A", &seen).as_str(),
        "ws://127.0.0.1:9001/reportObservation?case=2&agent=A&code=1000&reason=bye+%E2%9C%93&clean=true"
    );
    let none = Observation {
        code: None,
        reason: String::new(),
        clean: false,
    };
    assert_eq!(
        endpoints.report_observation(2, "A", &none).as_str(),
        "ws://127.0.0.1:9001/reportObservation?case=2&agent=A&reason=&clean=false"
    );
}

#[test]
fn base_path_is_a_prefix_and_the_query_is_dropped() {
    let endpoints = Endpoints::new("wss://example.com/fuzz/?x=1#top").unwrap();
    assert_eq!(
        endpoints.run_case(1, "A").as_str(),
        "wss://example.com/fuzz/runCase?case=1&agent=A"
    );
    assert!(matches!(
        Endpoints::new("http://127.0.0.1:9001"),
        Err(DriveError::BadUrl { .. })
    ));
    assert!(matches!(
        Endpoints::new("not a url"),
        Err(DriveError::BadUrl { .. })
    ));
}

#[test]
fn observations_read_like_close_events() {
    assert_eq!(Observation::closed(None, "").to_string(), "1005, clean");
    assert_eq!(Observation::abnormal().to_string(), "1006, not clean");
    assert_eq!(
        Observation::closed(Some(1000), "bye").to_string(),
        "1000 \"bye\", clean"
    );
}

/// A fuzzing-server stand-in with three cases: a clean close after echoes and a ping, a TCP
/// drop, and a frame with an RSV bit the client must fail the connection on. It logs what the
/// client did, and leaves `/reportObservation` open when `knows_reports` is false.
mod stub {
    use std::net::SocketAddr;

    use futures_util::{SinkExt, StreamExt};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::{Bytes, Message};

    pub type Log = tokio::sync::mpsc::UnboundedReceiver<String>;

    pub async fn start(knows_reports: bool) -> (SocketAddr, Log) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (log, rx) = unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(tcp, log.clone(), knows_reports));
            }
        });
        (addr, rx)
    }

    async fn serve(tcp: TcpStream, log: UnboundedSender<String>, knows_reports: bool) {
        let mut target = String::new();
        // The callback's signature is tungstenite's, error type included.
        #[allow(clippy::result_large_err)]
        let record = |req: &Request, resp: Response| {
            target = req.uri().to_string();
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, record)
            .await
            .unwrap();
        let close = |code: CloseCode, reason: &'static str| {
            Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }))
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        match (path, query) {
            ("/getCaseCount", _) => {
                ws.send(Message::text("3")).await.unwrap();
                ws.send(Message::Close(None)).await.unwrap();
            }
            ("/getCaseInfo", query) => {
                let case = query.trim_start_matches("case=");
                let info = format!(r#"{{"id": "1.{case}", "description": "stub"}}"#);
                ws.send(Message::text(info)).await.unwrap();
                ws.send(Message::Close(None)).await.unwrap();
            }
            ("/runCase", query) if query.starts_with("case=1&") => {
                ws.send(Message::text("hello ✓")).await.unwrap();
                let text = ws.next().await.unwrap().unwrap();
                ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
                let binary = ws.next().await.unwrap().unwrap();
                ws.send(Message::Ping(Bytes::from_static(b"p")))
                    .await
                    .unwrap();
                let pong = ws.next().await.unwrap().unwrap();
                let echoed = text == Message::text("hello ✓")
                    && binary == Message::binary(vec![1, 2, 3])
                    && pong == Message::Pong(Bytes::from_static(b"p"));
                log.send(format!("case 1 echoed: {echoed}")).unwrap();
                ws.send(close(CloseCode::Normal, "done")).await.unwrap();
            }
            ("/runCase", query) if query.starts_with("case=2&") => {
                ws.send(Message::text("then gone")).await.unwrap();
                let echo = ws.next().await.unwrap().unwrap();
                log.send(format!("case 2 echoed: {}", echo.is_text()))
                    .unwrap();
                return; // drops TCP without a close frame
            }
            ("/runCase", _) => {
                // A final text frame with RSV1 set and no extension negotiated.
                ws.get_mut().write_all(&[0xc1, 0x01, b'x']).await.unwrap();
                let answer = match ws.next().await {
                    Some(Ok(Message::Close(Some(frame)))) => u16::from(frame.code).to_string(),
                    other => format!("{other:?}"),
                };
                log.send(format!("case 3 client closed with {answer}"))
                    .unwrap();
            }
            ("/reportObservation", query) if knows_reports => {
                log.send(format!("report {query}")).unwrap();
                ws.send(close(CloseCode::Normal, "")).await.unwrap();
            }
            ("/reportObservation", query) => {
                log.send(format!("report {query}")).unwrap();
                // Autobahn's "direct command" session: nothing happens until the client goes.
                while let Some(Ok(_)) = ws.next().await {}
                return;
            }
            ("/updateReports", query) => {
                log.send(format!("update {query}")).unwrap();
                ws.send(close(CloseCode::Normal, "")).await.unwrap();
            }
            _ => panic!("unexpected request {target}"),
        }
        // Read the client's close reply (and whatever else), then close TCP.
        while let Some(Ok(_)) = ws.next().await {}
    }
}

fn drain(log: &mut stub::Log) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = log.try_recv() {
        lines.push(line);
    }
    lines
}

fn quick_options() -> DriveOptions {
    DriveOptions {
        case_timeout: Duration::from_secs(10),
        report_timeout: Duration::from_millis(500),
        ..DriveOptions::default()
    }
}

#[tokio::test]
async fn drives_every_case_and_reports_what_it_saw() {
    let (addr, mut log) = stub::start(true).await;
    let base = format!("ws://{addr}");
    let mut progress = Vec::new();
    let mut client = TungsteniteClient::new(Duration::from_secs(2));
    let summary = drive_client(&mut client, &base, "tester", &quick_options(), |case| {
        progress.push(case.case)
    })
    .await
    .unwrap();
    assert_eq!(progress, [1, 2, 3]);
    assert_eq!(summary.case_count, 3);
    assert!(summary.observations_reported);
    let seen: Vec<(Option<&str>, String, bool)> = summary
        .cases
        .iter()
        .map(|c| (c.id.as_deref(), c.observation.to_string(), c.timed_out))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("1.1"), "1000 \"done\", clean".to_owned(), false),
            (Some("1.2"), "1006, not clean".to_owned(), false),
            (Some("1.3"), "1006, not clean".to_owned(), false),
        ]
    );
    assert_eq!(
        drain(&mut log),
        [
            "case 1 echoed: true",
            "report case=1&agent=tester&code=1000&reason=done&clean=true",
            "case 2 echoed: true",
            "report case=2&agent=tester&code=1006&reason=&clean=false",
            "case 3 client closed with 1002",
            "report case=3&agent=tester&code=1006&reason=&clean=false",
            "update agent=tester",
        ]
    );
}

#[tokio::test]
async fn stops_reporting_to_a_server_that_leaves_reports_open() {
    let (addr, mut log) = stub::start(false).await;
    let options = DriveOptions {
        case_ids: false,
        ..quick_options()
    };
    let summary = drive(&format!("ws://{addr}/"), "tester", &options)
        .await
        .unwrap();
    assert_eq!(summary.cases.len(), 3);
    assert!(!summary.observations_reported);
    let reports = drain(&mut log)
        .into_iter()
        .filter(|line| line.starts_with("report "))
        .count();
    assert_eq!(reports, 1);
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let result = drive(&format!("ws://{addr}"), "tester", &quick_options()).await;
    assert!(
        matches!(result, Err(DriveError::Unreachable { .. })),
        "{result:?}"
    );
}

#[test]
fn the_driver_future_is_send() {
    fn assert_send<T: Send>(_: T) {}
    let options = DriveOptions::default();
    assert_send(drive("ws://127.0.0.1:1", "A", &options));
}
