//! The reference server's side of the opening handshake (RFC 6455 §4.2).
//!
//! tungstenite 0.30's server handshake checks the request, but when a check fails it returns an error
//! without writing any HTTP response, so the client only sees TCP close. RFC 6455 §4.2.1 says a server
//! that finds a request it cannot accept MUST answer it with an HTTP error status; the reference server
//! therefore reads and answers the request head itself, with the checks below, and hands the upgraded
//! connection to tungstenite for everything after the 101.
//!
//! | the request | the answer |
//! |---|---|
//! | not `GET` | 405 Method Not Allowed, `Allow: GET` |
//! | not HTTP/1.1 or later, no single `Host` | 400 Bad Request |
//! | no `Upgrade: websocket`, or no `upgrade` token in `Connection` | 426 Upgrade Required, `Upgrade: websocket` |
//! | `Sec-WebSocket-Version` missing or not 13 | 426 Upgrade Required, `Upgrade: websocket` (RFC 9110 §7.8), `Sec-WebSocket-Version: 13` (§4.4) |
//! | no single `Sec-WebSocket-Key` that is base64 of 16 bytes | 400 Bad Request |
//! | an `Origin` the server is told to refuse | 403 Forbidden |
//! | a head over 64 KiB or 128 fields | 431 Request Header Fields Too Large |
//! | a head that is not HTTP | 400 Bad Request |
//!
//! An accepted request gets `101 Switching Protocols` with the accept key, and the first offered
//! subprotocol the server supports, if any. The server adds its permessage-deflate answer itself
//! ([`crate::deflate`]); the test peers that build on this module negotiate their own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use wsspec_wire::{HeadError, Request, Response, extension_list_problem, header_has_token};

/// What the server supports and refuses, beyond RFC 6455 itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerPolicy {
    /// Subprotocols the server speaks; the first one a client offers is selected.
    pub subprotocols: Vec<String>,
    /// Origins refused with 403.
    pub forbidden_origins: Vec<String>,
    /// Paths not served: refused with 404.
    pub missing_paths: Vec<String>,
}

/// The server's answer to a request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Switch protocols with this 101 response.
    Upgrade(Response),
    /// Refuse with this error response (its body is in the `Content-Length`-framed reason).
    Refuse(Response, String),
}

impl Answer {
    /// The bytes to write: the head, and for a refusal a short text body.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Answer::Upgrade(response) => response.to_bytes(),
            Answer::Refuse(response, body) => {
                let mut bytes = response.to_bytes();
                bytes.extend_from_slice(body.as_bytes());
                bytes
            }
        }
    }
}

/// Answers a complete request head.
pub fn answer(request: &Request, policy: &ServerPolicy) -> Answer {
    match check(request, policy) {
        Ok(protocol) => {
            let key = request
                .header("sec-websocket-key")
                .unwrap_or_default()
                .trim();
            let mut response = Response::switching_protocols(key);
            if let Some(protocol) = protocol {
                response.set_header("Sec-WebSocket-Protocol", &protocol);
            }
            Answer::Upgrade(response)
        }
        Err(refusal) => refusal,
    }
}

/// The answer to a head that could not be parsed.
pub fn answer_unparsable(err: &HeadError) -> Answer {
    match err {
        HeadError::TooLarge(_) | HeadError::TooManyHeaders(_) => refuse(
            431,
            "Request Header Fields Too Large",
            &[],
            &format!("the request head is too large: {err}"),
        ),
        HeadError::Malformed(_) => refuse(400, "Bad Request", &[], &err.to_string()),
    }
}

/// Checks a request; returns the subprotocol to select, or the refusal.
fn check(request: &Request, policy: &ServerPolicy) -> Result<Option<String>, Answer> {
    if request.method != "GET" {
        return Err(refuse(
            405,
            "Method Not Allowed",
            &[("Allow", "GET")],
            "a WebSocket handshake is a GET request (RFC 6455 §4.1)",
        ));
    }
    if !matches!(request.version.as_str(), "HTTP/1.1") {
        return Err(bad_request("a WebSocket handshake needs HTTP/1.1 or later"));
    }
    if request.header_values("host").count() != 1 {
        return Err(bad_request("the request needs exactly one Host header"));
    }
    let upgrade = request
        .header_values("upgrade")
        .any(|value| header_has_token(value, "websocket"));
    let connection = request
        .header_values("connection")
        .any(|value| header_has_token(value, "upgrade"));
    if !upgrade || !connection {
        return Err(refuse(
            426,
            "Upgrade Required",
            &[("Upgrade", "websocket")],
            "this is a WebSocket server: send Upgrade: websocket and Connection: Upgrade",
        ));
    }
    let versions: Vec<&str> = request.header_values("sec-websocket-version").collect();
    if versions.len() != 1 || versions[0].trim() != "13" {
        return Err(refuse(
            426,
            "Upgrade Required",
            &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")],
            "this server speaks WebSocket version 13 (RFC 6455 §4.4)",
        ));
    }
    let keys: Vec<&str> = request.header_values("sec-websocket-key").collect();
    let key_is_valid = match keys.as_slice() {
        [key] => BASE64
            .decode(key.trim())
            .is_ok_and(|nonce| nonce.len() == 16),
        _ => false,
    };
    if !key_is_valid {
        return Err(bad_request(
            "Sec-WebSocket-Key must be one base64-encoded 16-byte value (RFC 6455 §4.1)",
        ));
    }
    // RFC 6455 §9.1: malformed negotiation data fails the connection.
    let malformed = request
        .header_values("sec-websocket-extensions")
        .find_map(extension_list_problem);
    if let Some(problem) = malformed {
        return Err(bad_request(&format!(
            "Sec-WebSocket-Extensions does not conform to RFC 6455 §9.1: {problem}"
        )));
    }
    let path = request.target.split('?').next().unwrap_or_default();
    if policy.missing_paths.iter().any(|missing| missing == path) {
        return Err(refuse(
            404,
            "Not Found",
            &[],
            "no WebSocket service at this path",
        ));
    }
    let origin_forbidden = request.header_values("origin").any(|origin| {
        policy
            .forbidden_origins
            .iter()
            .any(|forbidden| forbidden.eq_ignore_ascii_case(origin.trim()))
    });
    if origin_forbidden {
        return Err(refuse(
            403,
            "Forbidden",
            &[],
            "this origin may not open a WebSocket here",
        ));
    }
    let offered = request
        .header_values("sec-websocket-protocol")
        .flat_map(|value| value.split(','))
        .map(str::trim);
    Ok(offered
        .into_iter()
        .find(|offered| policy.subprotocols.iter().any(|p| p == offered))
        .map(str::to_owned))
}

