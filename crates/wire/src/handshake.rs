//! The opening handshake (RFC 6455 §4): building and parsing the HTTP/1.1 upgrade exchange.
//!
//! [`Request`] and [`Response`] hold a head exactly as it is (or will be) written: header order and
//! the spelling of names are kept, and nothing is checked, so a test case can send any head it
//! likes. Parsing uses `httparse` and copes with a buffer that holds only part of a head, or a head
//! followed by frames.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 §1.3 appends to the client's key to compute the accept value.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most header fields a parsed head may have.
pub const MAX_HEADERS: usize = 128;

/// Most bytes a head may take, final CRLFCRLF included.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    accept_key_with_guid(key, WEBSOCKET_GUID)
}

/// base64(SHA-1(key + guid)): [`accept_key`] with another GUID, for building wrong answers on purpose.
pub fn accept_key_with_guid(key: &str, guid: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(guid.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A `Sec-WebSocket-Key` value: the base64 of 16 bytes, whose randomness is the caller's business.
pub fn generate_key(nonce: [u8; 16]) -> String {
    BASE64.encode(nonce)
}

/// An HTTP request as it will be written, header order and spelling preserved (cases override
/// anything, so nothing here is validated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method, such as "GET".
    pub method: String,
    /// The request target, such as "/chat".
    pub target: String,
    /// The version, such as "HTTP/1.1".
    pub version: String,
    /// Header fields in order, names as spelled.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The standard client handshake: GET target HTTP/1.1, Host, Upgrade: websocket, Connection:
    /// Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: 13.
    pub fn websocket(host: &str, target: &str, key: &str) -> Self {
        Request {
            method: "GET".into(),
            target: target.into(),
            version: "HTTP/1.1".into(),
            headers: fields(&[
                ("Host", host),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13"),
            ]),
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The values of all headers called `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        values(&self.headers, name)
    }

    /// Replaces the first header called `name` (case-insensitive) in place, name spelling included,
    /// dropping any later ones; appends it if there is none.
    pub fn set_header(&mut self, name: &str, value: &str) {
        set(&mut self.headers, name, value);
    }

    /// Removes every header called `name` (case-insensitive).
    pub fn remove_header(&mut self, name: &str) {
        remove(&mut self.headers, name);
    }

    /// The head as written: request line, header lines, empty line; all lines end in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("{} {} {}", self.method, self.target, self.version);
        head_bytes(&start, &self.headers)
    }
}

/// An HTTP response head, header order and spelling preserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The version, such as "HTTP/1.1".
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (empty if missing).
    pub reason: String,
    /// Header fields in order, names as spelled.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// 101 Switching Protocols with Upgrade, Connection and the Sec-WebSocket-Accept for `key`.
    pub fn switching_protocols(key: &str) -> Self {
        Response {
            version: "HTTP/1.1".into(),
            status: 101,
            reason: "Switching Protocols".into(),
            headers: fields(&[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", &accept_key(key)),
            ]),
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The values of all headers called `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        values(&self.headers, name)
    }

    /// Replaces the first header called `name` (case-insensitive) in place, name spelling included,
    /// dropping any later ones; appends it if there is none.
    pub fn set_header(&mut self, name: &str, value: &str) {
        set(&mut self.headers, name, value);
    }

    /// Removes every header called `name` (case-insensitive).
    pub fn remove_header(&mut self, name: &str) {
        remove(&mut self.headers, name);
    }

    /// The head as written: status line, header lines, empty line; all lines end in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Three digits always: a status such as 050 must read back as it was written.
        let start = format!("{} {:03} {}", self.version, self.status, self.reason);
        head_bytes(&start, &self.headers)
    }
}

/// Result of parsing a head from a buffer that may hold only part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The head has not ended yet; call again with more bytes.
    Incomplete,
    /// A whole head.
    Complete {
        /// The parsed head.
        value: T,
        /// Bytes of the head, final CRLFCRLF included; whatever follows is not consumed.
        len: usize,
    },
}

/// Why a head could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP as `httparse` reads it.
    #[error("malformed HTTP head: {0}")]
    Malformed(String),
    /// More header fields than [`MAX_HEADERS`].
    #[error("more than {0} header fields")]
    TooManyHeaders(usize),
    /// The head runs past [`MAX_HEAD_BYTES`].
    #[error("header block over {0} bytes")]
    TooLarge(usize),
}

