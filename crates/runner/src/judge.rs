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
mod handshake;
mod observation;
mod violation;

pub use self::case::{Timing, harness_error, judge_case};
pub use self::handshake::{
    Answer, HandshakeJudgement, check_client_request, check_upgrade_response,
    deflate_response_problems, judge_refusal,
};
pub use self::observation::{add_observation, judge_observation};
pub use self::violation::{Rfc, Violation};

use crate::body::{Body, BodyBuilder};
use crate::deflate::MAX_INFLATED;
use wsspec_suite::{
    Level, Role,
    case::{AltVerdict, Expect, Payload},
    results::{CloseBehavior, CloseInfo, Data, Side, Verdict},
};
use wsspec_wire::{
    CloseCode, ClosePayload, FrameHeader, Opcode, Utf8Validator,
    deflate::{Decompressor, Direction},
};

/// Something the peer did, after reassembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A complete data message.
    Message {
        /// The opcode of its first frame.
        opcode: u8,
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
                "{} message of {} bytes {}",
                wsspec_suite::case::opcode_name(*opcode),
                body.len,
                preview(&body.head)
            ),
            Observed::Ping(p) => write!(f, "ping {}", preview(p)),
            Observed::Pong(p) => write!(f, "pong {}", preview(p)),
            Observed::Close(p) => write!(f, "close {}", describe_close(p)),
            Observed::Violation(what) => write!(f, "protocol violation: {what}"),
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

/// Reassembles the peer's frames into messages, chunk by chunk, and flags protocol violations. With
/// permessage-deflate agreed, it inflates compressed messages as their bytes arrive.
#[derive(Debug)]
pub struct PeerStream {
    role: Role,
    frame: FrameState,
    message: Option<(u8, BodyBuilder)>,
    utf8: Utf8Validator,
    /// The peer's messages are inflated with this, when permessage-deflate was agreed.
    inflater: Option<Decompressor>,
    /// Whether the open message is compressed (RSV1 on its first frame).
    compressed: bool,
}

/// Where the payload of the frame being read goes.
#[derive(Debug, Default)]
enum FrameState {
    /// No frame, or one whose payload is ignored (it was a violation, or a reserved opcode).
    #[default]
    Skip,
    /// A data frame of the open message; `fin` ends the message.
    Data { fin: bool },
    /// A control frame (at most 125 bytes, checked at its header).
    Control { opcode: Opcode, payload: Vec<u8> },
}

impl PeerStream {
    /// A stream from a peer playing `role`.
    pub fn new(role: Role) -> Self {
        PeerStream {
            role,
            frame: FrameState::Skip,
            message: None,
            utf8: Utf8Validator::new(),
            inflater: None,
            compressed: false,
        }
    }

    /// The stream of a peer that agreed to permessage-deflate and compresses as `peer` says: RSV1
    /// marks a compressed message on its first frame, and nowhere else (RFC 7692 §6).
    pub fn with_deflate(mut self, peer: Direction) -> Self {
        self.inflater = Some(Decompressor::new(peer, MAX_INFLATED));
        self
    }

    /// A frame header arrived.
    pub fn header(&mut self, header: &FrameHeader) -> Option<Observed> {
        self.frame = FrameState::Skip;
        if let Some(violation) = self.check_header(header) {
            return Some(Observed::Violation(violation));
        }
        match header.opcode {
            Opcode::Ping | Opcode::Pong | Opcode::Close => {
                self.frame = FrameState::Control {
                    opcode: header.opcode,
                    payload: Vec::new(),
                };
            }
            Opcode::Continuation if self.message.is_none() => {
                return Some(Observed::Violation(Violation::StrayContinuation));
            }
            Opcode::Continuation => self.frame = FrameState::Data { fin: header.fin },
            Opcode::Text | Opcode::Binary if self.message.is_some() => {
                self.message = None;
                return Some(Observed::Violation(Violation::NewMessageInFragmented(
                    header.opcode,
                )));
            }
            Opcode::Text | Opcode::Binary => {
                self.utf8.reset();
                self.compressed = self.inflater.is_some() && header.rsv & RSV1 != 0;
                self.message = Some((header.opcode.as_u8(), BodyBuilder::default()));
                self.frame = FrameState::Data { fin: header.fin };
            }
            Opcode::Reserved(_) => {}
        }
        None
    }