fn bad_request(why: &str) -> Answer {
    refuse(400, "Bad Request", &[], why)
}

fn refuse(status: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let body = format!("{body}\n");
    let mut fields: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    // A sender of `Upgrade` also sends the `upgrade` connection option (RFC 7230 §6.7); the
    // connection is closed after the refusal either way.
    let connection = if fields.iter().any(|(name, _)| name == "Upgrade") {
        "Upgrade, close"
    } else {
        "close"
    };
    fields.extend([
        ("Connection".to_owned(), connection.to_owned()),
        (
            "Content-Type".to_owned(),
            "text/plain; charset=utf-8".to_owned(),
        ),
        ("Content-Length".to_owned(), body.len().to_string()),
    ]);
    Answer::Refuse(
        Response {
            version: "HTTP/1.1".into(),
            status,
            reason: reason.into(),
            headers: fields,
        },
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_wire::accept_key;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request() -> Request {
        Request::websocket("localhost:9001", "/", KEY)
    }

    fn status(request: &Request, policy: &ServerPolicy) -> u16 {
        match answer(request, policy) {
            Answer::Upgrade(response) | Answer::Refuse(response, _) => response.status,
        }
    }

    #[test]
    fn a_valid_request_is_upgraded() {
        let Answer::Upgrade(response) = answer(&request(), &ServerPolicy::default()) else {
            panic!("refused");
        };
        assert_eq!(
            response.header("sec-websocket-accept"),
            Some(accept_key(KEY).as_str())
        );
        assert_eq!(response.header("sec-websocket-protocol"), None);
    }

    #[test]
    fn each_defect_gets_its_status() {
        let policy = ServerPolicy {
            subprotocols: vec!["chat".into()],
            forbidden_origins: vec!["http://evil.example".into()],
            missing_paths: vec!["/gone".into()],
        };
        type Edit<'a> = &'a dyn Fn(&mut Request);
        let edits: [(Edit, u16); 13] = [
            (&|r| r.method = "POST".into(), 405),
            (&|r| r.version = "HTTP/1.0".into(), 400),
            (&|r| r.remove_header("host"), 400),
            (&|r| r.set_header("Upgrade", "h2c"), 426),
            (&|r| r.set_header("Connection", "keep-alive"), 426),
            (&|r| r.set_header("Sec-WebSocket-Version", "8"), 426),
            (&|r| r.remove_header("Sec-WebSocket-Version"), 426),
            (
                &|r| r.set_header("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"),
                400,
            ),
            (&|r| r.set_header("Sec-WebSocket-Key", "not base64!"), 400),
            (&|r| r.set_header("Origin", "http://EVIL.example"), 403),
            (&|r| r.target = "/gone".into(), 404),
            (&|r| r.target = "/gone?x=1".into(), 404),
            (
                &|r| r.set_header("Sec-WebSocket-Extensions", "permessage-deflate; =15"),
                400,
            ),
        ];
        for (edit, expected) in edits {
            let mut req = request();
            edit(&mut req);
            assert_eq!(status(&req, &policy), expected, "{req:?}");
        }
    }

    #[test]
    fn the_first_supported_offer_is_selected() {
        let policy = ServerPolicy {
            subprotocols: vec!["b".into(), "c".into()],
            ..ServerPolicy::default()
        };
        let mut req = request();
        req.headers
            .push(("Sec-WebSocket-Protocol".into(), "a, c".into()));
        req.headers
            .push(("Sec-WebSocket-Protocol".into(), "b".into()));
        let Answer::Upgrade(response) = answer(&req, &policy) else {
            panic!("refused");
        };
        assert_eq!(response.header("sec-websocket-protocol"), Some("c"));
    }

    #[test]
    fn refusals_carry_a_framed_body() {
        let bytes = answer_unparsable(&HeadError::TooLarge(65536)).to_bytes();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
