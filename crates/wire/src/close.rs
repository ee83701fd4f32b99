//! Close frame payloads and status codes (RFC 6455 §5.5.1, §7.4).
//!
//! A close payload is empty, or a big-endian status code followed by a reason that should be UTF-8.
//! Parsing splits it up and leaves every verdict (is the code allowed, is the reason UTF-8) to
//! the caller.

use std::fmt;

/// A close status code, any 16-bit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

/// Which range of RFC 6455 §7.4 (and the IANA registry) a close code falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCodeClass {
    /// 0..=999: §7.4.2 says these are not used.
    Unused,
    /// 1000-1003 and 1007-1011: defined by RFC 6455 §7.4.1; may be sent.
    Defined,
    /// 1012-1014: registered with IANA later (service restart, try again later, bad gateway).
    /// May be sent.
    Registered,
    /// 1004 (reserved), 1005, 1006 and 1015: must not be sent in a close frame.
    NotOnWire,
    /// 1016..=2999, unassigned: reserved for future revisions and extensions.
    ReservedProtocol,
    /// 3000..=3999: registered with IANA by libraries and frameworks.
    Library,
    /// 4000..=4999: for private use.
    Private,
    /// 5000..=65535: outside every range RFC 6455 describes.
    OutOfRange,
}

impl CloseCode {
    /// 1000: normal closure (RFC 6455 §7.4.1).
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away, a server going down or a browser leaving the page.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the endpoint is terminating the connection due to a protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1004: reserved; its meaning might be defined in the future.
    pub const RESERVED: CloseCode = CloseCode(1004);
    /// 1005: no status code was present (never sent in a close frame).
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    /// 1006: the connection closed abnormally, without a close frame (never sent in a close frame).
    pub const ABNORMAL_CLOSURE: CloseCode = CloseCode(1006);
    /// 1007: a message's data was not consistent with its type, e.g. text that is not UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message is too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition that kept it from fulfilling the request.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (registered with IANA after RFC 6455).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (registered with IANA after RFC 6455).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (registered with IANA after RFC 6455).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed (never sent in a close frame).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The range this code falls in.
    pub fn class(self) -> CloseCodeClass {
        match self.0 {
            0..=999 => CloseCodeClass::Unused,
            1000..=1003 | 1007..=1011 => CloseCodeClass::Defined,
            1012..=1014 => CloseCodeClass::Registered,
            1004..=1006 | 1015 => CloseCodeClass::NotOnWire,
            1016..=2999 => CloseCodeClass::ReservedProtocol,
            3000..=3999 => CloseCodeClass::Library,
            4000..=4999 => CloseCodeClass::Private,
            5000.. => CloseCodeClass::OutOfRange,
        }
    }

    /// Whether a close frame may carry this code: defined, registered, library or private.
    pub fn may_be_sent(self) -> bool {
        matches!(
            self.class(),
            CloseCodeClass::Defined
                | CloseCodeClass::Registered
                | CloseCodeClass::Library
                | CloseCodeClass::Private
        )
    }

    /// The code's name, for 1000-1003 and 1005-1015 (1004 is reserved and has none).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            CloseCode::NORMAL => "normal closure",
            CloseCode::GOING_AWAY => "going away",
            CloseCode::PROTOCOL_ERROR => "protocol error",
            CloseCode::UNSUPPORTED_DATA => "unsupported data",
            CloseCode::NO_STATUS_RECEIVED => "no status received",
            CloseCode::ABNORMAL_CLOSURE => "abnormal closure",
            CloseCode::INVALID_PAYLOAD => "invalid payload data",
            CloseCode::POLICY_VIOLATION => "policy violation",
            CloseCode::MESSAGE_TOO_BIG => "message too big",
            CloseCode::MANDATORY_EXTENSION => "mandatory extension",
            CloseCode::INTERNAL_ERROR => "internal error",
            CloseCode::SERVICE_RESTART => "service restart",
            CloseCode::TRY_AGAIN_LATER => "try again later",
            CloseCode::BAD_GATEWAY => "bad gateway",
            CloseCode::TLS_HANDSHAKE => "TLS handshake",
            _ => return None,
        })
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A close frame payload, split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosePayload<'a> {
    /// No payload: no status code.
    Empty,
    /// Exactly one byte, which cannot hold a status code.
    Malformed(u8),
    /// A status code and the reason bytes after it (possibly empty, not checked for UTF-8).
    Code {
        /// The status code.
        code: CloseCode,
        /// The reason, raw.
        reason: &'a [u8],
    },
}

