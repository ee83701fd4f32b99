//! What a step expects of the peer: the expectation atoms, ranked alternatives and their display.

use std::fmt;

use serde::{Deserialize, Serialize};
use wsspec_wire::{CloseCode, Opcode};

use super::Payload;

/// A frame the peer must send, as an expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameMatch {
    /// The opcode.
    pub opcode: Opcode,
    /// The payload.
    pub payload: Payload,
}

/// What the harness waits for. Each atom consumes events from the peer, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The next data message is the oldest message the harness sent and has not yet seen echoed.
    Echo,
    /// The next data message has this opcode and payload.
    Message(FrameMatch),
    /// The next control frame is a pong with this payload.
    Pong(Payload),
    /// Pongs that answer the pings sent with these payloads, in order. RFC 6455 §5.5.3 lets a peer answer
    /// only the most recent of several pings, so any in-order subset that ends with the last one passes.
    PongsFor(Vec<Payload>),
    /// The peer fails the connection: a close frame with one of these codes, or a TCP close.
    Fail(Vec<CloseCode>),
    /// The peer sends a close frame with one of these codes (an empty close payload also matches).
    Close(Vec<CloseCode>),
    /// Nothing at all arrives for this many milliseconds.
    Nothing(u64),
    /// Alternative sequences; the first that matches gives its verdict.
    OneOf(Vec<Alternative>),
}

/// One ranked alternative of a `one_of` expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Alternative {
    /// The atoms, in order.
    pub expect: Vec<Expect>,
    /// The verdict this alternative earns.
    pub verdict: AltVerdict,
}

/// The verdicts an alternative can earn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AltVerdict {
    /// Fully conforming.
    Ok,
    /// Conforming but not the preferred behaviour.
    NonStrict,
    /// Recorded only.
    Informational,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Echo => f.write_str("echo of the message sent"),
            Expect::Message(m) => write!(f, "{} message {}", m.opcode, m.payload),
            Expect::Pong(p) => write!(f, "pong with payload {p}"),
            Expect::PongsFor(pings) => write!(f, "pongs for the {} pings, in order", pings.len()),
            Expect::Fail(codes) => write!(
                f,
                "peer fails the connection (close {} or TCP drop)",
                codes_list(codes)
            ),
            Expect::Close(codes) => write!(f, "close frame {}", codes_list(codes)),
            Expect::Nothing(ms) => write!(f, "nothing for {ms} ms"),
            Expect::OneOf(alternatives) => {
                let parts: Vec<String> = alternatives
                    .iter()
                    .map(|alt| {
                        let seq: Vec<String> = alt.expect.iter().map(ToString::to_string).collect();
                        let verdict = match alt.verdict {
                            AltVerdict::Ok => "OK",
                            AltVerdict::NonStrict => "NON-STRICT",
                            AltVerdict::Informational => "INFORMATIONAL",
                        };
                        format!("[{}] = {verdict}", seq.join(", "))
                    })
                    .collect();
                write!(f, "one of {}", parts.join(" or "))
            }
        }
    }
}

fn codes_list(codes: &[CloseCode]) -> String {
    let codes: Vec<String> = codes.iter().map(|code| code.0.to_string()).collect();
    if codes.is_empty() {
        "with any code".to_owned()
    } else {
        codes.join("/")
    }
}
