//! The opening handshake a case asks for (RFC 6455 §4), and what the peer must answer.
//!
//! By default a case opens its connection with the standard client handshake and expects a correct
//! `101 Switching Protocols`. A case's `[case.handshake]` table changes the request (method, HTTP
//! version, query, header edits, header-name case, filler headers, or a whole raw head), how it is
//! written (chopped, with frames pipelined behind it), and what the answer must be: an upgrade, or a
//! refusal with an HTTP error status.
//!
//! Strings in a request may name values that only the run knows, as `$name`:
//!
//! | placeholder | value |
//! |---|---|
//! | `$host` | the `Host` value of the target URL (`host` or `host:port`) |
//! | `$hostname`, `$port` | the URL's host name and port (the port even when it is the default) |
//! | `$resource` | the URL's path and query |
//! | `$key` | the `Sec-WebSocket-Key` generated for this connection |
//! | `$subprotocol` | the first subprotocol declared with `--subprotocol` |
//! | `$allowed_origin` | the first origin declared with `--allowed-origin` |
//! | `$forbidden_origin` | the first origin declared with `--forbidden-origin` |
//! | `$missing_path` | the first path declared with `--missing-path` |
//!
//! A case that names a declared value runs only when the user declared it ([`Case::needs`]).
//!
//! [`Case::needs`]: crate::Case::needs

use serde::{Deserialize, Serialize};

use crate::case::{FrameSpec, WritePlan};
use crate::results::Verdict;

/// How a case opens its connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Handshake {
    /// The request head to send.
    pub request: RequestSpec,
    /// How the head goes onto the socket (e.g. byte by byte).
    pub write: WritePlan,
    /// Frames written in the same write as the head, before the response arrives.
    pub pipelined: Vec<FrameSpec>,
    /// What the peer must answer.
    pub expect: HandshakeExpect,
    /// After the case, open one more connection with the standard handshake, which must be upgraded:
    /// proof that the request did not break the server.
    pub then_connect: bool,
    /// When the target is a client: the response to send instead of a correct 101.
    pub response: ResponseSpec,
}

/// The response a case sends to a client's request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResponseSpec {
    /// A correct `101 Switching Protocols`, with edits.
    #[default]
    Upgrade,
    /// A correct 101 changed by these edits.
    Edit(ResponseEdit),
    /// A whole head exactly as written (placeholders `$accept` and `$key` expanded).
    Raw(String),
}

/// Changes to the correct 101 response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseEdit {
    /// Another status code (the reason phrase follows it).
    pub status: Option<u16>,
    /// Header fields removed.
    pub remove: Vec<String>,
    /// Header fields replaced in place, or appended.
    pub set: Vec<(String, String)>,
    /// Header fields appended.
    pub add: Vec<(String, String)>,
}

impl Handshake {
    /// Whether this is the standard handshake with nothing changed.
    pub fn is_standard(&self) -> bool {
        *self == Handshake::default()
    }
}

/// The request head a case sends.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestSpec {
    /// The standard client handshake for the target URL, with edits.
    Edit(RequestEdit),
    /// A whole head exactly as written (placeholders expanded); it must end with an empty line.
    Raw(String),
}

impl Default for RequestSpec {
    fn default() -> Self {
        RequestSpec::Edit(RequestEdit::default())
    }
}

impl RequestSpec {
    /// Every string of the request, for finding placeholders.
    pub fn strings(&self) -> Vec<&str> {
        match self {
            RequestSpec::Raw(raw) => vec![raw.as_str()],
            RequestSpec::Edit(edit) => {
                let mut all: Vec<&str> = [&edit.method, &edit.http_version, &edit.query]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                for (name, value) in edit.set.iter().chain(&edit.add) {
                    all.push(name);
                    all.push(value);
                }
                all.extend(edit.remove.iter().map(String::as_str));
                all
            }
        }
    }
}

/// Changes to the standard client handshake, applied in the order of the fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestEdit {
    /// The method instead of `GET`.
    pub method: Option<String>,
    /// The HTTP version instead of `HTTP/1.1`.
    pub http_version: Option<String>,
    /// A query appended to the URL's resource (after `?`, or `&` if it has one).
    pub query: Option<String>,
    /// A filler query parameter appended to the resource, this many bytes long.
    pub query_bytes: usize,
    /// Headers removed (every field of that name, any case).
    pub remove: Vec<String>,
    /// Headers replaced in place (name spelling included), or appended when missing.
    pub set: Vec<(String, String)>,
    /// Headers appended, even when a field of that name exists.
    pub add: Vec<(String, String)>,
    /// Filler header fields (`X-Wsspec-Filler-N`, up to 1000 bytes each) appended until they add
    /// this many bytes.
    pub filler_bytes: usize,
    /// This many more filler fields of a few bytes each.
    pub filler_fields: usize,
    /// How header names are spelled.
    pub header_case: HeaderCase,
}

