//! Judging a client's opening handshake (RFC 6455 §4.1, the client's MUSTs; RFC 7692 §7.1.2 for the
//! permessage-deflate window sizes it offers): the request itself, and nothing sent before the
//! response came.

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use wsspec_wire::{
    Request, deflate::PERMESSAGE_DEFLATE, deflate::window_bits, header_has_token, is_token,
};

use super::handshake::HandshakeProblem;
use crate::{handshake::parse_extensions, transport::Channel};

/// What is wrong with `early` bytes that a client sent after its opening handshake and before the
/// harness answered it (RFC 6455 §4.1: it MUST wait for the response).
pub fn check_early_data(early: &[u8]) -> Option<HandshakeProblem> {
    (!early.is_empty()).then(|| HandshakeProblem {
        text: format!(
            "{} bytes followed the request before the response (§4.1: the client MUST wait for it)",
            early.len()
        ),
        breaks: &["6455-4.1-35"],
    })
}

/// Everything wrong with a client's opening handshake (RFC 6455 §4.1, the client's MUSTs); empty when
/// it is correct. `seen_before` says whether this key was already used on another connection, and
/// `channel` how the request came (for the SNI of a TLS connection).
pub fn check_client_request(
    request: &Request,
    seen_before: bool,
    channel: &Channel,
) -> Vec<HandshakeProblem> {
    let mut problems = Vec::new();
    let mut problem = |breaks: &'static [&'static str], text: String| {
        problems.push(HandshakeProblem { text, breaks });
    };
    if let Some(why) = missing_sni(request, channel) {
        problem(&["6455-4.1-16"], why);
    }
    if request.method != "GET" {
        problem(
            &["6455-4.1-19"],
            format!("the method is {}, not GET (§4.1 point 2)", request.method),
        );
    }
    if request.version != "HTTP/1.1" {
        problem(
            &["6455-4.1-19"],
            format!(
                "the version is {}, not HTTP/1.1 (§4.1 point 2)",
                request.version
            ),
        );
    }
    if let Some(why) = request_target_problem(&request.target) {
        problem(&["6455-4.1-20"], why);
    }
    if request.header_values("host").count() != 1 {
        problem(
            &["6455-4.1-21"],
            "the request needs exactly one Host header (§4.1 point 4)".into(),
        );
    }
    if !request
        .header_values("upgrade")
        .any(|value| header_has_token(value, "websocket"))
    {
        problem(
            &["6455-4.1-22"],
            "no `Upgrade: websocket` (§4.1 point 5)".into(),
        );
    }
    if !request
        .header_values("connection")
        .any(|value| header_has_token(value, "upgrade"))
    {
        problem(
            &["6455-4.1-23"],
            "no `upgrade` token in Connection (§4.1 point 6)".into(),
        );
    }
    let keys: Vec<&str> = request.header_values("sec-websocket-key").collect();
    match keys.as_slice() {
        [key]
            if BASE64
                .decode(key.trim())
                .is_ok_and(|nonce| nonce.len() == 16) =>
        {
            if seen_before {
                problem(
                    &["6455-4.1-26"],
                    format!(
                        "Sec-WebSocket-Key {} was already used on another connection; it MUST be selected randomly for each connection (§4.1 point 7)",
                        key.trim()
                    ),
                );
            }
        }
        [key] => problem(
            &["6455-4.1-25"],
            format!("Sec-WebSocket-Key `{key}` is not the base64 of 16 bytes (§4.1 point 7)"),
        ),
        [] => problem(
            &["6455-4.1-24"],
            "no Sec-WebSocket-Key (§4.1 point 7)".into(),
        ),
        _ => problem(
            &["6455-11.3.1-1"],
            "more than one Sec-WebSocket-Key (§11.3.1)".into(),
        ),
    }
    let versions: Vec<&str> = request.header_values("sec-websocket-version").collect();
    let breaks: &'static [&'static str] = match versions.as_slice() {
        [] => &["6455-4.1-29"],
        [version] if version.trim() == "13" => &[],
        [_] => &["6455-4.1-30"],
        _ => &["6455-11.3.5-2"],
    };
    if !breaks.is_empty() {
        problem(
            breaks,
            format!(
                "Sec-WebSocket-Version is `{}`, not 13 (§4.1 point 9)",
                versions.join(", ")
            ),
        );
    }
    if let Some(why) = subprotocol_offer_problem(request) {
        problem(&["6455-4.1-32"], why);
    }
    for (name, value) in invalid_window_bits(request) {
        let breaks: &'static [&'static str] = match name.as_str() {
            "server_max_window_bits" => &["7692-7.1.2.1-2"],
            _ => &["7692-7.1.2.2-2"],
        };
        problem(
            breaks,
            format!(
                "the permessage-deflate offer has `{name}{}`: the value MUST be 8 to 15 without a leading zero (RFC 7692 §7.1.2)",
                value.map(|v| format!("={v}")).unwrap_or_default()
            ),
        );
    }
    problems
}

