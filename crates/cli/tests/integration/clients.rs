//! `wsspec client`: wsspec as the server that a client connects to. Real clients we did not write
//! (Python `websockets`) run the cases through `--exec` and through an Autobahn-style runCase loop;
//! commands that never connect and drivers that never come end the run with reasons, never a hang.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::time::{Duration, Instant};

use common::{Listener, case, ids_with, peer_installed, run_client, verdicts};

const PYTHON_WEBSOCKETS: &str = "scripts/.peers/python/websockets";

#[test]
fn python_websockets_client_passes_through_exec() {
    if !peer_installed(PYTHON_WEBSOCKETS) {
        return;
    }
    let (code, results, stderr) = run_client(
        "exec-websockets",
        &[
            "--exec",
            "python3 scripts/peers/websockets_case.py {url}",
            "--cases",
            "1.1.*,2.*,5.1,14.5.*,16.*",
            "--agent",
            "websockets-client",
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{:?}", verdicts(&results));
    assert_eq!(results["target"]["role"], "client");
    assert_eq!(results["agent"], "websockets-client");
    assert_eq!(
        ids_with(&results, "pass").len(),
        39,
        "{:?}",
        verdicts(&results)
    );
    // The script reports what its application saw; section 16 checks it.
    let drop = case(&results, "16.2");
    assert_eq!(drop["observation"]["code"], 1006);
    assert_eq!(drop["observation"]["clean"], false);
}

#[test]
fn a_command_that_never_connects_fails_its_cases_with_the_reason() {
    let started = Instant::now();
    let (code, results, stderr) = run_client(
        "exec-true",
        &["--exec", "true", "--cases", "1.1.1,2.1", "--timeout", "5"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(ids_with(&results, "fail"), ["1.1.1", "2.1"]);
    let actual = results["cases"][0]["actual"].as_str().unwrap();
    assert!(
        actual.contains("the client never connected for this case: `true` exited"),
        "{actual}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn no_driver_ends_the_run_at_the_idle_time() {
    let started = Instant::now();
    let (code, _, stderr) = run_client("idle", &["--idle", "1"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("none connected within the --idle time of 1 s"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Runs a driver script (`program script BASE AGENT`) to its end.
fn drive_with(program: &str, script: &str, base: &str, agent: &str) {
    let status = std::process::Command::new(program)
        .arg(common::root().join(script))
        .args([base, agent])
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed");
}

#[test]
fn the_built_in_client_passes_every_case_but_one() {
    let (code, results, stderr) = run_client("reference-client", &["--reference"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(results["agent"], "wsspec-reference-client");
    // tungstenite 0.30's client compares the whole Connection field with "Upgrade", so it refuses
    // `keep-alive, Upgrade`, a valid token list. (It never looks at Sec-WebSocket-Extensions either;
    // the reference checks that itself, so 14.5.9 passes.)
    assert_eq!(ids_with(&results, "fail"), ["14.5.13"]);
    // As on the server side: UTF-8 in a single frame is checked once the frame is whole.
    assert_eq!(ids_with(&results, "non-strict"), ["6.4.3", "6.4.4"]);
    assert_eq!(
        ids_with(&results, "informational"),
        ["7.1.6", "7.13.1", "7.13.2"]
    );
    assert_eq!(results["complete"], true);
}

#[test]
fn python_and_node_clients_run_the_suite_through_their_runcase_loops() {
    // Both check UTF-8 once a message is whole (NON-STRICT 6.4.x), as their servers do; websockets
    // also handles a protocol error before echoing the valid message read with it, again as its
    // server does (Autobahn agrees on both sides).
    let websockets_non_strict = [
        "3.2", "3.3", "4.1.3", "4.1.4", "4.2.3", "4.2.4", "5.15", "6.4.1", "6.4.2", "6.4.3",
        "6.4.4",
    ];
    let ws_non_strict = ["6.4.1", "6.4.2", "6.4.3", "6.4.4"];
    for (program, script, installed, agent, non_strict) in [
        (
            "python3",
            "scripts/peers/websockets_client.py",
            PYTHON_WEBSOCKETS,
            "websockets",
            websockets_non_strict.as_slice(),
        ),
        (
            "node",
            "scripts/peers/ws_client.js",
            "scripts/peers/node_modules/ws",
            "ws",
            ws_non_strict.as_slice(),
        ),
    ] {
        if !peer_installed(installed) {
            continue;
        }
        // Without compression in these drivers, 12, 13 and 17 would be UNIMPLEMENTED: left out.
        let listener = Listener::start(agent, &["--exclude", "9.*,12.*,13.*,17.*"]);
        drive_with(program, script, &listener.base, agent);
        let (code, results) = listener.finish(agent);
        assert_eq!(
            code,
            0,
            "{agent}: {:?}",
            results_summary(&verdicts(&results))
        );
        let all = verdicts(&results);
        assert_eq!(all.len(), 267, "{agent}");
        assert_eq!(ids_with(&results, "non-strict"), non_strict, "{agent}");
        assert_eq!(
            ids_with(&results, "informational"),
            ["7.1.6", "7.13.1", "7.13.2"],
            "{agent}"
        );
        // Every case ran, and the observations of section 16 were reported and match.
        for id in ["16.2", "16.3", "16.4", "16.5", "16.6"] {
            let case = case(&results, id);
            assert!(case["observation"].is_object(), "{agent} {id}");
            assert_eq!(case["verdict"], "pass", "{agent} {id}: {case}");
        }
    }
}

fn results_summary(all: &[(String, String)]) -> Vec<(String, String)> {
    all.iter()
        .filter(|(_, verdict)| verdict != "pass")
        .cloned()
        .collect()
}

/// Runs `cases` with a `wsspec client` listener and a mutant client with `defect` as `agent`;
/// returns the listener's exit code and results.
fn drive_mutant(
    defect: wsspec_mutants::ClientDefect,
    agent: &str,
    cases: &str,
) -> (i32, serde_json::Value) {
    if defect.in_tls() {
        return drive_mutant_over_tls(defect, agent, cases);
    }
    let listener = Listener::start(agent, &["--cases", cases]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(wsspec_mutants::client::drive(&listener.base, agent, defect))
        .unwrap();
    listener.finish(agent)
}

/// [`drive_mutant`] against `wsspec client --tls`, trusting its certificate.
fn drive_mutant_over_tls(
    defect: wsspec_mutants::ClientDefect,
    agent: &str,
    cases: &str,
) -> (i32, serde_json::Value) {
    let (listener, pem) = Listener::start_tls(agent, &["--cases", cases]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(wsspec_mutants::client::drive_tls(
            &listener.base,
            agent,
            defect,
            &pem,
        ))
        .unwrap();
    listener.finish(agent)
}

#[test]
fn broken_clients_fail_exactly_their_cases() {
    use wsspec_mutants::ClientDefect;
    let selection = "1.1.*,2.*,5.*,14.5.*,16.*";
    let runs: Vec<(ClientDefect, i32, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = [
            ClientDefect::None,
            ClientDefect::SendsUnmasked,
            ClientDefect::RepeatsMaskingKey,
            ClientDefect::AcceptsMaskedServerFrames,
            ClientDefect::IgnoresWrongAccept,
            ClientDefect::Reports1000AfterDrop,
        ]
        .into_iter()
        .map(|defect| {
            scope.spawn(move || {
                let agent = format!("mutant-{defect:?}");
                // A client whose every frame is refused waits out each case: a few are enough.
                let cases = match defect {
                    ClientDefect::SendsUnmasked => "1.1.1,1.1.2,2.1,14.5.1",
                    _ => selection,
                };
                let (code, results) = drive_mutant(defect, &agent, cases);
                (defect, code, results)
            })
        })
        .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (defect, code, results) in runs {
        let failed = ids_with(&results, "fail");
        match defect {
            ClientDefect::None => assert!(failed.is_empty(), "{failed:?}"),
            // Every case the client sends a frame in fails: the frames are not masked.
            ClientDefect::SendsUnmasked => {
                assert_eq!(failed, ["1.1.1", "1.1.2", "2.1", "14.5.1"]);
                let actual = results["cases"][0]["actual"].as_str().unwrap();
                assert!(actual.contains("mask"), "{actual}");
            }
            // Wherever it sends three frames or more.
            ClientDefect::RepeatsMaskingKey => {
                assert_eq!(
                    failed,
                    ["2.10", "2.11", "5.6", "5.7", "5.8", "5.19", "5.20"]
                )
            }
            ClientDefect::AcceptsMaskedServerFrames => assert_eq!(failed, ["16.1"]),
            ClientDefect::IgnoresWrongAccept => {
                assert_eq!(failed, ["14.5.2", "14.5.3", "14.5.4"])
            }
            ClientDefect::Reports1000AfterDrop => assert_eq!(failed, ["16.2"]),
            other => unreachable!("{other}: not in this run, see the test after this one"),
        }
        assert_eq!(code, if failed.is_empty() { 0 } else { 1 }, "{defect:?}");
    }
}

/// Each client whose opening handshake is wrong fails every case, on the rule it breaks.
#[test]
fn clients_with_a_wrong_opening_handshake_fail_on_the_rule_they_break() {
    use wsspec_mutants::ClientDefect;
    let rules = [
        (ClientDefect::RequestsWithPost, "6455-4.1-19"),
        (ClientDefect::RequestsWithHttp10, "6455-4.1-19"),
        (ClientDefect::RequestsWithoutHost, "6455-4.1-21"),
        (ClientDefect::RequestsWithoutUpgrade, "6455-4.1-22"),
        (ClientDefect::RequestsWithoutConnection, "6455-4.1-23"),
        (ClientDefect::RequestsWithoutKey, "6455-4.1-24"),
        (ClientDefect::RequestsWithShortKey, "6455-4.1-25"),
        (ClientDefect::ReusesKey, "6455-4.1-26"),
        (ClientDefect::RequestsWithTwoKeys, "6455-11.3.1-1"),
        (ClientDefect::RequestsWithoutVersion, "6455-4.1-29"),
        (ClientDefect::RequestsVersion8, "6455-4.1-30"),
        (ClientDefect::RequestsWithTwoVersions, "6455-11.3.5-2"),
        (ClientDefect::SendsBeforeResponse, "6455-4.1-35"),
        (ClientDefect::DeflateOffersInvalidWindow, "7692-7.1.2.1-2"),
        (ClientDefect::OffersInvalidSubprotocol, "6455-4.1-32"),
        (ClientDefect::AbandonsRequest, "6455-4.1-17"),
        (ClientDefect::SendsMalformedHeader, "6455-4.1-18"),
        (ClientDefect::RequestsWsUri, "6455-4.1-20"),
        (ClientDefect::SkipsTls, "6455-4.1-13"),
        (ClientDefect::SendsNoSni, "6455-4.1-16"),
        (ClientDefect::LeavesTls, "6455-4.1-15"),
    ];
    assert_eq!(
        rules.len(),
        ClientDefect::ALL
            .iter()
            .filter(|defect| defect.bends_the_request())
            .count()
    );
    // One at a time: each run takes a fraction of a second, and twelve listeners starting at once
    // on a loaded 2-core runner have reset a driver's first connection.
    for (defect, rule) in rules {
        let agent = format!("mutant-{defect}");
        let (code, results) = drive_mutant(defect, &agent, "1.1.1,14.5.1");
        assert_eq!(code, 1, "{defect}");
        let cases = results["cases"].as_array().unwrap();
        // A reused key shows from the second connection on.
        let first = usize::from(defect == ClientDefect::ReusesKey);
        assert_eq!(cases.len(), 2);
        for case in &cases[first..] {
            assert_eq!(case["verdict"], "fail", "{defect}: {case}");
            let broken = case["broken"].as_array().unwrap();
            assert!(broken.iter().any(|id| id == rule), "{defect}: {broken:?}");
            let actual = case["actual"].as_str().unwrap();
            assert!(actual.contains("opening handshake is wrong"), "{actual}");
        }
    }
    // The correct client, with TLS and SNI, passes the same cases over wss://.
    let (code, results) =
        drive_mutant_over_tls(ClientDefect::None, "mutant-none-tls", "1.1.1,14.5.1");
    assert_eq!(code, 0, "{results}");
}

#[test]
fn headless_chromium_runs_the_browser_page() {
    let Some(browser) = common::chromium() else {
        return;
    };
    let cases = "1.1.*,2.*,5.*,7.9.*,14.5.*,16.*,12.1.1,12.1.2,13.1.1,13.3.1,17.*";
    let listener = Listener::start("chromium", &["--cases", cases]);
    let profile = common::out_dir("chromium-client-profile");
    let mut page = common::headless(&browser, &profile)
        .arg(format!(
            "http://{}/?agent=chromium",
            listener.base.trim_start_matches("ws://")
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (code, results) = listener.finish("chromium");
    let _ = page.kill();
    let _ = page.wait();
    let _ = std::fs::remove_dir_all(&profile);
    assert_eq!(results["complete"], true);
    // Chromium answers a close frame whose code may not be sent (0, 999, 1004, 1016, 1100, 2000, 2999)
    // as if it were valid, instead of failing the connection (RFC 6455 §7.4.1, §7.1.7).
    assert_eq!(
        ids_with(&results, "fail"),
        [
            "7.9.1", "7.9.2", "7.9.3", "7.9.6", "7.9.7", "7.9.8", "7.9.9"
        ]
    );
    assert_eq!(code, 1);
    // Chromium offers permessage-deflate: the compressed cases run (UNIMPLEMENTED would mean it did
    // not) and pass; compressed invalid UTF-8 gets 1002 where 1007 fits (§7.1.7 SHOULD).
    assert_eq!(ids_with(&results, "unimplemented"), Vec::<String>::new());
    assert!(ids_with(&results, "pass").contains(&"12.1.1".to_owned()));
    assert!(ids_with(&results, "non-strict").contains(&"17.5.8".to_owned()));
    // What the page's WebSocket saw on each kind of close is what RFC 6455 §7.1.5 defines.
    for (id, code, clean) in [
        ("16.2", 1006, false),
        ("16.3", 1000, true),
        ("16.6", 1005, true),
    ] {
        let case = case(&results, id);
        assert_eq!(case["observation"]["code"], code, "{id}");
        assert_eq!(case["observation"]["clean"], clean, "{id}");
        assert_eq!(case["verdict"], "pass", "{id}");
    }
}

#[test]
fn the_autobahn_endpoints_answer_as_autobahn_does() {
    use wsspec_reference::client::{CaseClient, TungsteniteClient};
    let listener = Listener::start("endpoints", &["--cases", "1.1.1,2.1"]);
    let base = listener.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = TungsteniteClient::new(Duration::from_secs(2));
        let url = |path: &str| url::Url::parse(&format!("{base}{path}")).unwrap();
        let fetch = async |client: &mut TungsteniteClient, path: &str| {
            client
                .fetch_text(&url(path))
                .await
                .unwrap()
                .unwrap_or_default()
        };
        assert_eq!(fetch(&mut client, "/getCaseCount").await, "2");
        let info: serde_json::Value =
            serde_json::from_str(&fetch(&mut client, "/getCaseInfo?case=2").await).unwrap();
        assert_eq!(info["id"], "2.1");
        // The dotted id works as well as the position.
        let seen = client
            .echo(&url("/runCase?casetuple=2.1&agent=endpoints"))
            .await;
        assert_eq!(seen.code, Some(1000));
        let status = fetch(&mut client, "/getCaseStatus?case=2&agent=endpoints").await;
        assert_eq!(status, r#"{"behavior":"OK"}"#);
        client.echo(&url("/runCase?case=1&agent=endpoints")).await;
        fetch(&mut client, "/updateReports?agent=endpoints").await;
    });
    let (code, results) = listener.finish("endpoints");
    assert_eq!(code, 0);
    assert_eq!(ids_with(&results, "pass"), ["1.1.1", "2.1"]);
}

#[test]
fn bad_requests_get_http_errors() {
    use std::io::{Read, Write};
    let listener = Listener::start("bad-requests", &["--cases", "1.1.1"]);
    let addr = listener.base.trim_start_matches("ws://").to_owned();
    let answer = |request: &str| {
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        tcp.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        let _ = tcp.read_to_string(&mut text);
        text
    };
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let out_of_range = answer(&format!(
        "GET /runCase?case=9&agent=a HTTP/1.1\r\nHost: x\r\n{upgrade}"
    ));
    assert!(out_of_range.starts_with("HTTP/1.1 400 "), "{out_of_range}");
    assert!(out_of_range.contains("case=9 is out of range: there are 1 cases"));
    let no_agent = answer(&format!(
        "GET /runCase?case=1 HTTP/1.1\r\nHost: x\r\n{upgrade}"
    ));
    assert!(no_agent.contains("missing agent=NAME"), "{no_agent}");
    let unknown = answer("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(unknown.starts_with("HTTP/1.1 404 "), "{unknown}");
    let page = answer("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n") && page.contains("<!doctype html>"));
}

#[test]
fn a_client_that_disconnects_mid_case_fails_it_with_the_reason() {
    // Opens the case's connection, reads the 101, and closes TCP without a word.
    let quitter = r#"python3 -c 'import socket,sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); s=socket.create_connection((p.hostname,p.port)); s.sendall(("GET %s?%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % (p.path, p.query)).encode()); s.recv(4096); s.close()' {url}"#;
    let started = Instant::now();
    let (code, results, stderr) = run_client(
        "quitter",
        &["--exec", quitter, "--cases", "1.1.1", "--timeout", "5"],
    );
    assert_eq!(code, 1, "{stderr}");
    // Closing a socket with the case's frame still unread sends a reset instead of a FIN (RFC 9293
    // §3.6.1), so which of the two the harness sees depends on whether that frame arrived first.
    let actual = results["cases"][0]["actual"].as_str().unwrap();
    assert!(
        actual.contains("TCP closed by the peer") || actual.contains("Connection reset by peer"),
        "{actual}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn hostile_clients_cost_a_case_its_deadline_never_the_run() {
    use std::io::{Read, Write};
    use wsspec_reference::client::{CaseClient, TungsteniteClient};
    let listener = Listener::start(
        "hostile-clients",
        &["--cases", "1.1.1,1.1.2,1.1.3", "--case-deadline", "3"],
    );
    let addr = listener.base.trim_start_matches("ws://").to_owned();
    let open = |case: u32| {
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        let key = [
            "AQIDBAUGBwgJCgsMDQ4PEA==",
            "AQIDBAUGBwgJCgsMDQ4PEQ==",
            "AQIDBAUGBwgJCgsMDQ4PEg==",
        ][case as usize - 1];
        let head = format!(
            "GET /runCase?case={case}&agent=hostile HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).unwrap();
        let mut response = [0u8; 129];
        let _ = tcp.read(&mut response);
        tcp
    };
    let started = Instant::now();
    // Garbage instead of HTTP gets a 400, and the listener goes on.
    let mut garbage = std::net::TcpStream::connect(&addr).unwrap();
    garbage.write_all(b"\x16\x03\x01 not http\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = garbage.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    // A frame that declares 2^63-1 bytes, masked, in place of the echo.
    let mut huge = open(1);
    huge.write_all(b"\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff\0\0\0\0abc")
        .unwrap();
    // A client that says nothing at all, and one that floods pings.
    let silent = open(2);
    let mut flood = open(3);
    // Empty masked pings, each with a key of its own (§5.3).
    let pings: Vec<u8> = (0..512u32)
        .flat_map(|n| [0x89, 0x80].into_iter().chain(n.to_be_bytes()))
        .collect();
    let flooding = std::thread::spawn(move || while flood.write_all(&pings).is_ok() {});
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // Each case ends by its own deadline; then a driver asks for the reports.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let mut client = TungsteniteClient::new(Duration::from_secs(2));
        let update = format!("{}/updateReports?agent=hostile", listener.base);
        let _ = client.fetch_text(&url::Url::parse(&update).unwrap()).await;
    });
    let (code, results) = listener.finish("hostile");
    drop((huge, silent));
    let _ = flooding.join();
    assert_eq!(code, 1);
    assert_eq!(ids_with(&results, "fail"), ["1.1.1", "1.1.2", "1.1.3"]);
    // None of them echoes: each case fails on its expectation (2 s) or, when a loaded machine
    // reads the ping flood too slowly to get there first, on its deadline (3 s); never later.
    for case in results["cases"].as_array().unwrap() {
        assert!(case["duration_ms"].as_u64().unwrap() < 3_500, "{case}");
        let actual = case["actual"].as_str().unwrap();
        assert!(
            actual.contains("no echo of the message sent within 2000 ms")
                || actual.contains("did not finish within its deadline of 3000 ms"),
            "{actual}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(15));
}