/// The spelling of header names in a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderCase {
    /// As written (the standard fields as in RFC 6455, e.g. `Sec-WebSocket-Key`).
    #[default]
    Canonical,
    /// All lower case.
    Lower,
    /// All upper case.
    Upper,
}

/// What the peer must answer to the request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HandshakeExpect {
    /// A correct `101 Switching Protocols` (RFC 6455 §4.2.2); then the case's steps run.
    #[default]
    Upgrade,
    /// An HTTP error response and no upgrade (RFC 6455 §4.2.1); the case has no steps.
    Refuse(Refusal),
}

/// How a refusal is judged. A 4xx status is OK; the other answers earn the verdicts below (and the
/// case's level caps them, as always).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The refusal must carry `Sec-WebSocket-Version` with the versions the server speaks (§4.4).
    pub version_header: bool,
    /// Statuses the RFCs name for this refusal (e.g. 426, or 505 for an HTTP version); they pass, as
    /// does any 4xx.
    pub typical: Vec<u16>,
    /// A `101` that upgrades the connection anyway.
    pub if_upgraded: Verdict,
    /// A status below 400 other than 101, e.g. `200` from a server that also serves plain HTTP.
    pub if_not_error: Verdict,
    /// A 5xx status: an error, but one that blames the server instead of the request.
    pub if_server_error: Verdict,
    /// The connection closed (or timed out) with no response at all.
    pub if_no_response: Verdict,
}

impl Default for Refusal {
    fn default() -> Self {
        Refusal {
            version_header: false,
            typical: Vec::new(),
            if_upgraded: Verdict::Fail,
            if_not_error: Verdict::Fail,
            if_server_error: Verdict::NonStrict,
            if_no_response: Verdict::Fail,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.if_upgraded == Verdict::Pass {
            f.write_str("a correct upgrade, or ")?;
        }
        f.write_str("an HTTP error response (4xx")?;
        if !self.typical.is_empty() {
            let typical: Vec<String> = self.typical.iter().map(ToString::to_string).collect();
            write!(f, ", typically {}", typical.join("/"))?;
        }
        if self.if_upgraded != Verdict::Pass {
            f.write_str(") and no upgrade")?;
        } else {
            f.write_str(")")?;
        }
        if self.version_header {
            f.write_str(", listing the supported versions in Sec-WebSocket-Version")?;
        }
        Ok(())
    }
}

/// A case that needs permessage-deflate (RFC 7692): what the harness asks for, role-neutrally.
///
/// Testing a server, the harness sends one offer per entry of `offers`, in order of preference. Testing
/// a client, it answers the client's first offer that lets it ask for what an entry asks (trying the
/// entries in order). When nothing is agreed, a `required` case is UNIMPLEMENTED, as in Autobahn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateSpec {
    /// The parameter sets, most preferred first (at least one).
    pub offers: Vec<DeflateOffer>,
    /// Whether the case is UNIMPLEMENTED when the peer does not agree to permessage-deflate.
    pub required: bool,
}

/// One set of permessage-deflate parameters, from the harness's side: `peer_*` asks the peer,
/// the others are the harness's own promises. A case file holds it as it is (`deflate = { offers =
/// [..] }`): this is its raw form too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeflateOffer {
    /// Ask the peer not to use context takeover (`server_no_context_takeover` in an offer,
    /// `client_no_context_takeover` in a response).
    #[serde(default, skip_serializing_if = "crate::spec::is_default")]
    pub peer_no_context_takeover: bool,
    /// Ask the peer to use at most a 2^N window (`server_max_window_bits=N` in an offer,
    /// `client_max_window_bits=N` in a response: only when the client's offer allows it).
    #[serde(default)]
    pub peer_max_window_bits: Option<u8>,
    /// The harness will not use context takeover (`client_no_context_takeover` in an offer,
    /// `server_no_context_takeover` in a response).
    #[serde(default, skip_serializing_if = "crate::spec::is_default")]
    pub no_context_takeover: bool,
    /// The harness will use at most a 2^N window (`client_max_window_bits=N` in an offer, where
    /// otherwise `client_max_window_bits` has no value; `server_max_window_bits=N` in a response).
    #[serde(default)]
    pub max_window_bits: Option<u8>,
    /// Offer `client_no_context_takeover` as the hint of RFC 7692 §7.1.1.2 only: the harness keeps
    /// its context all the same unless the response agrees to the parameter (testing a server; a
    /// response has no hint).
    #[serde(default, skip_serializing_if = "crate::spec::is_default")]
    pub hint_no_context_takeover: bool,
}