/// Why a TLS connection breaks §4.1 "Clients MUST use the Server Name Indication extension", if it
/// does: it named no host, though the request's Host is a DNS name. (RFC 6066 §3 allows no IP
/// address in SNI, so a client that connected to an address sends none.)
fn missing_sni(request: &Request, channel: &Channel) -> Option<String> {
    let Channel::Tls { server_name: None } = channel else {
        return None;
    };
    let host = request.header("host")?.trim();
    let url = url::Url::parse(&format!("https://{host}/")).ok()?;
    let Some(url::Host::Domain(name)) = url.host() else {
        return None;
    };
    Some(format!(
        "the TLS handshake carried no server_name (SNI), though the request is for host `{name}` (§4.1: clients MUST use the Server Name Indication extension)"
    ))
}

/// What is wrong with a request-target, if anything: §4.1 point 3 wants the resource name (a
/// relative URI) or an absolute http or https URI with the same resource name, host and port. The
/// listener routes only targets whose resource name is one it gave out, so the scheme is what is
/// left to check here.
fn request_target_problem(target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let scheme = url::Url::parse(target).map(|url| url.scheme().to_owned());
    match scheme.as_deref() {
        Ok("http" | "https") => None,
        Ok(scheme) => Some(format!(
            "the request-target `{target}` is a {scheme} URI: it MUST be the resource name or an http or https URI (§4.1 point 3)"
        )),
        Err(_) => Some(format!(
            "the request-target `{target}` is neither a resource name nor an absolute URI (§4.1 point 3)"
        )),
    }
}

/// What is wrong with the subprotocols a client offers, if anything: RFC 6455 §4.1 point 10 wants
/// non-empty tokens (U+0021 to U+007E without the separators of RFC 2616), all different.
fn subprotocol_offer_problem(request: &Request) -> Option<String> {
    let offered: Vec<&str> = request
        .header_values("sec-websocket-protocol")
        .flat_map(|value| value.split(','))
        .map(|item| item.trim_matches([' ', '\t']))
        .collect();
    if let Some(bad) = offered.iter().find(|item| !is_token(item)) {
        return Some(format!(
            "the subprotocol `{bad}` offered in Sec-WebSocket-Protocol is not a token (§4.1 point 10)"
        ));
    }
    let repeated = offered
        .iter()
        .enumerate()
        .find(|(at, item)| offered[..*at].contains(item));
    repeated.map(|(_, item)| {
        format!(
            "the subprotocol `{item}` is offered twice in Sec-WebSocket-Protocol (§4.1 point 10)"
        )
    })
}

