//! The rules a WebSocket message can break, as values.
//!
//! A [`Violation`] names one rule of RFC 6455 or RFC 7692 that a frame or message breaks: the judge
//! reports the peer's with it ([`super::Observed::Violation`]), and the fuzzer names with it the rule
//! each of its bad frames breaks. Each variant knows its RFC section, its requirement level, and the
//! close codes with which a correct endpoint fails the connection on receiving it. Its display is
//! the sentence that appears in reports.

use std::fmt;

use wsspec_suite::{Level, Role};
use wsspec_wire::{CloseCode, LengthForm, Opcode, deflate::InflateError};

/// How many frames in a row with one masking key show a client that does not pick a fresh one
/// (§5.3). Two random keys are equal once in 2^32 pairs, which a long run would meet; three in a
/// row, once in 2^64.
pub const SAME_KEY_RUN: usize = 3;

/// The RFC that states a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rfc {
    /// RFC 6455, The WebSocket Protocol.
    Rfc6455,
    /// RFC 7692, Compression Extensions for WebSocket (permessage-deflate).
    Rfc7692,
}

impl fmt::Display for Rfc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rfc::Rfc6455 => "RFC 6455",
            Rfc::Rfc7692 => "RFC 7692",
        })
    }
}

/// One rule broken by a frame or a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A frame from the server with a mask (§5.1).
    MaskedServerFrame,
    /// A frame from the client without a mask (§5.1).
    UnmaskedClientFrame,
    /// [`SAME_KEY_RUN`] frames in a row from the client with the same masking key (§5.3: a fresh,
    /// unpredictable key for each frame); the key.
    RepeatedMaskingKey([u8; 4]),
    /// RSV1 on a control frame, with permessage-deflate agreed (RFC 7692 §6).
    CompressedControlFrame(Opcode),
    /// RSV1 on a continuation frame, with permessage-deflate agreed (RFC 7692 §6).
    CompressedContinuation,
    /// RSV bits set with no extension negotiated (§5.2); the bits as read.
    RsvWithoutExtension(u8),
    /// RSV bits that permessage-deflate does not define (RSV2, RSV3, or RSV1 where it may not be
    /// set), with permessage-deflate agreed (§5.2); the bits as read.
    RsvUndefinedByDeflate(u8),
    /// A reserved opcode, 3-7 or 11-15 (§5.2).
    ReservedOpcode(u8),
    /// A control frame with FIN clear (§5.5).
    FragmentedControlFrame(Opcode),
    /// A control frame with more than 125 bytes of payload (§5.5).
    OversizedControlFrame {
        /// The control frame's opcode.
        opcode: Opcode,
        /// Its payload length.
        len: u64,
    },
    /// A payload length written in a longer form than it needs (§5.2).
    LongLengthForm {
        /// The payload length.
        len: u64,
        /// The form it was written in.
        form: LengthForm,
    },
    /// A continuation frame with no message open (§5.4).
    StrayContinuation,
    /// A new text or binary frame while a fragmented message is open (§5.4).
    NewMessageInFragmented(Opcode),
    /// A text message whose bytes are not UTF-8 (§5.6, §8.1).
    InvalidUtf8Text,
    /// A text message that ends inside a UTF-8 sequence (§5.6, §8.1).
    TruncatedUtf8Text,
    /// A compressed message that does not inflate (RFC 7692 §7.2.2), or inflates past the limit.
    DoesNotInflate(InflateError),
    /// A compressed message that refers back to an earlier one, from a sender that agreed to start
    /// each message with an empty window (RFC 7692 §7.2.1); the sender's role.
    KeptDeflateContext(Role),
    /// A close frame with a 1-byte payload (§5.5.1).
    OneByteClosePayload,
    /// A close frame with a code that may not be sent (§7.4).
    InvalidCloseCode(CloseCode),
    /// A close frame whose reason is not UTF-8 (§5.5.1).
    InvalidCloseReason,
    /// A message over the receiver's declared size limit (§10.4).
    MessageOverLimit {
        /// The declared limit, in bytes.
        limit: u64,
    },
}