    /// Part of the current frame's payload arrived.
    pub fn payload(&mut self, chunk: &[u8]) -> Option<Observed> {
        match &mut self.frame {
            FrameState::Skip => None,
            FrameState::Control { payload, .. } => {
                payload.extend_from_slice(chunk);
                None
            }
            FrameState::Data { .. } => {
                let violation = if self.compressed {
                    self.inflate(chunk, false)
                } else {
                    self.take(chunk)
                };
                if violation.is_some() {
                    self.message = None;
                    self.frame = FrameState::Skip;
                }
                violation
            }
        }
    }

    /// Adds message bytes (inflated ones, for a compressed message); a violation if the text is not
    /// UTF-8.
    fn take(&mut self, bytes: &[u8]) -> Option<Observed> {
        let (opcode, body) = self.message.as_mut()?;
        if *opcode == 1 && self.utf8.feed(bytes).is_err() {
            return Some(Observed::Violation(Violation::InvalidUtf8Text));
        }
        body.push(bytes);
        None
    }

    /// Inflates part of a compressed message (`last`: the end of the message, where the tail is
    /// appended) into [`PeerStream::take`].
    fn inflate(&mut self, chunk: &[u8], last: bool) -> Option<Observed> {
        let mut inflater = self.inflater.take()?;
        let mut violation = None;
        let mut sink = |bytes: &[u8]| {
            if violation.is_none() {
                violation = self.take(bytes);
            }
        };
        let result = if last {
            inflater.finish(&mut sink)
        } else {
            inflater.push(chunk, &mut sink)
        };
        self.inflater = Some(inflater);
        match result {
            Err(err) => Some(Observed::Violation(Violation::DoesNotInflate(err))),
            Ok(()) => violation,
        }
    }

    /// The current frame ended.
    pub fn end(&mut self) -> Option<Observed> {
        match std::mem::take(&mut self.frame) {
            FrameState::Skip | FrameState::Data { fin: false } => None,
            FrameState::Data { fin: true } => {
                if self.compressed {
                    if let Some(violation) = self.inflate(&[], true) {
                        self.message = None;
                        return Some(violation);
                    }
                }
                let (opcode, body) = self.message.take()?;
                if opcode == 1 && self.utf8.finish().is_err() {
                    return Some(Observed::Violation(Violation::TruncatedUtf8Text));
                }
                Some(Observed::Message {
                    opcode,
                    body: body.finish(),
                })
            }
            FrameState::Control {
                opcode: Opcode::Ping,
                payload,
            } => Some(Observed::Ping(payload)),
            FrameState::Control {
                opcode: Opcode::Pong,
                payload,
            } => Some(Observed::Pong(payload)),
            FrameState::Control { payload, .. } => Some(self.close(payload)),
        }
    }

    /// RFC 6455 rules on a header, whatever the payload.
    fn check_header(&self, header: &FrameHeader) -> Option<Violation> {
        match (self.role, header.mask) {
            (Role::Server, Some(_)) => return Some(Violation::MaskedServerFrame),
            (Role::Client, None) => return Some(Violation::UnmaskedClientFrame),
            _ => {}
        }
        if self.inflater.is_some() && header.rsv & RSV1 != 0 {
            if header.opcode.is_control() {
                return Some(Violation::CompressedControlFrame(header.opcode));
            }
            if header.opcode == Opcode::Continuation {
                return Some(Violation::CompressedContinuation);
            }
        }
        let undefined =
            if self.inflater.is_some() && matches!(header.opcode, Opcode::Text | Opcode::Binary) {
                header.rsv & !RSV1
            } else {
                header.rsv
            };
        if undefined != 0 {
            return Some(if self.inflater.is_some() {
                Violation::RsvUndefinedByDeflate(undefined)
            } else {
                Violation::RsvWithoutExtension(undefined)
            });
        }
        if header.opcode.is_reserved() {
            return Some(Violation::ReservedOpcode(header.opcode.as_u8()));
        }
        if header.opcode.is_control() && !header.fin {
            return Some(Violation::FragmentedControlFrame(header.opcode));
        }
        if header.opcode.is_control() && header.payload_len > 125 {
            return Some(Violation::OversizedControlFrame {
                opcode: header.opcode,
                len: header.payload_len,
            });
        }
        None
    }