/// Parses a response head from the start of `buf`.
///
/// `TooLarge` when the head is still incomplete after more than [`MAX_HEAD_BYTES`], or complete but
/// longer than that (so the answer does not depend on how the bytes were split).
pub fn parse_response(buf: &[u8]) -> Result<Parsed<Response>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Response::new(&mut headers);
    let Some(len) = head_len(head.parse(within_limit(buf)), buf.len())? else {
        return Ok(Parsed::Incomplete);
    };
    let value = Response {
        version: version(head.version),
        status: head.code.unwrap_or_default(),
        reason: head.reason.unwrap_or_default().into(),
        headers: owned(head.headers),
    };
    Ok(Parsed::Complete { value, len })
}

/// Parses a request head from the start of `buf`; limits as for [`parse_response`].
pub fn parse_request(buf: &[u8]) -> Result<Parsed<Request>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let Some(len) = head_len(head.parse(within_limit(buf)), buf.len())? else {
        return Ok(Parsed::Incomplete);
    };
    let value = Request {
        method: head.method.unwrap_or_default().into(),
        target: head.path.unwrap_or_default().into(),
        version: version(head.version),
        headers: owned(head.headers),
    };
    Ok(Parsed::Complete { value, len })
}

/// Does a comma-separated token list header contain `token` (case-insensitive)?
/// For example "keep-alive, Upgrade" contains "upgrade".
pub fn header_has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
}

/// Whether `text` is a token of RFC 9110 §5.6.2: one or more visible ASCII characters other than the
/// delimiters `"(),/:;<=>?@[\]{}` (the separators of RFC 2616, which RFC 6455 cites).
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// How a `Sec-WebSocket-Extensions` value breaks the ABNF of RFC 6455 §9.1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct ExtensionSyntaxError {
    /// What is wrong, in words.
    pub text: String,
    /// Whether it is a quoted parameter value that is no token once unescaped, the one part of the
    /// ABNF that RFC 6455 states with a MUST (§4.3, §9.1).
    pub quoted: bool,
}

/// Why a `Sec-WebSocket-Extensions` value does not conform to the ABNF of RFC 6455 §9.1, if it
/// does not: each element is a token, then `; param` or `; param=value`, the name and value tokens,
/// or the value a quoted string that is a token once unescaped. Empty list elements are allowed.
pub fn extension_list_problem(value: &str) -> Option<ExtensionSyntaxError> {
    let unquoted = |text: &str| {
        text.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .map(|quoted| {
                let mut unescaped = String::new();
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    unescaped.extend(if c == '\\' { chars.next() } else { Some(c) });
                }
                unescaped
            })
    };
    let broken = |text: String, quoted: bool| Some(ExtensionSyntaxError { text, quoted });
    for element in value.split(',').map(|e| e.trim_matches([' ', '\t'])) {
        if element.is_empty() {
            continue;
        }
        let mut parts = element.split(';').map(|p| p.trim_matches([' ', '\t']));
        let name = parts.next().unwrap_or_default();
        if !is_token(name) {
            return broken(format!("`{name}` is not an extension token"), false);
        }
        for param in parts {
            let (key, value) = match param.split_once('=') {
                None => (param, None),
                Some((key, value)) => (
                    key.trim_matches([' ', '\t']),
                    Some(value.trim_matches([' ', '\t'])),
                ),
            };
            let value_quoted = value.and_then(unquoted);
            let fine = is_token(key)
                && match (value, &value_quoted) {
                    (None, _) => true,
                    (Some(_), Some(unescaped)) => is_token(unescaped),
                    (Some(value), None) => is_token(value),
                };
            if !fine {
                let text = format!(
                    "the parameter `{param}` of `{name}` is not `token [ \"=\" (token | quoted-string) ]`"
                );
                return broken(text, is_token(key) && value_quoted.is_some());
            }
        }
    }
    None
}

/// One element of a `Sec-WebSocket-Extensions` list (RFC 6455 §9.1): `name; param; param=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters: name, and value if one was given (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

/// The non-empty, trimmed items of a comma-separated list.
pub fn list_items(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
}

/// The extensions of one `Sec-WebSocket-Extensions` value, in order.
pub fn parse_extensions(value: &str) -> Vec<Extension> {
    list_items(value)
        .map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default().to_owned();
            let params = parts
                .filter(|part| !part.is_empty())
                .map(|part| match part.split_once('=') {
                    Some((name, value)) => (
                        name.trim().to_owned(),
                        Some(value.trim().trim_matches('"').to_owned()),
                    ),
                    None => (part.to_owned(), None),
                })
                .collect();
            Extension { name, params }
        })
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|&(n, v)| (n.into(), v.into())).collect()
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn set(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    let mut found = false;
    headers.retain_mut(|(n, v)| {
        if !n.eq_ignore_ascii_case(name) {
            return true;
        }
        if found {
            return false;
        }
        found = true;
        (*n, *v) = (name.into(), value.into());
        true
    });
    if !found {
        headers.push((name.into(), value.into()));
    }
}