/// Values a case may need from the user that the suite cannot know (run only when declared).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The server's message limit (`--max-message-size`).
    pub limit: bool,
    /// A subprotocol the server supports (`--subprotocol`).
    pub subprotocol: bool,
    /// An origin the server accepts (`--allowed-origin`).
    pub allowed_origin: bool,
    /// An origin the server refuses (`--forbidden-origin`).
    pub forbidden_origin: bool,
    /// A path the server does not serve (`--missing-path`).
    pub missing_path: bool,
}

impl Needs {
    /// Which declared values the strings name, by placeholder.
    pub(crate) fn of_strings<'a>(strings: impl IntoIterator<Item = &'a str>) -> Needs {
        let mut needs = Needs::default();
        for text in strings {
            needs.subprotocol |= text.contains("$subprotocol");
            needs.allowed_origin |= text.contains("$allowed_origin");
            needs.forbidden_origin |= text.contains("$forbidden_origin");
            needs.missing_path |= text.contains("$missing_path");
        }
        needs
    }

    /// Whether nothing is needed.
    pub fn is_empty(&self) -> bool {
        *self == Needs::default()
    }

    /// The options that declare what is needed, e.g. `["--max-message-size"]`.
    pub fn options(&self) -> Vec<&'static str> {
        [
            (self.limit, "--max-message-size"),
            (self.subprotocol, "--subprotocol"),
            (self.allowed_origin, "--allowed-origin"),
            (self.forbidden_origin, "--forbidden-origin"),
            (self.missing_path, "--missing-path"),
        ]
        .into_iter()
        .filter_map(|(needed, option)| needed.then_some(option))
        .collect()
    }

    /// Whether `declared` covers every need.
    pub fn met_by(&self, declared: &Needs) -> bool {
        (!self.limit || declared.limit)
            && (!self.subprotocol || declared.subprotocol)
            && (!self.allowed_origin || declared.allowed_origin)
            && (!self.forbidden_origin || declared.forbidden_origin)
            && (!self.missing_path || declared.missing_path)
    }
}

/// What the user declared about the server's handshake policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakePolicy {
    /// Subprotocols the server supports: offered one, it must select it.
    pub subprotocols: Vec<String>,
    /// Origins the server accepts.
    pub allowed_origins: Vec<String>,
    /// Origins the server must refuse with an HTTP error.
    pub forbidden_origins: Vec<String>,
    /// Paths the server does not serve: a request for one must get an HTTP error such as 404.
    #[serde(default)]
    pub missing_paths: Vec<String>,
}

impl HandshakePolicy {
    /// The declared values as [`Needs`] they can meet.
    pub fn declared(&self) -> Needs {
        Needs {
            limit: false,
            subprotocol: !self.subprotocols.is_empty(),
            allowed_origin: !self.allowed_origins.is_empty(),
            forbidden_origin: !self.forbidden_origins.is_empty(),
            missing_path: !self.missing_paths.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_what_a_case_needs() {
        let needs = Needs::of_strings(["Origin: $forbidden_origin", "chat, $subprotocol"]);
        assert!(needs.forbidden_origin && needs.subprotocol && !needs.allowed_origin);
        assert!(!needs.missing_path);
        assert!(Needs::of_strings(["GET $missing_path HTTP/1.1"]).missing_path);
        assert_eq!(needs.options(), ["--subprotocol", "--forbidden-origin"]);
        let policy = HandshakePolicy {
            subprotocols: vec!["chat".into()],
            ..HandshakePolicy::default()
        };
        assert!(!needs.met_by(&policy.declared()));
        assert!(Needs::default().met_by(&Needs::default()));
    }

    #[test]
    fn edit_strings_cover_every_field() {
        let edit = RequestEdit {
            method: Some("POST".into()),
            set: vec![("Origin".into(), "$allowed_origin".into())],
            remove: vec!["Host".into()],
            ..RequestEdit::default()
        };
        let spec = RequestSpec::Edit(edit);
        assert_eq!(
            spec.strings(),
            ["POST", "Origin", "$allowed_origin", "Host"]
        );
    }
}
