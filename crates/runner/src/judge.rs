//! Judgement: the one place where what the peer did becomes a verdict.
//!
//! The wire codec only reports what it read, and the connection code only moves bytes. Here, three things
//! happen:
//! - [`PeerStream`] turns the peer's frames into [`Observed`] events, and flags every frame that breaks a
//!   MUST of RFC 6455 (wrong masking, RSV bits, reserved opcodes, bad fragmentation, invalid UTF-8, ...);
//! - [`Matcher`] matches those events against a step's expectation, alternative by alternative;
//! - [`judge_close`] and [`overall`] decide the close behaviour and the case's verdict, capped by its level.

use std::fmt;

mod case;
mod client_request;
mod handshake;
mod matcher;
mod observation;
mod peer;
mod violation;

pub use self::case::{Timing, harness_error, judge_case};
pub use self::client_request::{check_client_request, check_early_data};
pub use self::handshake::{
    Answer, HandshakeJudgement, HandshakeProblem, check_upgrade_response,
    deflate_response_problems, judge_refusal, response_outside_tls,
};
pub use self::matcher::{MatchOutcome, Matcher, Outbox};
pub use self::observation::{add_observation, judge_observation};
pub use self::peer::PeerStream;
pub use self::violation::{Rfc, Violation};

use crate::body::Body;
use wsspec_suite::{
    Level, Role,
    results::{CloseBehavior, CloseInfo, Data, Side, Verdict},
};
use wsspec_wire::{CloseCode, ClosePayload, Opcode};

/// Something the peer did, after reassembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A complete data message.
    Message {
        /// The opcode of its first frame.
        opcode: Opcode,
        /// The reassembled payload's length, digest and first bytes.
        body: Body,
    },
    /// A ping (the harness answers it).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame, with its raw payload.
    Close(Vec<u8>),
    /// A frame or message that breaks the protocol.
    Violation(Violation),
    /// The peer closed TCP (or the connection broke).
    TcpClosed(Option<String>),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Message { opcode, body } => write!(
                f,
                "{opcode} message of {} bytes {}",
                body.len,
                preview(&body.head)
            ),
            Observed::Ping(p) => write!(f, "ping {}", preview(p)),
            Observed::Pong(p) => write!(f, "pong {}", preview(p)),
            Observed::Close(p) => write!(f, "close {}", describe_close(p)),
            Observed::Violation(what) => write!(
                f,
                "protocol violation: {what} [{}]",
                what.requirements().join(", ")
            ),
            Observed::TcpClosed(None) => f.write_str("TCP closed by the peer"),
            Observed::TcpClosed(Some(err)) => write!(f, "connection lost: {err}"),
        }
    }
}

/// A short printable form of a payload.
pub fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 32;
    let head = &bytes[..bytes.len().min(MAX)];
    let more = if bytes.len() > MAX { "…" } else { "" };
    format!("{}{more}", Data::from_bytes(head))
}

/// Describes a close payload: `1002 (protocol error) "reason"`, `without a code`, or what is wrong with it.
pub fn describe_close(payload: &[u8]) -> String {
    match ClosePayload::parse(payload) {
        ClosePayload::Empty => "without a code".into(),
        ClosePayload::Malformed(_) => "with a malformed 1-byte payload".into(),
        ClosePayload::Code { code, reason: [] } => format!("{code}"),
        ClosePayload::Code { code, reason } => format!("{code} {}", preview(reason)),
    }
}

/// Everything the closing judgement needs to know about how the connection ended.
#[derive(Clone, Debug, Default)]
pub struct Ending {
    /// Close and TCP facts.
    pub info: CloseInfo,
    /// The codes a `fail` expectation asked for, if the case expected the peer to fail the connection.
    pub fail_codes: Option<Vec<CloseCode>>,
    /// Whether the harness gave up waiting for the peer's close frame.
    pub close_timed_out: bool,
    /// Whether the harness gave up waiting for the peer to close TCP.
    pub tcp_timed_out: bool,
    /// The role the peer played.
    pub role: Option<Role>,
    /// Whether the peer's close frame came after the harness had sent one (valid or not).
    pub answered_harness_close: bool,
}