/// The window-bits parameters of a client's permessage-deflate offers whose value breaks the ABNF of
/// RFC 7692 §7.1.2: `server_max_window_bits` always takes a value, `client_max_window_bits` may go
/// without one. (Other flaws of an offer only make the server decline it, §7.)
fn invalid_window_bits(request: &Request) -> Vec<(String, Option<String>)> {
    request
        .header_values("sec-websocket-extensions")
        .flat_map(parse_extensions)
        .filter(|offer| offer.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .flat_map(|offer| offer.params)
        .filter(|(name, value)| {
            let name = name.to_ascii_lowercase();
            match (name.as_str(), value.as_deref()) {
                ("client_max_window_bits", None) => false,
                ("server_max_window_bits" | "client_max_window_bits", Some(v)) => {
                    window_bits(v).is_none()
                }
                ("server_max_window_bits", None) => true,
                _ => false,
            }
        })
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn a_client_request_is_checked_point_by_point() {
        let good = Request::websocket("example.com", "/chat", KEY);
        assert!(check_client_request(&good, false, &Channel::Plain).is_empty());
        let reused = &check_client_request(&good, true, &Channel::Plain)[0];
        assert!(reused.text.contains("already used"));
        assert_eq!(reused.breaks, ["6455-4.1-26"]);
        assert!(check_early_data(b"").is_none());
        let no_sni = Channel::Tls { server_name: None };
        let by_name = Request::websocket("localhost:9001", "/chat", KEY);
        let missing = check_client_request(&by_name, false, &no_sni);
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert_eq!(missing[0].breaks, ["6455-4.1-16"]);
        assert!(
            missing[0].text.contains("host `localhost`"),
            "{}",
            missing[0].text
        );
        let sni = Channel::Tls {
            server_name: Some("localhost".into()),
        };
        assert!(check_client_request(&by_name, false, &sni).is_empty());
        for address in ["127.0.0.1:9001", "[::1]:9001"] {
            let by_address = Request::websocket(address, "/chat", KEY);
            assert!(
                check_client_request(&by_address, false, &no_sni).is_empty(),
                "{address}"
            );
        }
        for target in [
            "http://example.com/chat",
            "https://example.com:8443/chat?x=1",
        ] {
            let absolute = Request::websocket("example.com", target, KEY);
            assert!(
                check_client_request(&absolute, false, &Channel::Plain).is_empty(),
                "{target}"
            );
        }
        for (target, says) in [
            ("ws://example.com/chat", "is a ws URI"),
            ("chat", "neither a resource name"),
        ] {
            let bent = Request::websocket("example.com", target, KEY);
            let problems = check_client_request(&bent, false, &Channel::Plain);
            assert_eq!(problems.len(), 1, "{target}");
            assert_eq!(problems[0].breaks, ["6455-4.1-20"]);
            assert!(problems[0].text.contains(says), "{}", problems[0].text);
        }
        let early = check_early_data(&[0x81, 0x80]).unwrap();
        assert_eq!(early.breaks, ["6455-4.1-35"]);
        assert!(early.text.starts_with("2 bytes followed the request"));
        let mut bad = good.clone();
        bad.method = "POST".into();
        bad.remove_header("host");
        bad.set_header("Sec-WebSocket-Key", "AAAA");
        bad.set_header("Sec-WebSocket-Version", "8");
        bad.set_header("Connection", "keep-alive");
        let found = check_client_request(&bad, false, &Channel::Plain);
        let broken: Vec<&str> = found
            .iter()
            .flat_map(|p| p.breaks.iter().copied())
            .collect();
        assert_eq!(
            broken,
            [
                "6455-4.1-19",
                "6455-4.1-21",
                "6455-4.1-23",
                "6455-4.1-25",
                "6455-4.1-30"
            ],
            "{found:?}"
        );
    }

    #[test]
    fn offered_subprotocols_must_be_distinct_tokens() {
        let mut request = Request::websocket("example.com", "/chat", KEY);
        request.set_header("Sec-WebSocket-Protocol", "chat.v1, mqtt");
        request
            .headers
            .push(("Sec-WebSocket-Protocol".into(), "wamp.2.json".into()));
        assert!(check_client_request(&request, false, &Channel::Plain).is_empty());
        for (offer, found) in [
            (
                "chat v1",
                "`chat v1` offered in Sec-WebSocket-Protocol is not a token",
            ),
            ("chat, , mqtt", "`` offered"),
            ("chat/1", "`chat/1`"),
            ("chat, mqtt, chat", "`chat` is offered twice"),
        ] {
            request.set_header("Sec-WebSocket-Protocol", offer);
            let problems = check_client_request(&request, false, &Channel::Plain);
            assert_eq!(problems.len(), 1, "{offer}: {problems:?}");
            assert_eq!(problems[0].breaks, ["6455-4.1-32"]);
            assert!(problems[0].text.contains(found), "{offer}: {problems:?}");
        }
    }

    #[test]
    fn a_client_offer_with_window_bits_outside_the_abnf_breaks_rfc_7692() {
        let mut request = Request::websocket("example.com", "/chat", KEY);
        for valid in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=8; server_max_window_bits=15",
            // Flaws that only make the server decline the offer (RFC 7692 §7).
            "permessage-deflate; x-unknown, permessage-deflate; server_no_context_takeover",
        ] {
            request.set_header("Sec-WebSocket-Extensions", valid);
            assert!(
                check_client_request(&request, false, &Channel::Plain).is_empty(),
                "{valid}"
            );
        }
        request.set_header(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; server_max_window_bits=16; client_max_window_bits=0, \
             permessage-deflate; server_max_window_bits; client_max_window_bits=09",
        );
        let found = check_client_request(&request, false, &Channel::Plain);
        let broken: Vec<&str> = found.iter().flat_map(|p| p.breaks.to_vec()).collect();
        assert_eq!(
            broken,
            [
                "7692-7.1.2.1-2",
                "7692-7.1.2.2-2",
                "7692-7.1.2.1-2",
                "7692-7.1.2.2-2"
            ]
        );
        assert!(
            found[0].text.contains("`server_max_window_bits=16`"),
            "{found:?}"
        );
        assert!(
            found[2].text.contains("`server_max_window_bits`:"),
            "{found:?}"
        );
    }
}