    fn close(&self, payload: Vec<u8>) -> Observed {
        match ClosePayload::parse(&payload) {
            ClosePayload::Malformed(_) => Observed::Violation(Violation::OneByteClosePayload),
            ClosePayload::Code { code, .. } if !code.may_be_sent() => {
                Observed::Violation(Violation::InvalidCloseCode(code))
            }
            ClosePayload::Code { reason, .. } if std::str::from_utf8(reason).is_err() => {
                Observed::Violation(Violation::InvalidCloseReason)
            }
            _ => Observed::Close(payload),
        }
    }
}

/// The RSV1 bit in [`FrameHeader::rsv`]: "Per-Message Compressed" under permessage-deflate.
const RSV1: u8 = 0b100;

/// What the harness has sent and not yet seen echoed, for `echo` expectations.
pub type Outbox = std::collections::VecDeque<(u8, Body)>;

/// The outcome of one expectation step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchOutcome {
    /// An alternative matched; `echoes` messages of the outbox were echoed.
    Matched {
        /// The verdict it earns.
        verdict: Verdict,
        /// How many outbox entries it consumed.
        echoes: usize,
        /// A description of what matched.
        what: String,
        /// The codes of the `fail` atom in the alternative that matched: the peer failed the connection.
        fail_codes: Option<Vec<u16>>,
    },
    /// No alternative can match any more.
    Failed(String),
}

/// One alternative being matched.
#[derive(Debug)]
struct Track {
    atoms: Vec<Expect>,
    verdict: AltVerdict,
    position: usize,
    pong_index: usize,
    echoes: usize,
    /// The target's declared message limit.
    limit: Option<u64>,
    /// Whether the peer refused an over-limit message by failing the connection.
    refused: bool,
    seen: Vec<String>,
    dead: Option<String>,
}

/// Matches the peer's events against an expectation.
#[derive(Debug)]
pub struct Matcher {
    tracks: Vec<Track>,
}

/// What an atom makes of an event.
enum Step {
    /// The atom is satisfied.
    Done,
    /// The event counts toward the atom, which wants more.
    More,
    /// The event is harmless here (an unsolicited pong, a ping the harness answers).
    Ignore,
    /// The event rules this alternative out.
    Reject(String),
}

impl Matcher {
    /// A matcher for one expectation.
    pub fn new(expect: &Expect) -> Self {
        let tracks = match expect {
            Expect::OneOf(alternatives) => alternatives
                .iter()
                .map(|alt| Track::new(alt.expect.clone(), alt.verdict))
                .collect(),
            atom => vec![Track::new(vec![atom.clone()], AltVerdict::Ok)],
        };
        Matcher { tracks }
    }

    /// Applies the target's declared message limit: an `echo` of a larger message becomes "fail the
    /// connection with 1009" (RFC 6455 §7.4.1, §10.4).
    pub fn with_limit(mut self, limit: Option<u64>) -> Self {
        for track in &mut self.tracks {
            track.limit = limit;
        }
        self
    }

    /// Whether the expectation is `nothing` (it succeeds when its time runs out).
    pub fn waits_for_silence(expect: &Expect) -> Option<u64> {
        match expect {
            Expect::Nothing(ms) => Some(*ms),
            _ => None,
        }
    }

    /// Feeds one event. Returns the outcome once the expectation is decided.
    pub fn feed(&mut self, event: &Observed, outbox: &Outbox) -> Option<MatchOutcome> {
        for track in self.tracks.iter_mut().filter(|t| t.dead.is_none()) {
            track.feed(event, outbox);
            if track.position == track.atoms.len() {
                return Some(MatchOutcome::Matched {
                    verdict: match track.verdict {
                        AltVerdict::Ok => Verdict::Pass,
                        AltVerdict::NonStrict => Verdict::NonStrict,
                        AltVerdict::Informational => Verdict::Informational,
                    },
                    echoes: track.echoes,
                    what: track.seen.join(", "),
                    fail_codes: if track.refused {
                        let limit = track.limit.unwrap_or_default();
                        Some(Violation::MessageOverLimit { limit }.close_codes().to_vec())
                    } else {
                        track.atoms.iter().find_map(|atom| match atom {
                            Expect::Fail(codes) => Some(codes.clone()),
                            _ => None,
                        })
                    },
                });
            }
        }
        if self.tracks.iter().all(|t| t.dead.is_some()) {
            return Some(MatchOutcome::Failed(self.reasons()));
        }
        None
    }

