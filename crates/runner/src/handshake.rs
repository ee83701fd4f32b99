//! Building the request head a case asks for, and remembering what it offered.
//!
//! The case model says what to change in the standard client handshake ([`RequestSpec`]); this module
//! turns that into bytes for one connection (expanding the `$name` placeholders) and reads back, from
//! those very bytes, what the request offered: the key, the subprotocols and the extensions. The
//! response is then judged against the offer, so a case that sends a malformed key or two protocol
//! headers is judged on what actually went out.

use wsspec_suite::handshake::{
    HandshakePolicy, HeaderCase, RequestEdit, RequestSpec, ResponseSpec,
};
pub use wsspec_wire::{Extension, list_items, parse_extensions};
use wsspec_wire::{Parsed, Request, Response, accept_key, extension_list_problem, parse_request};

/// The per-connection values a request may name.
#[derive(Clone, Debug)]
pub struct RequestContext<'a> {
    /// The `Host` value for the target URL.
    pub host: &'a str,
    /// The URL's host name alone.
    pub hostname: &'a str,
    /// The URL's port, explicit or not.
    pub port: u16,
    /// The URL's path and query.
    pub resource: &'a str,
    /// This connection's `Sec-WebSocket-Key`.
    pub key: &'a str,
    /// What the user declared about the server.
    pub policy: &'a HandshakePolicy,
}

impl RequestContext<'_> {
    /// `text` with every `$name` placeholder replaced by its value. Undeclared policy values are
    /// left as written: cases that need them do not run without them.
    pub fn expand(&self, text: &str) -> String {
        let first = |values: &[String]| values.first().cloned();
        let mut out = text.to_owned();
        for (name, value) in [
            ("$subprotocol", first(&self.policy.subprotocols)),
            ("$allowed_origin", first(&self.policy.allowed_origins)),
            ("$forbidden_origin", first(&self.policy.forbidden_origins)),
            ("$missing_path", first(&self.policy.missing_paths)),
            ("$resource", Some(self.resource.to_owned())),
            ("$hostname", Some(self.hostname.to_owned())),
            ("$host", Some(self.host.to_owned())),
            ("$port", Some(self.port.to_string())),
            ("$key", Some(self.key.to_owned())),
        ] {
            if let Some(value) = value {
                out = out.replace(name, &value);
            }
        }
        out
    }
}

/// The request head for a case, as bytes, and what it offers.
pub fn build_request(spec: &RequestSpec, ctx: &RequestContext<'_>) -> (Vec<u8>, Offer) {
    match spec {
        RequestSpec::Raw(raw) => {
            let head = ctx.expand(raw).into_bytes();
            let offer = match parse_request(&head) {
                Ok(Parsed::Complete { value, .. }) => Offer::of(&value.headers),
                _ => Offer::default(),
            };
            (head, offer)
        }
        RequestSpec::Edit(edit) => {
            let request = edited_request(edit, ctx);
            (request.to_bytes(), Offer::of(&request.headers))
        }
    }
}

fn edited_request(edit: &RequestEdit, ctx: &RequestContext<'_>) -> Request {
    let mut resource = ctx.resource.to_owned();
    if let Some(query) = &edit.query {
        resource.push(if resource.contains('?') { '&' } else { '?' });
        resource.push_str(&ctx.expand(query));
    }
    if edit.query_bytes > 0 {
        resource.push(if resource.contains('?') { '&' } else { '?' });
        resource.push_str("wsspec_filler=");
        resource.push_str(&"q".repeat(edit.query_bytes));
    }
    let mut request = Request::websocket(ctx.host, &resource, ctx.key);
    if let Some(method) = &edit.method {
        request.method = ctx.expand(method);
    }
    if let Some(version) = &edit.http_version {
        request.version = ctx.expand(version);
    }
    for name in &edit.remove {
        request.remove_header(name);
    }
    for (name, value) in &edit.set {
        request.set_header(&ctx.expand(name), &ctx.expand(value));
    }
    for (name, value) in &edit.add {
        request.headers.push((ctx.expand(name), ctx.expand(value)));
    }
    request.headers.extend(filler_headers(edit.filler_bytes));
    let first = request.headers.len();
    request.headers.extend(
        (1..=edit.filler_fields).map(|n| (format!("X-Wsspec-Field-{n}"), (first + n).to_string())),
    );
    for (name, _) in &mut request.headers {
        match edit.header_case {
            HeaderCase::Canonical => {}
            HeaderCase::Lower => name.make_ascii_lowercase(),
            HeaderCase::Upper => name.make_ascii_uppercase(),
        }
    }
    request
}

