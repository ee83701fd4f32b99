//! Real peers that we did not write: Python `websockets` and Node `ws` echo servers, installed by
//! `scripts/install-peers`. Their verdicts must match what those libraries publicly get from Autobahn.
//!
//! Without the peers installed these tests say so and pass, unless `WSSPEC_REQUIRE_PEERS` is set (as
//! `scripts/test` and CI do), in which case a missing peer fails the test.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use common::{Peer, ids_with, peer_installed, run_server, scaled_cases, start_peer, verdicts};

/// Starts `program script PORT ARGS..` when its package is installed (see [`peer_installed`]).
fn start(program: &str, script: &str, installed: &str, args: &[&str]) -> Option<(Peer, String)> {
    peer_installed(installed).then(|| start_peer(program, script, args))
}

#[test]
fn python_websockets_gets_its_autobahn_verdicts() {
    let Some((_peer, url)) = start(
        "python3",
        "scripts/peers/websockets_echo.py",
        "scripts/.peers/python/websockets",
        &[],
    ) else {
        return;
    };
    let (code, results, stderr) =
        run_server("python-websockets", Some(&url), &["--agent", "websockets"]);
    assert_eq!(code, 1, "{stderr}");
    // websockets handles a protocol error as soon as it parses the bad frame, before its application
    // echoes the valid message that arrived in the same read, and checks UTF-8 once a message is whole.
    // Autobahn 25.10.1, run against this same server, gives NON-STRICT on exactly these cases.
    let expected = [
        "3.2", "3.3", "4.1.3", "4.1.4", "4.2.3", "4.2.4", "5.15", "6.4.1", "6.4.2", "6.4.3",
        "6.4.4",
    ];
    // Closing without any response to bytes that are not HTTP, where RFC 9112 §2.2 asks for a 400
    // (SHOULD).
    let expected = [expected.as_slice(), &["14.4.4"]].concat();
    assert_eq!(ids_with(&results, "non-strict"), expected);
    // It also refuses a 4 MiB message in 64 or 256-byte fragments with 1009 ("too many fragments"):
    // RFC 6455 §10.4 asks for such limits, so wsspec says INFORMATIONAL where Autobahn says FAILED.
    // Without compression it negotiates no extension and upgrades a malformed offer without one
    // (14.2.23-24, INFORMATIONAL); with compression on it refuses it with 400.
    assert_eq!(
        ids_with(&results, "informational"),
        [
            "7.1.6", "7.13.1", "7.13.2", "9.3.1", "9.3.2", "9.4.1", "9.4.2", "14.2.23", "14.2.24"
        ]
    );
    // The opening handshake, where Autobahn has no cases. websockets 17.4 upgrades a request with no
    // Host or with two (RFC 6455 §4.2.1 point 2, RFC 7230 §5.4), refuses an unknown version with
    // 400 but without the Sec-WebSocket-Version field that §4.4 requires, and closes without a
    // response on a folded header line, where RFC 9112 §5.2 says it MUST answer 400 or unfold it.
    assert_eq!(
        ids_with(&results, "fail"),
        [
            "14.2.12", "14.2.13", "14.2.19", "14.2.20", "14.2.21", "14.2.22", "14.4.5"
        ],
        "{:?}",
        verdicts(&results)
    );
}

#[test]
fn node_ws_gets_its_autobahn_verdicts() {
    let Some((_peer, url)) = start(
        "node",
        "scripts/peers/ws_echo.js",
        "scripts/peers/node_modules/ws",
        &[],
    ) else {
        return;
    };
    let (code, results, stderr) = run_server("node-ws", Some(&url), &["--agent", "ws"]);
    assert_eq!(code, 1, "{stderr}");
    // ws checks UTF-8 once a message is whole; Autobahn 25.10.1 gives the same NON-STRICT on 6.4.x.
    // It refuses a 4 MiB message in 64-byte fragments with 1008 where 1009 fits (§7.1.7: an appropriate
    // code), which wsspec rates NON-STRICT and Autobahn FAILED.
    assert_eq!(
        ids_with(&results, "non-strict"),
        ["6.4.1", "6.4.2", "6.4.3", "6.4.4", "9.3.1", "9.4.1"]
    );
    // ws also speaks version 8 (hybi-08), and says so: accepting it is INFORMATIONAL. Without
    // compression it upgrades a malformed extension offer without an extension (INFORMATIONAL).
    assert_eq!(
        ids_with(&results, "informational"),
        ["7.1.6", "7.13.1", "7.13.2", "14.2.22", "14.2.23", "14.2.24"]
    );
    // The opening handshake, where Autobahn has no cases. ws 8.23.0 upgrades a request with no Host
    // or with two, an HTTP/1.0 request (RFC 6455 §4.2.1 point 1), and `Sec-WebSocket-Version: 13.0`,
    // which it reads as the number 13 (the field's grammar allows digits only, §4.4); and it refuses
    // a request without `Upgrade: websocket` or the upgrade token with a 426 that names no protocol
    // in an Upgrade field (RFC 9110 §7.8: it MUST).
    assert_eq!(
        ids_with(&results, "fail"),
        [
            "14.2.8", "14.2.10", "14.2.11", "14.2.12", "14.2.13", "14.2.17", "14.2.21"
        ],
        "{:?}",
        verdicts(&results)
    );
}

#[test]
fn python_websockets_with_compression_passes_sections_12_13_and_17() {
    let Some((_peer, url)) = start(
        "python3",
        "scripts/peers/websockets_echo.py",
        "scripts/.peers/python/websockets",
        &["--deflate"],
    ) else {
        return;
    };
    // Sections 12 and 13 at 20 messages a case instead of 1000 (the same sizes and parameters), and
    // section 17 as it is.
    let cases = scaled_cases(
        "python-deflate",
        &[
            "12-deflate-echo.toml",
            "13-deflate-params.toml",
            "17-deflate-negotiation.toml",
        ],
        20,
    );
    let (code, results, stderr) = run_server(
        "python-websockets-deflate",
        Some(&url),
        &[
            "--agent",
            "websockets",
            "--cases-dir",
            cases.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let all = verdicts(&results);
    assert_eq!(all.len(), 216 + 49);
    // websockets 17.4 declines an offer of server_max_window_bits=8: zlib cannot compress with a
    // 2^8 window (RFC 7692 §7.1.2.1 lets a server decline a window it does not support).
    assert_eq!(ids_with(&results, "unimplemented"), ["17.2.1"]);
    assert_eq!(
        ids_with(&results, "pass").len(),
        all.len() - 1,
        "{:?}",
        all.iter().filter(|(_, v)| v != "pass").collect::<Vec<_>>()
    );
}