impl<'a> ClosePayload<'a> {
    /// Splits a close frame's (unmasked) payload.
    pub fn parse(payload: &'a [u8]) -> ClosePayload<'a> {
        match *payload {
            [] => ClosePayload::Empty,
            [byte] => ClosePayload::Malformed(byte),
            [hi, lo, ref reason @ ..] => ClosePayload::Code {
                code: CloseCode(u16::from_be_bytes([hi, lo])),
                reason,
            },
        }
    }
}

/// A close payload: `code` big-endian, then `reason` (any bytes, any length).
pub fn encode_close_payload(code: CloseCode, reason: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + reason.len());
    out.extend(code.0.to_be_bytes());
    out.extend_from_slice(reason);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        use CloseCodeClass::*;
        let cases = [
            (0, Unused),
            (999, Unused),
            (1000, Defined),
            (1003, Defined),
            (1004, NotOnWire),
            (1005, NotOnWire),
            (1006, NotOnWire),
            (1007, Defined),
            (1011, Defined),
            (1012, Registered),
            (1014, Registered),
            (1015, NotOnWire),
            (1016, ReservedProtocol),
            (2999, ReservedProtocol),
            (3000, Library),
            (3999, Library),
            (4000, Private),
            (4999, Private),
            (5000, OutOfRange),
            (65535, OutOfRange),
        ];
        for (code, class) in cases {
            assert_eq!(CloseCode(code).class(), class, "{code}");
            let sendable = matches!(class, Defined | Registered | Library | Private);
            assert_eq!(CloseCode(code).may_be_sent(), sendable, "{code}");
        }
    }

    #[test]
    fn names_and_display() {
        assert_eq!(CloseCode(1002).to_string(), "1002 (protocol error)");
        assert_eq!(CloseCode(1015).to_string(), "1015 (TLS handshake)");
        assert_eq!(CloseCode(4000).to_string(), "4000");
        assert_eq!(CloseCode(1004).name(), None);
        let named = (0..=u16::MAX)
            .filter(|&c| CloseCode(c).name().is_some())
            .count();
        assert_eq!(named, 15);
    }

    #[test]
    fn parse() {
        assert_eq!(ClosePayload::parse(&[]), ClosePayload::Empty);
        // one byte: half a code
        assert_eq!(ClosePayload::parse(&[0x03]), ClosePayload::Malformed(0x03));
        // 03 e8 = 1000, no reason
        let code = CloseCode(1000);
        assert_eq!(
            ClosePayload::parse(&[0x03, 0xe8]),
            ClosePayload::Code { code, reason: b"" }
        );
        // 03 ea = 1002, reason "bad" then an invalid UTF-8 byte, passed through as is
        assert_eq!(
            ClosePayload::parse(&[0x03, 0xea, b'b', b'a', b'd', 0xff]),
            ClosePayload::Code {
                code: CloseCode(1002),
                reason: b"bad\xff"
            }
        );
    }

    #[test]
    fn encode() {
        // 0f a0 = 4000, "x"
        assert_eq!(
            encode_close_payload(CloseCode(4000), b"x"),
            [0x0f, 0xa0, b'x']
        );
        // ff ff = 65535, no reason
        assert_eq!(encode_close_payload(CloseCode(65535), b""), [0xff, 0xff]);
    }
}