fn remove(headers: &mut Vec<(String, String)>, name: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

fn head_bytes(start_line: &str, headers: &[(String, String)]) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str(start_line);
    out.push_str("\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The head's length if complete, `None` if more bytes are needed, or why it will never parse.
/// The part of `buf` a head may occupy, and one byte more: the parser never looks past it, so a
/// long head is `TooLarge` (not `TooManyHeaders` further on) however its bytes were split into reads.
fn within_limit(buf: &[u8]) -> &[u8] {
    &buf[..buf.len().min(MAX_HEAD_BYTES + 1)]
}

fn head_len(status: httparse::Result<usize>, buf_len: usize) -> Result<Option<usize>, HeadError> {
    match status {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD_BYTES => Ok(Some(len)),
        Ok(httparse::Status::Partial) if buf_len <= MAX_HEAD_BYTES => Ok(None),
        Ok(_) => Err(HeadError::TooLarge(MAX_HEAD_BYTES)),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooManyHeaders(MAX_HEADERS)),
        Err(e) => Err(HeadError::Malformed(e.to_string())),
    }
}

fn version(minor: Option<u8>) -> String {
    format!("HTTP/1.{}", minor.unwrap_or_default())
}

fn owned(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_lists_are_checked_against_the_abnf() {
        for good in [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits, permessage-deflate",
            "permessage-deflate ; client_max_window_bits = 10",
            "permessage-deflate; client_max_window_bits=\"10\"",
            "x-ext; a=\"b\\c\", , other",
        ] {
            assert_eq!(extension_list_problem(good), None, "{good}");
        }
        for (bad, quoted) in [
            ("permessage-deflate; =15", false),
            ("permessage-deflate; client_max_window_bits=\"1 0\"", true),
            ("permessage-deflate;", false),
            ("\"permessage-deflate\"", false),
            ("permessage-deflate; a=b=c", false),
            ("perm/deflate", false),
        ] {
            let problem = extension_list_problem(bad);
            assert_eq!(problem.map(|p| p.quoted), Some(quoted), "{bad}");
        }
        assert!(is_token("chat.v1") && !is_token("chat v1") && !is_token("a/b") && !is_token(""));
    }

    /// The client's opening handshake from RFC 6455 §1.3.
    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    /// The server's answer from RFC 6455 §1.3.
    const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\r\n";

    #[test]
    fn keys() {
        assert_eq!(
            generate_key(*b"the sample nonce"),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn rfc_exchange() {
        let mut req = Request::websocket("server.example.com", "/chat", "dGhlIHNhbXBsZSBub25jZQ==");
        req.set_header("Origin", "http://example.com");
        req.set_header("Sec-WebSocket-Protocol", "chat, superchat");
        let version = req.headers.remove(4);
        req.headers.push(version);
        assert_eq!(req.to_bytes(), RFC_REQUEST);
        let Parsed::Complete { value, len } = parse_request(RFC_REQUEST).unwrap() else {
            panic!()
        };
        assert_eq!((value, len), (req, RFC_REQUEST.len()));

        let mut resp = Response::switching_protocols("dGhlIHNhbXBsZSBub25jZQ==");
        resp.set_header("Sec-WebSocket-Protocol", "chat");
        assert_eq!(resp.to_bytes(), RFC_RESPONSE);
        let Parsed::Complete { value, len } = parse_response(RFC_RESPONSE).unwrap() else {
            panic!()
        };
        assert_eq!((&value, len), (&resp, RFC_RESPONSE.len()));
        assert_eq!(
            value.header("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert!(header_has_token(
            value.header("CONNECTION").unwrap(),
            "upgrade"
        ));
    }

    #[test]
    fn split_at_every_byte() {
        for end in 0..RFC_RESPONSE.len() {
            assert_eq!(
                parse_response(&RFC_RESPONSE[..end]),
                Ok(Parsed::Incomplete),
                "end {end}"
            );
        }
        for end in 0..RFC_REQUEST.len() {
            assert_eq!(
                parse_request(&RFC_REQUEST[..end]),
                Ok(Parsed::Incomplete),
                "end {end}"
            );
        }
    }

    #[test]
    fn leftover_bytes_not_consumed() {
        // the head, then a server frame fin=1 op=1 len=2 "hi" in the same read
        let mut buf = RFC_RESPONSE.to_vec();
        buf.extend([0x81, 0x02, b'h', b'i']);
        let Parsed::Complete { len, .. } = parse_response(&buf).unwrap() else {
            panic!()
        };
        assert_eq!(&buf[len..], [0x81, 0x02, b'h', b'i']);
    }

    #[test]
    fn lossy_values_and_odd_heads() {
        let buf = b"HTTP/1.0 400 \r\nX-Bytes: a\xffb\r\nx-bytes: 2\r\n\r\n";
        let Parsed::Complete { value, .. } = parse_response(buf).unwrap() else {
            panic!()
        };
        assert_eq!(
            (value.version.as_str(), value.status, value.reason.as_str()),
            ("HTTP/1.0", 400, "")
        );
        assert_eq!(
            value.header_values("X-BYTES").collect::<Vec<_>>(),
            ["a\u{fffd}b", "2"]
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for garbage in [
            &b"\x00\x01\x02\x03\r\n\r\n"[..],
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"GET\r\n\r\n",
        ] {
            assert!(
                matches!(parse_response(garbage), Err(HeadError::Malformed(_))),
                "{garbage:?}"
            );
        }
        assert!(matches!(
            parse_request(b"\x81\x05Hello\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
    }

    #[test]
    fn limits() {
        let mut many = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend(format!("X-{i}: v\r\n").bytes());
        }
        many.extend(b"\r\n");
        assert_eq!(
            parse_response(&many),
            Err(HeadError::TooManyHeaders(MAX_HEADERS))
        );

        // an endless header line: incomplete until the limit, then too large
        let mut long = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        long.resize(MAX_HEAD_BYTES, b'a');
        assert_eq!(parse_request(&long), Ok(Parsed::Incomplete));
        long.push(b'a');
        assert_eq!(
            parse_request(&long),
            Err(HeadError::TooLarge(MAX_HEAD_BYTES))
        );
        // and a complete head over the limit is too large as well
        long.extend(b"\r\n\r\n");
        assert_eq!(
            parse_request(&long),
            Err(HeadError::TooLarge(MAX_HEAD_BYTES))
        );

        // a 1 MiB block of 1 KiB fields is too large whether it is parsed at 4 KiB or all at once:
        // its 129th field lies past the limit
        let mut block = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        while block.len() < 1 << 20 {
            block.extend(format!("X-Filler: {}\r\n", "f".repeat(1000)).bytes());
        }
        let at_4_kib = (1..)
            .map(|reads| parse_response(&block[..(reads * 4096).min(block.len())]))
            .find(|parsed| *parsed != Ok(Parsed::Incomplete));
        assert_eq!(at_4_kib, Some(Err(HeadError::TooLarge(MAX_HEAD_BYTES))));
        assert_eq!(
            parse_response(&block),
            Err(HeadError::TooLarge(MAX_HEAD_BYTES))
        );
    }

    #[test]
    fn header_editing() {
        let mut req = Request::websocket("h", "/", "k");
        req.headers.push(("upgrade".into(), "h2c".into()));
        req.set_header("UPGRADE", "WebSocket");
        assert_eq!(req.headers[1], ("UPGRADE".into(), "WebSocket".into()));
        assert_eq!(req.headers.len(), 5);
        req.set_header("Sec-WebSocket-Protocol", "chat");
        assert_eq!(req.headers.last().unwrap().0, "Sec-WebSocket-Protocol");
        req.remove_header("sec-websocket-key");
        assert_eq!(req.header("Sec-WebSocket-Key"), None);
        assert_eq!(
            req.to_bytes(),
            b"GET / HTTP/1.1\r\nHost: h\r\nUPGRADE: WebSocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
        let mut resp = Response::switching_protocols("k");
        resp.remove_header("upgrade");
        assert_eq!(resp.header("Upgrade"), None);
        assert_eq!(resp.header_values("nope").count(), 0);
    }

    #[test]
    fn tokens() {
        assert!(header_has_token("keep-alive, Upgrade", "upgrade"));
        assert!(header_has_token("Upgrade", "Upgrade"));
        assert!(header_has_token("a,\tUPGRADE ,b", "upgrade"));
        assert!(!header_has_token("Upgrade-Insecure", "upgrade"));
        assert!(!header_has_token("", "upgrade"));
    }

    /// Found by the `handshake` fuzz target: a status below 100 lost its leading zero when written.
    #[test]
    fn status_below_100_round_trips() {
        let Ok(Parsed::Complete { value, .. }) = parse_response(b"HTTP/1.1 050\n\r\n") else {
            panic!("050 parses");
        };
        let written = value.to_bytes();
        assert!(
            written.starts_with(b"HTTP/1.1 050 "),
            "{:?}",
            String::from_utf8_lossy(&written)
        );
        assert!(
            matches!(parse_response(&written), Ok(Parsed::Complete { value: again, .. }) if again == value)
        );
    }
}