    /// The outcome of a `nothing` expectation whose `ms` of silence passed: it is met.
    pub fn silence_kept(ms: u64) -> MatchOutcome {
        MatchOutcome::Matched {
            verdict: Verdict::Pass,
            echoes: 0,
            what: format!("nothing for {ms} ms"),
            fail_codes: None,
        }
    }

    /// The outcome when the time allowed has run out.
    pub fn timed_out(&self, within_ms: u64) -> MatchOutcome {
        let waiting: Vec<String> = self
            .tracks
            .iter()
            .filter(|t| t.dead.is_none())
            .filter_map(|t| t.atoms.get(t.position).map(|atom| atom.to_string()))
            .collect();
        let seen: Vec<&String> = self.tracks.iter().flat_map(|t| &t.seen).collect();
        let seen = if seen.is_empty() {
            "nothing arrived".to_owned()
        } else {
            format!(
                "after {}",
                seen.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        MatchOutcome::Failed(format!(
            "no {} within {within_ms} ms ({seen})",
            waiting.join(" nor ")
        ))
    }

    fn reasons(&self) -> String {
        let mut reasons: Vec<&str> = self
            .tracks
            .iter()
            .filter_map(|t| t.dead.as_deref())
            .collect();
        reasons.dedup();
        reasons.join("; or ")
    }
}

impl Track {
    fn new(atoms: Vec<Expect>, verdict: AltVerdict) -> Self {
        Track {
            atoms,
            verdict,
            position: 0,
            pong_index: 0,
            echoes: 0,
            limit: None,
            refused: false,
            seen: Vec::new(),
            dead: None,
        }
    }

    fn feed(&mut self, event: &Observed, outbox: &Outbox) {
        let Some(atom) = self.atoms.get(self.position).cloned() else {
            return;
        };
        match self.step(&atom, event, outbox) {
            Step::Done => {
                self.seen.push(event.to_string());
                self.position += 1;
                self.pong_index = 0;
            }
            Step::More => self.seen.push(event.to_string()),
            Step::Ignore => {}
            Step::Reject(reason) => self.dead = Some(reason),
        }
    }

    fn step(&mut self, atom: &Expect, event: &Observed, outbox: &Outbox) -> Step {
        use Observed as O;
        let over_limit = matches!(atom, Expect::Echo)
            && outbox
                .get(self.echoes)
                .zip(self.limit)
                .is_some_and(|((_, sent), limit)| sent.len > limit);
        match (atom, event) {
            (_, O::Ping(_)) => Step::Ignore,
            (_, O::Close(_) | O::TcpClosed(_)) if over_limit => {
                self.refused = true;
                self.echoes += 1;
                Step::Done
            }
            (_, O::Pong(_)) if over_limit => Step::Ignore,
            (_, other) if over_limit => Step::Reject(format!(
                "the message sent is over the declared limit (--max-message-size), so the peer must fail the connection with 1009; got {other}"
            )),
            (Expect::Fail(_), O::Close(_) | O::TcpClosed(_)) => Step::Done,
            (Expect::Fail(_), other) => Step::Reject(format!(
                "expected the peer to fail the connection, got {other}"
            )),
            (Expect::Nothing(ms), other) => {
                Step::Reject(format!("expected nothing for {ms} ms, got {other}"))
            }
            (Expect::Close(_), O::Close(_)) => Step::Done,
            (Expect::Echo | Expect::Message(_), O::Pong(_)) => Step::Ignore,
            (Expect::Echo, O::Message { opcode, body }) => match outbox.get(self.echoes) {
                Some((sent_op, sent)) if sent_op == opcode && sent == body => {
                    self.echoes += 1;
                    Step::Done
                }
                Some((sent_op, sent)) => Step::Reject(format!(
                    "expected the echo of the {} message of {} bytes {} sent, got a {}",
                    wsspec_suite::case::opcode_name(*sent_op),
                    sent.len,
                    preview(&sent.head),
                    event
                )),
                None => Step::Reject(format!(
                    "got a {event} but no message was sent that it could echo"
                )),
            },
            (Expect::Message(want), O::Message { opcode, body }) => {
                // Lengths first: the digest of the expected payload is only worth computing (it can
                // be long) for a message of the same length.
                let same_len = crate::body::Source::of(&want.payload, self.limit).len == body.len;
                if want.opcode == *opcode
                    && same_len
                    && Body::of_payload(&want.payload, self.limit) == *body
                {
                    Step::Done
                } else {
                    Step::Reject(format!("expected a {}, got a {event}", atom))
                }
            }
            (Expect::Pong(want), O::Pong(got)) => {
                if payload_eq(want, got) {
                    Step::Done
                } else {
                    Step::Reject(format!(
                        "expected a pong with {want}, got a pong {}",
                        preview(got)
                    ))
                }
            }
            (Expect::PongsFor(pings), O::Pong(got)) => {
                let rest = pings.get(self.pong_index..).unwrap_or_default();
                match rest.iter().position(|ping| payload_eq(ping, got)) {
                    Some(offset) => {
                        self.pong_index += offset + 1;
                        if self.pong_index == pings.len() {
                            Step::Done
                        } else {
                            Step::More
                        }
                    }
                    None => Step::Reject(format!(
                        "a pong {} that answers none of the outstanding pings",
                        preview(got)
                    )),
                }
            }
            (atom, other) => Step::Reject(format!("expected {atom}, got {other}")),
        }
    }
}

fn payload_eq(want: &Payload, got: &[u8]) -> bool {
    want.len() == got.len() as u64 && want.to_bytes() == got
}

/// Everything the closing judgement needs to know about how the connection ended.
#[derive(Clone, Debug, Default)]
pub struct Ending {
    /// Close and TCP facts.
    pub info: CloseInfo,
    /// The codes a `fail` expectation asked for, if the case expected the peer to fail the connection.
    pub fail_codes: Option<Vec<u16>>,
    /// Whether the harness gave up waiting for the peer's close frame.
    pub close_timed_out: bool,
    /// Whether the harness gave up waiting for the peer to close TCP.
    pub tcp_timed_out: bool,
    /// The role the peer played.
    pub role: Option<Role>,
    /// Whether the peer's close frame came after the harness had sent one (valid or not).
    pub answered_harness_close: bool,
}

/// Judges how the connection closed: Autobahn's `behaviorClose`, with the RFC's levels.
pub fn judge_close(ending: &Ending, notes: &mut Vec<String>) -> (CloseBehavior, Verdict) {
    let info = &ending.info;
    if let Some(codes) = &ending.fail_codes {
        let accepted = match info.peer_code {
            None => true,
            Some(code) => code == 1000 || Some(code) == info.harness_code,
        };
        let wanted = info.peer_code.is_some_and(|code| codes.contains(&code));
        if ending.answered_harness_close && accepted && !wanted {
            notes.push(format!(
                "the peer answered the harness's close frame as a valid one ({}) instead of failing the connection",
                info.peer_code.map_or("an empty close".to_owned(), |code| CloseCode(code).to_string())
            ));
            return (CloseBehavior::WrongCode, Verdict::Fail);
        }
        match info.peer_code {
            Some(code) if !CloseCode(code).may_be_sent() => {
                notes.push(format!(
                    "the peer closed with {}, a code that may not be sent (§7.4.1)",
                    CloseCode(code)
                ));
                return (CloseBehavior::WrongCode, Verdict::Fail);
            }
            Some(code) if !codes.is_empty() && !codes.contains(&code) => {
                notes.push(format!(
                    "the peer failed the connection with {} where {} fits; §7.1.7 asks for an appropriate status code (SHOULD)",
                    CloseCode(code),
                    codes.iter().map(|c| CloseCode(*c).to_string()).collect::<Vec<_>>().join(" or ")
                ));
                return (CloseBehavior::WrongCode, Verdict::NonStrict);
            }
            None if info.initiated_by == Some(Side::Peer) && !codes.is_empty() => {
                notes.push("the peer's close frame has no status code; §7.1.7 asks for an appropriate one (SHOULD)".into());
                return (CloseBehavior::WrongCode, Verdict::NonStrict);
            }
            _ => {}
        }
    } else {
        if info.initiated_by == Some(Side::Peer) {
            notes.push(
                "the peer started the close handshake although the case did not call for it".into(),
            );
            return (CloseBehavior::Failed, Verdict::Fail);
        }
        if !info.clean {
            let why = if ending.close_timed_out {
                "the peer did not answer the harness's close frame (§5.5.1: it MUST send a Close frame in response)"
            } else {
                "the connection ended without the peer's close frame (§5.5.1: it MUST answer a Close frame)"
            };
            notes.push(why.into());
            return (CloseBehavior::Unclean, Verdict::Fail);
        }
        if let Some(code) = info.peer_code {
            if !CloseCode(code).may_be_sent() {
                notes.push(format!(
                    "the peer answered with {}, a code that may not be sent (§7.4.1)",
                    CloseCode(code)
                ));
                return (CloseBehavior::WrongCode, Verdict::Fail);
            }
            if Some(code) != info.harness_code && code != 1000 {
                notes.push(format!(
                    "the peer answered the close with {}; §5.5.1 says an endpoint typically echoes the code it received",
                    CloseCode(code)
                ));
            }
        }
    }
    if ending.tcp_timed_out && ending.role == Some(Role::Server) {
        notes.push("after the close handshake the server did not close TCP; §7.1.1: the server SHOULD close it first".into());
        return (CloseBehavior::FailedByClient, Verdict::NonStrict);
    }
    (CloseBehavior::Ok, Verdict::Pass)
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
    use wsspec_suite::case::{Alternative, FrameMatch};
    use wsspec_wire::LengthForm;

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
        rsv2.rsv = 0b010;
        assert!(
            frame(&mut peer, &rsv2, b"")
                == Some(Observed::Violation(Violation::RsvUndefinedByDeflate(0b010)))
        );
        // Without the agreement, RSV1 is a violation as in section 3.
        let mut plain = PeerStream::new(Role::Server);
        assert!(
            frame(&mut plain, &first, &compressed)
                == Some(Observed::Violation(Violation::RsvWithoutExtension(0b100)))
        );
    }

    fn outbox(items: &[&[u8]]) -> Outbox {
        items.iter().map(|p| (1, Body::of(p))).collect()
    }

    fn text(p: &[u8]) -> Observed {
        Observed::Message {
            opcode: 1,
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
                expect: vec![Expect::Echo, Expect::Fail(vec![1002])],
                verdict: AltVerdict::Ok,
            },
            Alternative {
                expect: vec![Expect::Fail(vec![1002])],
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
        let mut m = Matcher::new(&expect);
        assert_eq!(m.feed(&text(b"hi"), &sent), None);
        assert!(matches!(
            m.feed(&Observed::Pong(vec![]), &sent),
            Some(MatchOutcome::Failed(_))
        ));
    }

    #[test]
    fn pongs_for_accepts_only_the_last_ping_answered() {
        let pings: Vec<Payload> = (0..3).map(|i| Payload::Text(format!("p{i}"))).collect();
        let expect = Expect::PongsFor(pings);
        let none = Outbox::new();
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
            opcode: 1,
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
            (CloseBehavior::Ok, Verdict::Pass)
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
            (CloseBehavior::Unclean, Verdict::Fail)
        );
        let lingering = Ending {
            tcp_timed_out: true,
            ..clean.clone()
        };
        assert_eq!(
            judge_close(&lingering, &mut notes),
            (CloseBehavior::FailedByClient, Verdict::NonStrict)
        );
        let failed_wrong_code = Ending {
            info: CloseInfo {
                initiated_by: Some(Side::Peer),
                peer_code: Some(1000),
                ..clean.info.clone()
            },
            fail_codes: Some(vec![1002]),
            ..clean.clone()
        };
        assert_eq!(
            judge_close(&failed_wrong_code, &mut notes),
            (CloseBehavior::WrongCode, Verdict::NonStrict)
        );
        let dropped = Ending {
            info: CloseInfo {
                initiated_by: None,
                peer_code: None,
                clean: false,
                tcp_closed_by: Some(Side::Peer),
                ..CloseInfo::default()
            },
            fail_codes: Some(vec![1002]),
            ..clean
        };
        assert_eq!(
            judge_close(&dropped, &mut notes),
            (CloseBehavior::Ok, Verdict::Pass)
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