/// Judges how the connection closed: Autobahn's `behaviorClose`, with the RFC's levels, and the
/// ids of the requirements a FAILED or NON-STRICT close verdict turns on.
pub fn judge_close(
    ending: &Ending,
    notes: &mut Vec<String>,
) -> (CloseBehavior, Verdict, Vec<&'static str>) {
    /// §7.1.7: a Close frame "with an appropriate status code" (SHOULD).
    const APPROPRIATE_CODE: &str = "6455-7.1.7-3";
    let info = &ending.info;
    let peer_code = info.peer_code.map(CloseCode);
    let harness_code = info.harness_code.map(CloseCode);
    if let Some(codes) = &ending.fail_codes {
        let accepted = match peer_code {
            None => true,
            Some(code) => code == CloseCode::NORMAL || Some(code) == harness_code,
        };
        let wanted = peer_code.is_some_and(|code| codes.contains(&code));
        match peer_code {
            Some(code) if !code.may_be_sent() => {
                notes.push(format!(
                    "the peer closed with {code}, a code that may not be sent (§7.4.1)"
                ));
                let broken = Violation::InvalidCloseCode(code).sender_requirements();
                return (CloseBehavior::WrongCode, Verdict::Fail, broken);
            }
            // Failing the connection is closing it (a MUST, met here: the peer sent its close frame
            // and the connection ended); the close frame's "appropriate status code" is a SHOULD
            // (§7.1.7). An answer that reads as if the harness's close were valid misses only that.
            _ if ending.answered_harness_close && accepted && !wanted => {
                notes.push(format!(
                    "the peer answered the harness's invalid close frame as a valid one ({}) instead of failing the connection with {}; §7.1.7 asks for an appropriate status code (SHOULD)",
                    peer_code.map_or("an empty close".to_owned(), |code| code.to_string()),
                    fitting(codes),
                ));
                return (
                    CloseBehavior::WrongCode,
                    Verdict::NonStrict,
                    vec![APPROPRIATE_CODE],
                );
            }
            Some(code) if !codes.is_empty() && !codes.contains(&code) => {
                notes.push(format!(
                    "the peer failed the connection with {code} where {} fits; §7.1.7 asks for an appropriate status code (SHOULD)",
                    fitting(codes)
                ));
                return (
                    CloseBehavior::WrongCode,
                    Verdict::NonStrict,
                    vec![APPROPRIATE_CODE],
                );
            }
            None if info.initiated_by == Some(Side::Peer) && !codes.is_empty() => {
                notes.push("the peer's close frame has no status code; §7.1.7 asks for an appropriate one (SHOULD)".into());
                return (
                    CloseBehavior::WrongCode,
                    Verdict::NonStrict,
                    vec![APPROPRIATE_CODE],
                );
            }
            _ => {}
        }
    } else {
        if info.initiated_by == Some(Side::Peer) {
            notes.push(
                "the peer started the close handshake although the case did not call for it".into(),
            );
            // No sentence of the RFC forbids it; the case's own script did not call for it.
            return (CloseBehavior::Failed, Verdict::Fail, Vec::new());
        }
        if !info.clean {
            let why = if ending.close_timed_out {
                "the peer did not answer the harness's close frame (§5.5.1: it MUST send a Close frame in response)"
            } else {
                "the connection ended without the peer's close frame (§5.5.1: it MUST answer a Close frame)"
            };
            notes.push(why.into());
            return (CloseBehavior::Unclean, Verdict::Fail, vec!["6455-5.5.1-6"]);
        }
        if let Some(code) = peer_code {
            if !code.may_be_sent() {
                notes.push(format!(
                    "the peer answered with {code}, a code that may not be sent (§7.4.1)"
                ));
                let broken = Violation::InvalidCloseCode(code).sender_requirements();
                return (CloseBehavior::WrongCode, Verdict::Fail, broken);
            }
            if Some(code) != harness_code && code != CloseCode::NORMAL {
                notes.push(format!(
                    "the peer answered the close with {code}; §5.5.1 says an endpoint typically echoes the code it received"
                ));
            }
        }
    }
    if ending.tcp_timed_out && ending.role == Some(Role::Server) {
        notes.push("after the close handshake the server did not close TCP; §7.1.1: the server SHOULD close it first".into());
        return (
            CloseBehavior::FailedByClient,
            Verdict::NonStrict,
            vec!["6455-7.1.1-3"],
        );
    }
    (CloseBehavior::Ok, Verdict::Pass, Vec::new())
}

