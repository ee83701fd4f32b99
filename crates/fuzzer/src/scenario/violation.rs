//! The violations a scenario can end with: what the fuzzer sends to break a rule, and which rule it
//! breaks.

use super::*;

/// A protocol violation at the end of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong.
    pub kind: ViolationKind,
    /// A message left open (first fragment sent) before the violation.
    pub open: Option<Fragment>,
    /// Write the violation's frames in pieces of this many bytes.
    pub chop: Option<usize>,
}

/// How to break a rule: the frames of each violation the fuzzer sends, each breaking a MUST of RFC
/// 6455 ([`ViolationKind::breaks`] names which) that obliges the peer to fail the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// RSV bits set with no extension negotiated (§5.2).
    Rsv {
        /// The RSV bits, 1-7.
        rsv: u8,
        /// The frame's opcode (continuation only when a message is open).
        opcode: Opcode,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A reserved opcode, 3-7 or 11-15 (§5.2).
    ReservedOpcode {
        /// The opcode.
        opcode: Opcode,
        /// The FIN bit.
        fin: bool,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A ping, pong or close of more than 125 bytes (§5.5).
    OversizedControl {
        /// [`Opcode::Ping`], [`Opcode::Pong`] or [`Opcode::Close`].
        opcode: Opcode,
        /// The payload length, 126 or more.
        len: u64,
    },
    /// A ping or pong with FIN clear (§5.5), perhaps followed by a continuation.
    FragmentedControl {
        /// [`Opcode::Ping`] or [`Opcode::Pong`].
        opcode: Opcode,
        /// The first frame's payload.
        first: Vec<u8>,
        /// A continuation frame's payload, if one follows.
        rest: Option<Vec<u8>>,
    },
    /// A continuation frame with no message open (§5.4).
    StrayContinuation {
        /// The FIN bit.
        fin: bool,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A new text or binary frame while a message is open (§5.4); needs `open`.
    NewMessage {
        /// [`Opcode::Text`] or [`Opcode::Binary`].
        opcode: Opcode,
        /// The FIN bit.
        fin: bool,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A text message that is not valid UTF-8 (§8.1): fails with 1007.
    InvalidUtf8 {
        /// The message's bytes.
        bytes: Vec<u8>,
        /// Fragment cuts, as for [`Message::cuts`].
        cuts: Vec<u64>,
    },
    /// A close frame with a code that may not be sent (§7.4.1).
    InvalidCloseCode {
        /// The code (below 5000: larger ones the RFC leaves open).
        code: CloseCode,
        /// A valid reason.
        reason: String,
    },
    /// A close frame with a 1-byte payload (§5.5.1).
    OneByteClose(u8),
    /// A close frame whose reason is not valid UTF-8 (§5.5.1, §8.1).
    InvalidCloseReason {
        /// A valid code.
        code: CloseCode,
        /// The reason's bytes.
        reason: Vec<u8>,
    },
    /// A frame from the client without a mask (§5.1); servers only.
    Unmasked {
        /// The opcode: text, binary or ping.
        opcode: Opcode,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A frame from the server with a mask (§5.1); clients only.
    Masked {
        /// The opcode: text, binary or ping.
        opcode: Opcode,
        /// Its payload.
        payload: Vec<u8>,
    },
}

impl ViolationKind {
    /// The frames of a violation that is not a close frame.
    pub(super) fn frames(&self) -> Vec<FrameSpec> {
        match self {
            ViolationKind::Rsv {
                rsv,
                opcode,
                payload,
            } => vec![FrameSpec {
                rsv: *rsv,
                ..frame(*opcode, true, bytes_payload(payload))
            }],
            ViolationKind::ReservedOpcode {
                opcode,
                fin,
                payload,
            } => vec![frame(*opcode, *fin, bytes_payload(payload))],
            ViolationKind::OversizedControl { opcode, len } => vec![frame(
                *opcode,
                true,
                Payload::Repeat {
                    pattern: b"*".to_vec(),
                    count: *len,
                },
            )],
            ViolationKind::FragmentedControl {
                opcode,
                first,
                rest,
            } => {
                let mut frames = vec![frame(*opcode, false, bytes_payload(first))];
                if let Some(rest) = rest {
                    frames.push(frame(Opcode::Continuation, true, bytes_payload(rest)));
                }
                frames
            }
            ViolationKind::StrayContinuation { fin, payload } => {
                vec![frame(Opcode::Continuation, *fin, bytes_payload(payload))]
            }
            ViolationKind::NewMessage {
                opcode,
                fin,
                payload,
            } => vec![frame(*opcode, *fin, bytes_payload(payload))],
            ViolationKind::InvalidUtf8 { bytes, cuts } => Message {
                opcode: Opcode::Text,
                body: Body::Bytes(bytes.clone()),
                cuts: cuts.clone(),
                pings: Vec::new(),
                chop: None,
            }
            .fragments()
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                frame(
                    if i == 0 {
                        Opcode::Text
                    } else {
                        Opcode::Continuation
                    },
                    i == cuts.len(),
                    payload,
                )
            })
            .collect(),
            ViolationKind::Unmasked { opcode, payload } => vec![FrameSpec {
                mask: MaskSpec::None,
                ..frame(*opcode, true, bytes_payload(payload))
            }],
            ViolationKind::Masked { opcode, payload } => vec![FrameSpec {
                mask: MaskSpec::Random,
                ..frame(*opcode, true, bytes_payload(payload))
            }],
            ViolationKind::InvalidCloseCode { .. }
            | ViolationKind::OneByteClose(_)
            | ViolationKind::InvalidCloseReason { .. } => Vec::new(),
        }
    }

    /// The rule this violation breaks.
    pub fn breaks(&self) -> RuleBroken {
        match self {
            ViolationKind::Rsv { rsv, .. } => RuleBroken::RsvWithoutExtension(*rsv),
            ViolationKind::ReservedOpcode { opcode, .. } => {
                RuleBroken::ReservedOpcode(opcode.as_u8())
            }
            ViolationKind::OversizedControl { opcode, len } => RuleBroken::OversizedControlFrame {
                opcode: *opcode,
                len: *len,
            },
            ViolationKind::FragmentedControl { opcode, .. } => {
                RuleBroken::FragmentedControlFrame(*opcode)
            }
            ViolationKind::StrayContinuation { .. } => RuleBroken::StrayContinuation,
            ViolationKind::NewMessage { opcode, .. } => RuleBroken::NewMessageInFragmented(*opcode),
            ViolationKind::InvalidUtf8 { .. } => RuleBroken::InvalidUtf8Text,
            ViolationKind::InvalidCloseCode { code, .. } => RuleBroken::InvalidCloseCode(*code),
            ViolationKind::OneByteClose(_) => RuleBroken::OneByteClosePayload,
            ViolationKind::InvalidCloseReason { .. } => RuleBroken::InvalidCloseReason,
            ViolationKind::Unmasked { .. } => RuleBroken::UnmaskedClientFrame,
            ViolationKind::Masked { .. } => RuleBroken::MaskedServerFrame,
        }
    }

    /// The close codes that fit, as the rule broken says. Another code is NON-STRICT only (§7.1.7
    /// says SHOULD).
    pub(super) fn codes(&self) -> Vec<CloseCode> {
        self.breaks().close_codes().to_vec()
    }

    /// A short name, for shapes.
    pub fn name(&self) -> &'static str {
        match self {
            ViolationKind::Rsv { .. } => "rsv",
            ViolationKind::ReservedOpcode { .. } => "reserved-opcode",
            ViolationKind::OversizedControl { .. } => "oversized-control",
            ViolationKind::FragmentedControl { .. } => "fragmented-control",
            ViolationKind::StrayContinuation { .. } => "stray-continuation",
            ViolationKind::NewMessage { .. } => "new-message-mid-fragment",
            ViolationKind::InvalidUtf8 { .. } => "invalid-utf8",
            ViolationKind::InvalidCloseCode { .. } => "invalid-close-code",
            ViolationKind::OneByteClose(_) => "one-byte-close",
            ViolationKind::InvalidCloseReason { .. } => "invalid-close-reason",
            ViolationKind::Unmasked { .. } => "unmasked",
            ViolationKind::Masked { .. } => "masked",
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            ViolationKind::Rsv {
                rsv,
                opcode,
                payload,
            } => format!(
                "a {} frame of {} bytes with RSV = {rsv}",
                opcode.name(),
                payload.len()
            ),
            ViolationKind::ReservedOpcode { opcode, fin, .. } => {
                format!(
                    "a frame with the reserved opcode {} (FIN = {})",
                    opcode.as_u8(),
                    u8::from(*fin)
                )
            }
            ViolationKind::OversizedControl { opcode, len } => {
                format!("a {} frame of {len} bytes", opcode.name())
            }
            ViolationKind::FragmentedControl { opcode, rest, .. } => format!(
                "a {} frame with FIN = 0{}",
                opcode.name(),
                if rest.is_some() {
                    " and a continuation"
                } else {
                    ""
                }
            ),
            ViolationKind::StrayContinuation { fin, .. } => format!(
                "a continuation frame (FIN = {}) with no message open",
                u8::from(*fin)
            ),
            ViolationKind::NewMessage { opcode, .. } => {
                format!("a new {} frame while that message is open", opcode.name())
            }
            ViolationKind::InvalidUtf8 { bytes, cuts } => format!(
                "a text message of {} bytes that is not valid UTF-8{}",
                bytes.len(),
                if cuts.is_empty() {
                    String::new()
                } else {
                    format!(", in {} fragments", cuts.len() + 1)
                }
            ),
            ViolationKind::InvalidCloseCode { code, .. } => {
                format!("a close frame with the invalid code {}", code.0)
            }
            ViolationKind::OneByteClose(_) => "a close frame with a 1-byte payload".into(),
            ViolationKind::InvalidCloseReason { code, .. } => {
                format!(
                    "a close frame with code {} and a reason that is not UTF-8",
                    code.0
                )
            }
            ViolationKind::Unmasked { opcode, .. } => {
                format!("an unmasked {} frame", opcode.name())
            }
            ViolationKind::Masked { opcode, .. } => {
                format!("a masked {} frame", opcode.name())
            }
        }
    }

    pub(super) fn requirement(&self) -> (&'static str, &'static str) {
        match self {
            ViolationKind::Rsv { .. } => (
                "RFC 6455 §5.2",
                "If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST Fail the WebSocket Connection.",
            ),
            ViolationKind::ReservedOpcode { .. } => (
                "RFC 6455 §5.2",
                "If an unknown opcode is received, the receiving endpoint MUST Fail the WebSocket Connection.",
            ),
            ViolationKind::OversizedControl { .. } | ViolationKind::FragmentedControl { .. } => (
                "RFC 6455 §5.5, §10.7",
                "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented. Incoming data MUST always be validated by both clients and servers.",
            ),
            ViolationKind::StrayContinuation { .. } | ViolationKind::NewMessage { .. } => (
                "RFC 6455 §5.4, §10.7",
                "A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0. Incoming data MUST always be validated by both clients and servers.",
            ),
            ViolationKind::InvalidUtf8 { .. } => (
                "RFC 6455 §8.1",
                "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST Fail the WebSocket Connection.",
            ),
            ViolationKind::InvalidCloseCode { .. } => (
                "RFC 6455 §7.4.1, §7.4.2, §10.7",
                "1005 and 1006 MUST NOT be set as a status code in a Close control frame by an endpoint; 0-999 are not used, 1004 is reserved and 1016-2999 are reserved for future revisions. Incoming data MUST always be validated by both clients and servers.",
            ),
            ViolationKind::OneByteClose(_) => (
                "RFC 6455 §5.5.1, §10.7",
                "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer representing a status code. Incoming data MUST always be validated by both clients and servers.",
            ),
            ViolationKind::InvalidCloseReason { .. } => (
                "RFC 6455 §5.5.1, §8.1",
                "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST Fail the WebSocket Connection.",
            ),
            ViolationKind::Unmasked { .. } => (
                "RFC 6455 §5.1",
                "The server MUST close the connection upon receiving a frame that is not masked.",
            ),
            ViolationKind::Masked { .. } => (
                "RFC 6455 §5.1",
                "A server MUST NOT mask any frames that it sends to the client. A client MUST close a connection if it detects a masked frame.",
            ),
        }
    }

    /// Whether the violation needs a message open before it.
    pub fn needs_open(&self) -> bool {
        matches!(
            self,
            ViolationKind::NewMessage { .. }
                | ViolationKind::Rsv {
                    opcode: Opcode::Continuation,
                    ..
                }
        )
    }

    /// Whether a message may be open before it (a stray continuation needs none open, and an
    /// invalid text message would be a second violation).
    pub fn allows_open(&self) -> bool {
        !matches!(
            self,
            ViolationKind::StrayContinuation { .. } | ViolationKind::InvalidUtf8 { .. }
        )
    }
}