/// Header fields of at most [`FILLER_LINE`] bytes each that add up to about `bytes` bytes.
fn filler_headers(bytes: usize) -> Vec<(String, String)> {
    const FILLER_LINE: usize = 1000;
    let mut fields = Vec::new();
    let mut left = bytes;
    while left > 0 {
        let name = format!("X-Wsspec-Filler-{}", fields.len() + 1);
        // "name: value\r\n"
        let overhead = name.len() + 4;
        let value_len = left.min(FILLER_LINE).saturating_sub(overhead).max(1);
        left = left.saturating_sub(value_len + overhead);
        fields.push((name, "f".repeat(value_len)));
    }
    fields
}

/// The response head a case sends to a client whose request carried `key`; `extensions`, the
/// `Sec-WebSocket-Extensions` value accepting what was agreed (a raw head is sent as written).
pub fn build_response(spec: &ResponseSpec, key: &str, extensions: Option<&str>) -> Vec<u8> {
    let accept = accept_key(key);
    let expand = |text: &str| text.replace("$accept", &accept).replace("$key", key);
    let mut response = Response::switching_protocols(key);
    if let Some(extensions) = extensions {
        response.set_header("Sec-WebSocket-Extensions", extensions);
    }
    let edit = match spec {
        ResponseSpec::Upgrade => return response.to_bytes(),
        ResponseSpec::Raw(raw) => return expand(raw).into_bytes(),
        ResponseSpec::Edit(edit) => edit,
    };
    if let Some(status) = edit.status {
        response.status = status;
        response.reason = reason_phrase(status).to_owned();
    }
    for name in &edit.remove {
        response.remove_header(name);
    }
    for (name, value) in &edit.set {
        response.set_header(&expand(name), &expand(value));
    }
    for (name, value) in &edit.add {
        response.headers.push((expand(name), expand(value)));
    }
    response.to_bytes()
}

/// The usual reason phrase of a status code.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// What a request offered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// The `Sec-WebSocket-Key`, if the request had exactly one.
    pub key: Option<String>,
    /// Every subprotocol offered, across all `Sec-WebSocket-Protocol` fields.
    pub subprotocols: Vec<String>,
    /// Every extension offered: its name and its parameters as written.
    pub extensions: Vec<Extension>,
    /// Why the `Sec-WebSocket-Extensions` offer does not conform to the ABNF of RFC 6455 §9.1, if
    /// it does not.
    pub malformed_extensions: Option<String>,
}

impl Offer {
    /// What a request with these header fields offers.
    pub fn of(headers: &[(String, String)]) -> Offer {
        let mut keys = header_values(headers, "sec-websocket-key");
        Offer {
            key: match (keys.next(), keys.next()) {
                (Some(key), None) => Some(key.trim().to_owned()),
                _ => None,
            },
            subprotocols: header_values(headers, "sec-websocket-protocol")
                .flat_map(list_items)
                .collect(),
            extensions: header_values(headers, "sec-websocket-extensions")
                .flat_map(parse_extensions)
                .collect(),
            malformed_extensions: header_values(headers, "sec-websocket-extensions")
                .find_map(extension_list_problem)
                .map(|error| error.text),
        }
    }
}