/// The codes a `fail` expectation asked for, as a note names them ("1002 or 1007"; "a status code"
/// when it asked for none in particular).
fn fitting(codes: &[CloseCode]) -> String {
    if codes.is_empty() {
        return "a status code".to_owned();
    }
    codes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The case's verdict: the worse of the two, capped by the requirement level.
pub fn overall(level: Level, behavior: Verdict, close: Verdict) -> Verdict {
    let worst = behavior.max(close);
    if worst == Verdict::Error {
        return Verdict::Error;
    }
    match level {
        Level::Must => worst,
        Level::Should if worst == Verdict::Fail => Verdict::NonStrict,
        Level::Should => worst,
        Level::May if worst == Verdict::Pass => Verdict::Pass,
        Level::May | Level::Info => Verdict::Informational,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_suite::case::{AltVerdict, Alternative, Expect, FrameMatch, Payload};
    use wsspec_wire::{FrameHeader, LengthForm, RSV1, RSV2, deflate::Direction};

    fn header(fin: bool, opcode: Opcode, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: len,
            length_form: LengthForm::minimal(len),
        }
    }

    /// Feeds a whole frame and returns what the stream made of it.
    fn frame(peer: &mut PeerStream, header: &FrameHeader, payload: &[u8]) -> Option<Observed> {
        let mut seen = peer.header(header);
        for chunk in payload.chunks(2) {
            seen = seen.or(peer.payload(chunk));
        }
        seen.or(peer.end())
    }

    #[test]
    fn reassembles_fragments_and_flags_violations() {
        let mut peer = PeerStream::new(Role::Server);
        assert_eq!(
            frame(&mut peer, &header(false, Opcode::Text, 2), b"he"),
            None
        );
        assert_eq!(
            frame(&mut peer, &header(true, Opcode::Continuation, 3), b"llo"),
            Some(text(b"hello"))
        );
        let stray = frame(&mut peer, &header(true, Opcode::Continuation, 0), b"");
        assert!(stray == Some(Observed::Violation(Violation::StrayContinuation)));
        let mut masked = header(true, Opcode::Binary, 0);
        masked.mask = Some([1, 2, 3, 4]);
        assert!(
            frame(&mut peer, &masked, b"")
                == Some(Observed::Violation(Violation::MaskedServerFrame))
        );
        let bad_utf8 = frame(
            &mut peer,
            &header(true, Opcode::Text, 3),
            &[0xed, 0xa0, 0x80],
        );
        assert_eq!(
            bad_utf8,
            Some(Observed::Violation(Violation::InvalidUtf8Text))
        );
        let big_ping = frame(&mut peer, &header(true, Opcode::Ping, 126), &[0; 126]);
        assert!(matches!(
            big_ping,
            Some(Observed::Violation(Violation::OversizedControlFrame {
                len: 126,
                ..
            }))
        ));
        let bad_close = frame(&mut peer, &header(true, Opcode::Close, 2), &[0x03, 0xed]);
        assert_eq!(
            bad_close,
            Some(Observed::Violation(Violation::InvalidCloseCode(CloseCode(
                1005
            ))))
        );
        assert_eq!(
            frame(&mut peer, &header(true, Opcode::Ping, 1), b"p"),
            Some(Observed::Ping(b"p".to_vec()))
        );
    }

    #[test]
    fn with_deflate_rsv1_marks_a_compressed_message_and_nothing_else() {
        use wsspec_wire::deflate::Compressor;
        let direction = Direction::default();
        let mut peer = PeerStream::new(Role::Server).with_deflate(direction);
        let compressed = Compressor::new(direction, 6).message(b"Hello, deflate");
        let mut first = header(false, Opcode::Text, 4);
        first.rsv = RSV1;
        assert_eq!(frame(&mut peer, &first, &compressed[..4]), None);
        let rest = header(true, Opcode::Continuation, compressed.len() as u64 - 4);
        assert_eq!(
            frame(&mut peer, &rest, &compressed[4..]),
            Some(text(b"Hello, deflate"))
        );
        // Uncompressed messages still pass through.
        assert_eq!(
            frame(&mut peer, &header(true, Opcode::Text, 2), b"hi"),
            Some(text(b"hi"))
        );
        let mut ping = header(true, Opcode::Ping, 0);
        ping.rsv = RSV1;
        assert!(
            frame(&mut peer, &ping, b"")
                == Some(Observed::Violation(Violation::CompressedControlFrame(
                    Opcode::Ping
                )))
        );
        let mut corrupt = header(true, Opcode::Binary, 3);
        corrupt.rsv = RSV1;
        assert!(matches!(
            frame(&mut peer, &corrupt, &[0xff; 3]),
            Some(Observed::Violation(Violation::DoesNotInflate(_)))
        ));
        let mut rsv2 = header(true, Opcode::Text, 0);
        rsv2.rsv = RSV2;
        assert!(
            frame(&mut peer, &rsv2, b"")
                == Some(Observed::Violation(Violation::RsvUndefinedByDeflate(RSV2)))
        );
        // Without the agreement, RSV1 is a violation as in section 3.
        let mut plain = PeerStream::new(Role::Server);
        assert!(
            frame(&mut plain, &first, &compressed)
                == Some(Observed::Violation(Violation::RsvWithoutExtension(RSV1)))
        );
    }

    #[test]
    fn a_client_that_masks_three_frames_in_a_row_with_one_key_is_named() {
        let mut peer = PeerStream::new(Role::Client);
        let mut ping = header(true, Opcode::Ping, 1);
        ping.mask = Some([1, 2, 3, 4]);
        let pinged = Some(Observed::Ping(b"p".to_vec()));
        assert_eq!(frame(&mut peer, &ping, b"p"), pinged);
        assert_eq!(frame(&mut peer, &ping, b"p"), pinged);
        assert_eq!(
            frame(&mut peer, &ping, b"p"),
            Some(Observed::Violation(Violation::RepeatedMaskingKey([
                1, 2, 3, 4
            ])))
        );
        // A new key starts a new run.
        ping.mask = Some([5, 6, 7, 8]);
        assert_eq!(frame(&mut peer, &ping, b"p"), pinged);
    }

    #[test]
    fn a_peer_that_keeps_its_context_after_agreeing_not_to_is_named() {
        use wsspec_wire::deflate::Compressor;
        let fresh = Direction {
            no_context_takeover: true,
            ..Direction::default()
        };
        let mut peer = PeerStream::new(Role::Client).with_deflate(fresh);
        let mut keeping = Compressor::new(Direction::default(), 6);
        let mut message = header(true, Opcode::Text, 0);
        message.rsv = RSV1;
        message.mask = Some([0; 4]);
        let first = keeping.message(b"Hello, context");
        message.payload_len = first.len() as u64;
        assert_eq!(
            frame(&mut peer, &message, &first),
            Some(text(b"Hello, context"))
        );
        let second = keeping.message(b"Hello, context");
        message.payload_len = second.len() as u64;
        assert_eq!(
            frame(&mut peer, &message, &second),
            Some(Observed::Violation(Violation::KeptDeflateContext(
                Role::Client
            )))
        );
    }

    fn outbox(items: &[&[u8]]) -> Outbox {
        let mut outbox = Outbox::default();
        outbox
            .messages
            .extend(items.iter().map(|p| (Opcode::Text, Body::of(p))));
        outbox
    }

    fn text(p: &[u8]) -> Observed {
        Observed::Message {
            opcode: Opcode::Text,
            body: Body::of(p),
        }
    }

    #[test]
    fn echo_skips_unsolicited_pongs_and_rejects_wrong_payload() {
        let sent = outbox(&[b"hello"]);
        let mut m = Matcher::new(&Expect::Echo);
        assert_eq!(m.feed(&Observed::Pong(vec![]), &sent), None);
        assert!(matches!(
            m.feed(&text(b"hello"), &sent),
            Some(MatchOutcome::Matched {
                verdict: Verdict::Pass,
                echoes: 1,
                ..
            })
        ));
        let mut m = Matcher::new(&Expect::Echo);
        assert!(matches!(
            m.feed(&text(b"hellO"), &sent),
            Some(MatchOutcome::Failed(_))
        ));
    }

    #[test]
    fn ranked_alternatives_pick_the_first_that_matches() {
        let expect = Expect::OneOf(vec![
            Alternative {
                expect: vec![Expect::Echo, Expect::Fail(vec![CloseCode::PROTOCOL_ERROR])],
                verdict: AltVerdict::Ok,
            },
            Alternative {
                expect: vec![Expect::Fail(vec![CloseCode::PROTOCOL_ERROR])],
                verdict: AltVerdict::NonStrict,
            },
        ]);
        let sent = outbox(&[b"hi"]);
        let mut m = Matcher::new(&expect);
        assert_eq!(m.feed(&text(b"hi"), &sent), None);
        let got = m.feed(&Observed::TcpClosed(None), &sent);
        assert!(
            matches!(
                got,
                Some(MatchOutcome::Matched {
                    verdict: Verdict::Pass,
                    echoes: 1,
                    ..
                })
            ),
            "{got:?}"
        );
        let mut m = Matcher::new(&expect);
        let got = m.feed(&Observed::Close(vec![0x03, 0xea]), &sent);
        assert!(
            matches!(
                got,
                Some(MatchOutcome::Matched {
                    verdict: Verdict::NonStrict,
                    echoes: 0,
                    ..
                })
            ),
            "{got:?}"
        );
        // A pong while the peer should be failing the connection: a heartbeat (no ping carried its
        // payload) is allowed at any time; an answer to the harness's ping means it read on.
        let mut sent = outbox(&[b"hi"]);
        let mut m = Matcher::new(&expect);
        assert_eq!(m.feed(&text(b"hi"), &sent), None);
        assert_eq!(m.feed(&Observed::Pong(b"beat".to_vec()), &sent), None);
        sent.sent_ping(b"after the bad frame");
        assert!(matches!(
            m.feed(&Observed::Pong(b"after the bad frame".to_vec()), &sent),
            Some(MatchOutcome::Failed(_))
        ));
    }

    #[test]
    fn pongs_for_accepts_only_the_last_ping_answered() {
        let pings: Vec<Payload> = (0..3).map(|i| Payload::Text(format!("p{i}"))).collect();
        let expect = Expect::PongsFor(pings);
        let mut none = Outbox::default();
        for ping in ["p0", "p1", "p2"] {
            none.sent_ping(ping.as_bytes());
        }
        let mut m = Matcher::new(&expect);
        assert!(matches!(
            m.feed(&Observed::Pong(b"p2".to_vec()), &none),
            Some(MatchOutcome::Matched { .. })
        ));
        let mut m = Matcher::new(&expect);
        assert_eq!(m.feed(&Observed::Pong(b"p0".to_vec()), &none), None);
        assert!(matches!(
            m.feed(&Observed::Pong(b"p0".to_vec()), &none),
            Some(MatchOutcome::Failed(_))
        ));
        let m = Matcher::new(&Expect::Message(FrameMatch {
            opcode: Opcode::Text,
            payload: Payload::Text("x".into()),
        }));
        assert!(
            matches!(m.timed_out(100), MatchOutcome::Failed(msg) if msg.contains("within 100 ms"))
        );
    }

    #[test]
    fn close_judgement_follows_the_rfc_levels() {
        let mut notes = vec![];
        let clean = Ending {
            info: CloseInfo {
                initiated_by: Some(Side::Harness),
                peer_code: Some(1000),
                harness_code: Some(1000),
                clean: true,
                tcp_closed_by: Some(Side::Peer),
                ..CloseInfo::default()
            },
            role: Some(Role::Server),
            ..Ending::default()
        };
        assert_eq!(
            judge_close(&clean, &mut notes),
            (CloseBehavior::Ok, Verdict::Pass, vec![])
        );
        let unclean = Ending {
            info: CloseInfo {
                clean: false,
                ..clean.info.clone()
            },
            close_timed_out: true,
            ..clean.clone()
        };
        assert_eq!(
            judge_close(&unclean, &mut notes),
            (CloseBehavior::Unclean, Verdict::Fail, vec!["6455-5.5.1-6"])
        );
        let lingering = Ending {
            tcp_timed_out: true,
            ..clean.clone()
        };
        assert_eq!(
            judge_close(&lingering, &mut notes),
            (
                CloseBehavior::FailedByClient,
                Verdict::NonStrict,
                vec!["6455-7.1.1-3"]
            )
        );
        let failed_wrong_code = Ending {
            info: CloseInfo {
                initiated_by: Some(Side::Peer),
                peer_code: Some(1000),
                ..clean.info.clone()
            },
            fail_codes: Some(vec![CloseCode::PROTOCOL_ERROR]),
            ..clean.clone()
        };
        assert_eq!(
            judge_close(&failed_wrong_code, &mut notes),
            (
                CloseBehavior::WrongCode,
                Verdict::NonStrict,
                vec!["6455-7.1.7-3"]
            )
        );
        // 7.3.2: an invalid close frame answered with an empty one, and the connection closed.
        let answered_as_valid = Ending {
            info: CloseInfo {
                initiated_by: Some(Side::Harness),
                peer_code: None,
                ..clean.info.clone()
            },
            fail_codes: Some(vec![CloseCode::PROTOCOL_ERROR]),
            answered_harness_close: true,
            ..clean.clone()
        };
        assert_eq!(
            judge_close(&answered_as_valid, &mut notes),
            (
                CloseBehavior::WrongCode,
                Verdict::NonStrict,
                vec!["6455-7.1.7-3"]
            )
        );
        // 7.9.x: a code that may not be sent, echoed back, breaks the sender's MUST.
        let echoed_unsendable = Ending {
            info: CloseInfo {
                peer_code: Some(1005),
                harness_code: Some(1005),
                ..answered_as_valid.info.clone()
            },
            ..answered_as_valid
        };
        assert_eq!(
            judge_close(&echoed_unsendable, &mut notes),
            (
                CloseBehavior::WrongCode,
                Verdict::Fail,
                vec!["6455-7.4.1-3"]
            )
        );
        let dropped = Ending {
            info: CloseInfo {
                initiated_by: None,
                peer_code: None,
                clean: false,
                tcp_closed_by: Some(Side::Peer),
                ..CloseInfo::default()
            },
            fail_codes: Some(vec![CloseCode::PROTOCOL_ERROR]),
            ..clean
        };
        assert_eq!(
            judge_close(&dropped, &mut notes),
            (CloseBehavior::Ok, Verdict::Pass, vec![])
        );
    }

    #[test]
    fn level_caps_the_verdict() {
        use Verdict::*;
        for (level, behavior, close, expected) in [
            (Level::Must, Pass, Fail, Fail),
            (Level::Should, Fail, Pass, NonStrict),
            (Level::Info, Fail, Pass, Informational),
            (Level::Info, Pass, Pass, Informational),
            (Level::May, Pass, Pass, Pass),
            (Level::May, NonStrict, Pass, Informational),
            (Level::Info, Error, Pass, Error),
        ] {
            assert_eq!(
                overall(level, behavior, close),
                expected,
                "{level:?} {behavior:?} {close:?}"
            );
        }
    }
}