impl Violation {
    /// The RFC that states the rule.
    pub fn rfc(&self) -> Rfc {
        match self {
            Violation::CompressedControlFrame(_)
            | Violation::CompressedContinuation
            | Violation::DoesNotInflate(_)
            | Violation::KeptDeflateContext(_) => Rfc::Rfc7692,
            _ => Rfc::Rfc6455,
        }
    }

    /// The section of [`Violation::rfc`] that states the rule, as "§5.1".
    pub fn section(&self) -> &'static str {
        match self {
            Violation::MaskedServerFrame | Violation::UnmaskedClientFrame => "§5.1",
            Violation::RepeatedMaskingKey(_) => "§5.3",
            Violation::CompressedControlFrame(_) | Violation::CompressedContinuation => "§6",
            Violation::RsvWithoutExtension(_)
            | Violation::RsvUndefinedByDeflate(_)
            | Violation::ReservedOpcode(_)
            | Violation::LongLengthForm { .. } => "§5.2",
            Violation::FragmentedControlFrame(_) | Violation::OversizedControlFrame { .. } => {
                "§5.5"
            }
            Violation::StrayContinuation | Violation::NewMessageInFragmented(_) => "§5.4",
            Violation::InvalidUtf8Text | Violation::TruncatedUtf8Text => "§5.6",
            Violation::DoesNotInflate(_) => "§7.2.2",
            Violation::KeptDeflateContext(_) => "§7.2.1",
            Violation::OneByteClosePayload | Violation::InvalidCloseReason => "§5.5.1",
            Violation::InvalidCloseCode(_) => "§7.4",
            Violation::MessageOverLimit { .. } => "§10.4",
        }
    }

    /// One violation of each kind (with sample values), for listing the rules the judge checks.
    pub fn one_of_each() -> Vec<Violation> {
        vec![
            Violation::MaskedServerFrame,
            Violation::UnmaskedClientFrame,
            Violation::RepeatedMaskingKey([0; 4]),
            Violation::CompressedControlFrame(Opcode::Ping),
            Violation::CompressedContinuation,
            Violation::RsvWithoutExtension(4),
            Violation::RsvUndefinedByDeflate(2),
            Violation::ReservedOpcode(3),
            Violation::FragmentedControlFrame(Opcode::Ping),
            Violation::OversizedControlFrame {
                opcode: Opcode::Ping,
                len: 126,
            },
            Violation::LongLengthForm {
                len: 5,
                form: LengthForm::U64,
            },
            Violation::StrayContinuation,
            Violation::NewMessageInFragmented(Opcode::Text),
            Violation::InvalidUtf8Text,
            Violation::TruncatedUtf8Text,
            Violation::DoesNotInflate(InflateError::TooLarge(1)),
            Violation::KeptDeflateContext(Role::Server),
            Violation::KeptDeflateContext(Role::Client),
            Violation::OneByteClosePayload,
            Violation::InvalidCloseCode(CloseCode(1005)),
            Violation::InvalidCloseReason,
            Violation::MessageOverLimit { limit: 1 },
        ]
    }

    /// The ids of the rule's sentences in the requirement registry (`wsspec requirements`): what the
    /// sender broke, and what a receiver must then do.
    pub fn requirements(&self) -> &'static [&'static str] {
        match self {
            Violation::MaskedServerFrame => &["6455-5.1-4"],
            Violation::UnmaskedClientFrame => &["6455-5.1-1", "6455-6.1-8", "6455-5.3-1"],
            Violation::RepeatedMaskingKey(_) => &["6455-5.3-2", "6455-5.3-3", "6455-10.3-1"],
            Violation::CompressedControlFrame(_) => &["7692-6.1-1"],
            Violation::CompressedContinuation => &["7692-6.1-1"],
            Violation::RsvWithoutExtension(_) => &[
                "6455-5.2-2",
                "6455-5.2-8",
                "6455-5.2-9",
                "6455-5.2-10",
                "6455-5.8-1",
                "6455-9.1-6",
            ],
            Violation::RsvUndefinedByDeflate(_) => &[
                "6455-5.2-2",
                "6455-5.2-8",
                "6455-5.2-9",
                "6455-5.2-10",
                "7692-6.1-1",
            ],
            Violation::ReservedOpcode(_) => &["6455-6.1-6", "6455-5.2-4"],
            Violation::FragmentedControlFrame(_) => &["6455-5.4-2", "6455-5.5-1", "6455-5.4-12"],
            Violation::OversizedControlFrame { .. } => &["6455-5.5-1"],
            Violation::LongLengthForm { .. } => &["6455-5.2-6"],
            Violation::StrayContinuation => &["6455-6.1-6"],
            Violation::NewMessageInFragmented(_) => &["6455-5.4-4"],
            Violation::InvalidUtf8Text => &["6455-5.6-1"],
            Violation::TruncatedUtf8Text => &["6455-5.6-1"],
            Violation::DoesNotInflate(_) => &[
                "7692-5-9",
                "7692-7.2.1-1",
                "7692-7.2.1-3",
                "7692-7.2.1-6",
                "7692-7.2.1-7",
                "7692-7.2.1-9",
            ],
            Violation::KeptDeflateContext(Role::Server) => &["7692-7.2.1-1"],
            Violation::KeptDeflateContext(Role::Client) => &["7692-7.2.1-3"],
            Violation::OneByteClosePayload => &["6455-5.5.1-2"],
            Violation::InvalidCloseCode(_) => &[
                "6455-5.5.1-2",
                "6455-7.4.1-3",
                "6455-7.4.1-4",
                "6455-7.4.1-6",
            ],
            Violation::InvalidCloseReason => &["6455-5.5.1-3", "6455-8.1-1"],
            Violation::MessageOverLimit { .. } => &["6455-10.4-1"],
        }
    }

    /// The ids of the rules the sender of this frame or message broke: the part of
    /// [`Violation::requirements`] that binds the peer whose bytes show it, with the reserved bits and
    /// close codes it really used. What a FAILED verdict on the peer turns on
    /// (`CaseResult::broken`); empty for a limit the receiver declared, which no sender rule sets.
    pub fn sender_requirements(&self) -> Vec<&'static str> {
        let rsv_bits = |bits: u8| {
            [
                (0b100, "6455-5.2-8"),
                (0b010, "6455-5.2-9"),
                (0b001, "6455-5.2-10"),
            ]
            .into_iter()
            .filter(move |(bit, _)| bits & bit != 0)
            .map(|(_, id)| id)
        };
        match self {
            Violation::RsvWithoutExtension(bits) => ["6455-5.2-2", "6455-5.8-1", "6455-9.1-6"]
                .into_iter()
                .chain(rsv_bits(*bits))
                .collect(),
            Violation::RsvUndefinedByDeflate(bits) => std::iter::once("6455-5.2-2")
                .chain(rsv_bits(*bits))
                .collect(),
            Violation::ReservedOpcode(_) | Violation::StrayContinuation => vec!["6455-6.1-6"],
            Violation::InvalidCloseCode(code) => match code.0 {
                1005 => vec!["6455-7.4.1-3"],
                1006 => vec!["6455-7.4.1-4"],
                1015 => vec!["6455-7.4.1-6"],
                _ => vec!["6455-5.5.1-2"],
            },
            Violation::InvalidCloseReason => vec!["6455-5.5.1-3"],
            Violation::DoesNotInflate(InflateError::FragmentTailRemoved) => vec!["7692-7.2.1-7"],
            Violation::DoesNotInflate(InflateError::NonZeroPadding) => vec!["7692-7.2.1-9"],
            Violation::DoesNotInflate(_) => vec!["7692-5-9"],
            Violation::MessageOverLimit { .. } => Vec::new(),
            other => other.requirements().to_vec(),
        }
    }

    /// The requirement level of the rule: every one is a MUST.
    pub fn level(&self) -> Level {
        Level::Must
    }

    /// The close codes a correct endpoint fails the connection with on receiving this (§7.4.1),
    /// best first. Another code is NON-STRICT only: §7.1.7 says SHOULD.
    pub fn close_codes(&self) -> &'static [CloseCode] {
        match self {
            Violation::InvalidUtf8Text | Violation::TruncatedUtf8Text => {
                &[CloseCode::INVALID_PAYLOAD]
            }
            Violation::InvalidCloseReason
            | Violation::DoesNotInflate(
                InflateError::Corrupt(_)
                | InflateError::KeptContext
                | InflateError::FragmentTailRemoved,
            )
            | Violation::KeptDeflateContext(_) => {
                &[CloseCode::PROTOCOL_ERROR, CloseCode::INVALID_PAYLOAD]
            }
            Violation::DoesNotInflate(InflateError::TooLarge(_))
            | Violation::MessageOverLimit { .. } => &[CloseCode::MESSAGE_TOO_BIG],
            _ => &[CloseCode::PROTOCOL_ERROR],
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::MaskedServerFrame => {
                f.write_str("the server masked a frame (RFC 6455 §5.1: a server MUST NOT mask)")
            }
            Violation::UnmaskedClientFrame => {
                f.write_str("the client sent an unmasked frame (RFC 6455 §5.1: a client MUST mask)")
            }
            Violation::RepeatedMaskingKey(key) => write!(
                f,
                "the client masked {SAME_KEY_RUN} frames in a row with the key {:02x}{:02x}{:02x}{:02x} (RFC 6455 §5.3: a fresh masking key for each frame)",
                key[0], key[1], key[2], key[3]
            ),
            Violation::CompressedControlFrame(opcode) => write!(
                f,
                "RSV1 set on a {opcode} frame (RFC 7692 §6: an endpoint MUST NOT set the \"Per-Message Compressed\" bit of control frames)"
            ),
            Violation::CompressedContinuation => f.write_str(
                "RSV1 set on a continuation frame (RFC 7692 §6: an endpoint MUST NOT set the \"Per-Message Compressed\" bit of non-first fragments)",
            ),
            Violation::RsvWithoutExtension(bits) => {
                write!(f, "RSV bits {bits:03b} set with no extension negotiated (§5.2)")
            }
            Violation::RsvUndefinedByDeflate(bits) => write!(
                f,
                "RSV bits {bits:03b} set that permessage-deflate does not define (§5.2)"
            ),
            Violation::ReservedOpcode(opcode) => write!(f, "reserved opcode {opcode} (§5.2)"),
            Violation::FragmentedControlFrame(opcode) => write!(
                f,
                "a fragmented {opcode} frame (§5.5: control frames MUST NOT be fragmented)"
            ),
            Violation::OversizedControlFrame { opcode, len } => write!(
                f,
                "a {opcode} frame with a {len}-byte payload (§5.5: at most 125)"
            ),
            Violation::LongLengthForm { len, form } => write!(
                f,
                "a {len}-byte payload with its length in the {} form (§5.2: the minimal number of bytes MUST be used)",
                match form {
                    LengthForm::Short => "7-bit",
                    LengthForm::U16 => "16-bit",
                    LengthForm::U64 => "64-bit",
                }
            ),
            Violation::StrayContinuation => {
                f.write_str("a continuation frame with no message to continue")
            }
            Violation::NewMessageInFragmented(opcode) => write!(
                f,
                "a new {opcode} frame while a fragmented message was still open"
            ),
            Violation::InvalidUtf8Text => {
                f.write_str("a text message that is not valid UTF-8 (§5.6)")
            }
            Violation::TruncatedUtf8Text => {
                f.write_str("a text message that ends inside a UTF-8 sequence (§5.6)")
            }
            Violation::DoesNotInflate(InflateError::NonZeroPadding) => f.write_str(
                "a compressed message whose final block is padded with bits that are not 0 (RFC 7692 §7.2.1: an endpoint MUST add minimal padding bits of 0)",
            ),
            Violation::DoesNotInflate(err) => write!(
                f,
                "a compressed message that does not inflate: {err} (RFC 7692 §7.2.2)"
            ),
            Violation::KeptDeflateContext(sender) => {
                let sender = match sender {
                    Role::Server => "server",
                    Role::Client => "client",
                };
                write!(
                    f,
                "a compressed message that refers back to an earlier one (RFC 7692 §7.2.1: with {sender}_no_context_takeover agreed, the {sender} MUST start each new message with an empty window)"
                )
            }
            Violation::OneByteClosePayload => {
                f.write_str("a close frame with a 1-byte payload (§5.5.1)")
            }
            Violation::InvalidCloseCode(code) => write!(
                f,
                "a close frame with code {code}, which may not be sent (§7.4)"
            ),
            Violation::InvalidCloseReason => {
                f.write_str("a close reason that is not valid UTF-8 (§5.5.1)")
            }
            Violation::MessageOverLimit { limit } => write!(
                f,
                "a message over the declared limit of {limit} bytes (§10.4)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_violation_reads_as_the_sentence_in_reports() {
        for (violation, sentence) in [
            (
                Violation::MaskedServerFrame,
                "the server masked a frame (RFC 6455 §5.1: a server MUST NOT mask)",
            ),
            (
                Violation::UnmaskedClientFrame,
                "the client sent an unmasked frame (RFC 6455 §5.1: a client MUST mask)",
            ),
            (
                Violation::CompressedControlFrame(Opcode::Ping),
                "RSV1 set on a ping frame (RFC 7692 §6: an endpoint MUST NOT set the \"Per-Message Compressed\" bit of control frames)",
            ),
            (
                Violation::RsvWithoutExtension(0b100),
                "RSV bits 100 set with no extension negotiated (§5.2)",
            ),
            (
                Violation::RsvUndefinedByDeflate(0b010),
                "RSV bits 010 set that permessage-deflate does not define (§5.2)",
            ),
            (Violation::ReservedOpcode(11), "reserved opcode 11 (§5.2)"),
            (
                Violation::OversizedControlFrame {
                    opcode: Opcode::Close,
                    len: 126,
                },
                "a close frame with a 126-byte payload (§5.5: at most 125)",
            ),
            (
                Violation::NewMessageInFragmented(Opcode::Binary),
                "a new binary frame while a fragmented message was still open",
            ),
            (
                Violation::DoesNotInflate(InflateError::TooLarge(10)),
                "a compressed message that does not inflate: the compressed message inflates to more than 10 bytes (RFC 7692 §7.2.2)",
            ),
            (
                Violation::InvalidCloseCode(CloseCode(1005)),
                "a close frame with code 1005 (no status received), which may not be sent (§7.4)",
            ),
        ] {
            assert_eq!(violation.to_string(), sentence);
        }
    }

    #[test]
    fn each_violation_names_requirements_of_the_registry() {
        let registry = wsspec_suite::requirement::Registry::builtin().unwrap();
        for violation in Violation::one_of_each() {
            let ids = violation.requirements();
            assert!(!ids.is_empty(), "{violation:?}");
            for id in ids {
                let requirement = registry
                    .get(id)
                    .unwrap_or_else(|| panic!("{violation:?}: {id}"));
                assert!(
                    requirement.keyword.level() == Level::Must || ids.len() > 1,
                    "{violation:?}: {id} is only a {}",
                    requirement.keyword
                );
            }
        }
    }

    #[test]
    fn each_violation_knows_its_section_and_close_codes() {
        assert_eq!(Violation::UnmaskedClientFrame.section(), "§5.1");
        assert_eq!(Violation::CompressedContinuation.rfc(), Rfc::Rfc7692);
        assert_eq!(Violation::StrayContinuation.rfc(), Rfc::Rfc6455);
        assert_eq!(Violation::StrayContinuation.level(), Level::Must);
        assert_eq!(
            Violation::ReservedOpcode(3).close_codes(),
            &[CloseCode::PROTOCOL_ERROR]
        );
        assert_eq!(
            Violation::InvalidUtf8Text.close_codes(),
            &[CloseCode::INVALID_PAYLOAD]
        );
        assert_eq!(
            Violation::InvalidCloseReason.close_codes(),
            &[CloseCode::PROTOCOL_ERROR, CloseCode::INVALID_PAYLOAD]
        );
        assert_eq!(
            Violation::MessageOverLimit { limit: 1 }.close_codes(),
            &[CloseCode::MESSAGE_TOO_BIG]
        );
    }
}