/// The values of every header field called `name` (case-insensitive).
pub fn header_values<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(policy: &HandshakePolicy) -> RequestContext<'_> {
        RequestContext {
            host: "example.com:9001",
            hostname: "example.com",
            port: 9001,
            resource: "/chat",
            key: "dGhlIHNhbXBsZSBub25jZQ==",
            policy,
        }
    }

    fn text(spec: &RequestSpec, policy: &HandshakePolicy) -> String {
        String::from_utf8(build_request(spec, &context(policy)).0).unwrap()
    }

    #[test]
    fn the_standard_request_is_unchanged() {
        let head = text(&RequestSpec::default(), &HandshakePolicy::default());
        assert_eq!(
            head,
            "GET /chat HTTP/1.1\r\nHost: example.com:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
    }

    #[test]
    fn edits_apply_in_order_and_expand_placeholders() {
        let policy = HandshakePolicy {
            subprotocols: vec!["chat.v2".into()],
            ..HandshakePolicy::default()
        };
        let spec = RequestSpec::Edit(RequestEdit {
            method: Some("POST".into()),
            http_version: Some("HTTP/1.0".into()),
            query: Some("a=1".into()),
            remove: vec!["host".into()],
            set: vec![("Sec-WebSocket-Version".into(), "25".into())],
            add: vec![
                ("Sec-WebSocket-Protocol".into(), "x, $subprotocol".into()),
                ("Sec-WebSocket-Protocol".into(), "y".into()),
            ],
            header_case: HeaderCase::Lower,
            ..RequestEdit::default()
        });
        let head = text(&spec, &policy);
        assert!(head.starts_with("POST /chat?a=1 HTTP/1.0\r\nupgrade: websocket\r\n"));
        assert!(head.contains("sec-websocket-version: 25\r\n"));
        assert!(!head.contains("host:"));
        let (_, offer) = build_request(&spec, &context(&policy));
        assert_eq!(offer.subprotocols, ["x", "chat.v2", "y"]);
        assert_eq!(offer.key.as_deref(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
    }

    #[test]
    fn raw_heads_expand_and_undeclared_values_stay() {
        let spec = RequestSpec::Raw(
            "GET $resource HTTP/1.1\r\nHost: $host\r\nOrigin: $forbidden_origin\r\n\r\n".into(),
        );
        let head = text(&spec, &HandshakePolicy::default());
        assert_eq!(
            head,
            "GET /chat HTTP/1.1\r\nHost: example.com:9001\r\nOrigin: $forbidden_origin\r\n\r\n"
        );
        let (_, offer) = build_request(&spec, &context(&HandshakePolicy::default()));
        assert_eq!(offer, Offer::default());
    }

    #[test]
    fn filler_reaches_the_asked_size_in_short_lines() {
        let spec = RequestSpec::Edit(RequestEdit {
            filler_bytes: 64 * 1024,
            ..RequestEdit::default()
        });
        let plain = text(&RequestSpec::default(), &HandshakePolicy::default()).len();
        let filled = text(&spec, &HandshakePolicy::default());
        let added = filled.len() - plain;
        assert!((64 * 1024..64 * 1024 + 100).contains(&added), "{added}");
        assert!(filled.lines().all(|line| line.len() <= 1000));
    }

    #[test]
    fn responses_are_edited_or_raw() {
        use wsspec_suite::handshake::ResponseEdit;
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let plain = String::from_utf8(build_response(&ResponseSpec::Upgrade, key, None)).unwrap();
        assert!(plain.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        let edit = ResponseSpec::Edit(ResponseEdit {
            status: Some(200),
            remove: vec!["upgrade".into()],
            set: vec![("Sec-WebSocket-Accept".into(), "x$accept".into())],
            add: vec![("Sec-WebSocket-Protocol".into(), "never-offered".into())],
        });
        let edited = String::from_utf8(build_response(&edit, key, None)).unwrap();
        assert!(edited.starts_with("HTTP/1.1 200 OK\r\nConnection: Upgrade\r\n"));
        assert!(edited.contains("Sec-WebSocket-Accept: xs3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(edited.ends_with("Sec-WebSocket-Protocol: never-offered\r\n\r\n"));
        let raw = ResponseSpec::Raw("HTTP/1.1 101 X\r\nA: $key\r\n\r\n".into());
        assert_eq!(
            build_response(&raw, key, None),
            b"HTTP/1.1 101 X\r\nA: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
    }

    #[test]
    fn extensions_parse_with_parameters() {
        let offered =
            parse_extensions("permessage-deflate; client_max_window_bits, x-foo; a=\"1\" ;b");
        assert_eq!(offered.len(), 2);
        assert_eq!(offered[0].name, "permessage-deflate");
        assert_eq!(offered[0].params, [("client_max_window_bits".into(), None)]);
        assert_eq!(
            offered[1].params,
            [("a".into(), Some("1".into())), ("b".into(), None)]
        );
    }
}
