//! Scenarios: what the fuzzer does on one connection, and what a conforming server must answer.
//!
//! A [`Scenario`] is an opening handshake, a few items of valid traffic and an ending: nothing, a
//! valid close, or one protocol violation. It is generated with [`arbitrary`] from bytes that a
//! seeded [`StdRng`] derives from the run's seed and the scenario's index ([`Scenario::generate`]),
//! so scenario *i* of seed *s* is the same scenario on every machine. [`Scenario::to_case`] writes
//! it in the case language, with the reactions RFC 6455 requires as its expectations: valid messages
//! are echoed exactly, pings are ponged, a valid close is answered, a violation fails the connection
//! with an acceptable code, and a handshake the peer must refuse is refused.
//!
//! A scenario is made for one [`Role`] of the target. For a server, the handshake variants change
//! the request (a refusal must be an HTTP error), and every case ends with a fresh standard
//! handshake that must still be upgraded (`then_connect`): the target did not die. For a client,
//! wsspec is the server: the variants change the 101 response (a client must fail the connection
//! on a broken one, as in the cases of 14.5), the unmasked frame among the violations becomes a
//! masked one (RFC 6455 §5.1: a client must refuse it, as in 16.1), and there is no
//! `then_connect`: each scenario gets a connection of its own from the client.

use std::fmt::Write as _;

use arbitrary::Unstructured;
use rand::{RngCore, SeedableRng, rngs::StdRng};
use wsspec_suite::{
    Case, CaseId, Level, Role,
    case::{
        AltVerdict, Alternative, ClosePayloadSpec, Expect, FrameSpec, MaskSpec, OnTimeout, Payload,
        Source, Step, WritePlan,
    },
    handshake::{
        Handshake, HandshakeExpect, HeaderCase, Refusal, RequestEdit, RequestSpec, ResponseEdit,
        ResponseSpec,
    },
    results::Verdict,
};

use wsspec_runner::judge::Violation as RuleBroken;
use wsspec_wire::{CloseCode, Opcode};

mod generate;
mod handshake;
mod steps;
mod violation;

use steps::{bytes_payload, chopped, expectation, frame, send, text_payload};
pub use violation::{Violation, ViolationKind};

/// Most items of valid traffic in one scenario.
pub const MAX_ITEMS: usize = 6;

/// Bytes of entropy behind one scenario: its structure, and the contents of its smaller payloads
/// (once they run out, payload bytes are zeros).
const ENTROPY: usize = 8 * 1024;

/// Payloads up to this size are spelled out byte by byte; larger ones repeat a short pattern.
const SPELLED_OUT: u64 = 4096;

/// Most fragments of one message.
const MAX_FRAGMENTS: usize = 12;

/// A chopped write is cut into at most about this many pieces.
const MAX_PIECES: u64 = 64;

/// RFC 6455 §5.5: the largest control frame payload.
const CONTROL_MAX: u64 = 125;

/// One connection's worth of fuzzing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The target's role: what it is tested as.
    pub role: Role,
    /// How the connection is opened.
    pub opening: Opening,
    /// Valid traffic, each item answered before the next is sent.
    pub items: Vec<Item>,
    /// How the scenario ends.
    pub ending: Ending,
}

/// The opening handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// The standard client handshake.
    Standard,
    /// Variations of it that a server must still upgrade.
    Accepted(Vec<AcceptEdit>),
    /// One change that a server must refuse with an HTTP error; the scenario then has no traffic.
    Refused(RefuseEdit),
    /// Variations of the 101 response that a client must still accept (clients only).
    ResponseAccepted(Vec<ResponseAcceptEdit>),
    /// One change to the response that a client must refuse by failing the connection (clients
    /// only); the scenario then has no traffic.
    ResponseRefused(ResponseRefuseEdit),
}

/// A change to the 101 response that keeps it valid (RFC 6455 §4.1, §4.2.2, RFC 7230).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseAcceptEdit {
    /// `Upgrade` and `Connection` values in another letter case, such as `WebSocket` and
    /// `UPGRADE` (they are matched case-insensitively).
    ValueCase {
        /// The `Upgrade` value.
        upgrade: &'static str,
        /// The `Connection` value.
        connection: &'static str,
    },
    /// `Connection` as a token list that holds `Upgrade` among others.
    ConnectionList(&'static str),
    /// Every header name in lower case.
    LowerCaseNames,
    /// This many extra, unknown header fields.
    FillerFields(usize),
}

/// A change to the 101 response that a client must refuse (RFC 6455 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseRefuseEdit {
    /// A status other than 101.
    Status(u16),
    /// A header field left out: `Upgrade`, `Connection` or `Sec-WebSocket-Accept`.
    Remove(&'static str),
    /// A `Sec-WebSocket-Accept` that is not the one for the request's key.
    Accept(String),
    /// The request's own key as the accept value.
    KeyAsAccept,
    /// An `Upgrade` to something other than websocket.
    Upgrade(&'static str),
    /// A `Connection` header without the `Upgrade` token.
    Connection(&'static str),
    /// A subprotocol the client did not offer.
    Subprotocol(&'static str),
    /// An extension the client did not offer.
    Extension(&'static str),
}

/// A change to the request that keeps it valid (RFC 6455 §4.1, RFC 7230).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcceptEdit {
    /// Header names all lower or all upper case (field names are case-insensitive).
    HeaderCase(HeaderCase),
    /// This many extra, unknown header fields.
    FillerFields(usize),
    /// A query on the resource.
    Query(String),
    /// The head written in pieces of this many bytes.
    Chopped(usize),
}

/// A change to the request that a server must refuse (RFC 6455 §4.2.1, §4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefuseEdit {
    /// A required header field left out.
    Remove(&'static str),
    /// A header field sent twice (`Host`, `Sec-WebSocket-Key`).
    Duplicate(&'static str, String),
    /// A `Sec-WebSocket-Key` that is not 16 bytes in base64.
    Key(String),
    /// A `Sec-WebSocket-Version` other than 13.
    Version(String),
    /// A method other than GET.
    Method(&'static str),
    /// HTTP/1.0 instead of HTTP/1.1.
    Http10,
    /// An `Upgrade` to something other than websocket.
    Upgrade(String),
    /// A `Connection` header without the `Upgrade` token.
    Connection(&'static str),
}

/// One item of valid traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A data message, to be echoed exactly.
    Message(Message),
    /// A ping, to be answered with a pong carrying its payload.
    Ping(Vec<u8>),
    /// An unsolicited pong, to be ignored (RFC 6455 §5.5.3).
    Pong(Vec<u8>),
}

/// A text or binary message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// [`Opcode::Text`] or [`Opcode::Binary`].
    pub opcode: Opcode,
    /// The payload (valid UTF-8 for text).
    pub body: Body,
    /// Where the payload is cut into fragments: offsets in `0..=len`, in order, repeats allowed (an
    /// empty fragment). No cuts: one frame.
    pub cuts: Vec<u64>,
    /// Pings sent between fragments: `(k, payload)` goes right after fragment `k`, before the last.
    pub pings: Vec<(usize, Vec<u8>)>,
    /// Write the frames in pieces of this many bytes.
    pub chop: Option<usize>,
}

/// A message payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `len` bytes of a short pattern, repeated (ASCII for text); each fragment starts the pattern
    /// again.
    Repeat {
        /// The pattern.
        pattern: Vec<u8>,
        /// The length in bytes.
        len: u64,
    },
}

/// How a scenario ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Nothing more: the harness closes normally.
    Done,
    /// A valid close frame, which the server must answer with a close frame.
    Close(CloseEnding),
    /// One protocol violation, which must make the server fail the connection.
    Violation(Violation),
}

/// A valid close from the harness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseEnding {
    /// A code that may be sent (RFC 6455 §7.4).
    pub code: CloseCode,
    /// A reason of at most 123 bytes.
    pub reason: String,
    /// The first fragment of a message that the close interrupts (it must not be echoed).
    pub open: Option<Fragment>,
}

/// The first fragment (FIN clear) of a message that stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// [`Opcode::Text`] or [`Opcode::Binary`].
    pub opcode: Opcode,
    /// Its payload (ASCII for text).
    pub payload: Vec<u8>,
}

/// What a case made from a scenario is called and how long it waits.
#[derive(Clone, Debug)]
pub struct CaseOptions {
    /// The case id.
    pub id: CaseId,
    /// Its title.
    pub title: String,
    /// Its note.
    pub note: Option<String>,
    /// How long each expectation waits, in milliseconds.
    pub wait_ms: u64,
    /// The whole case's deadline, in milliseconds.
    pub timeout_ms: u64,
}

impl CaseOptions {
    /// Options for a scenario that is only run, not saved: no title, and the id `99.0`.
    pub fn unnamed(wait_ms: u64, timeout_ms: u64) -> Self {
        CaseOptions {
            id: case_id(crate::FINDINGS_SECTION, 0),
            title: String::new(),
            note: None,
            wait_ms,
            timeout_ms,
        }
    }
}

/// The case id `section.number` (numbers always make one).
pub fn case_id(section: u32, number: u32) -> CaseId {
    CaseId::parse(&format!("{section}.{number}"))
        .unwrap_or_else(|_| unreachable!("dot-separated numbers are a case id"))
}

impl Scenario {
    /// Scenario `index` of the run with `seed` for a target of `role`: its bytes come from a
    /// [`StdRng`] seeded with both numbers.
    pub fn generate(role: Role, seed: u64, index: u64) -> Scenario {
        let mut rng = StdRng::seed_from_u64(scenario_seed(seed, index));
        let mut entropy = vec![0u8; ENTROPY];
        rng.fill_bytes(&mut entropy);
        let mut u = Unstructured::new(&entropy);
        generate::scenario(&mut u, role).unwrap_or_else(|_| Scenario::empty(role))
    }

    /// The scenario that only opens a connection with the standard handshake and closes it.
    pub fn empty(role: Role) -> Scenario {
        Scenario {
            role,
            opening: Opening::Standard,
            items: Vec::new(),
            ending: Ending::Done,
        }
    }

    /// The scenario in the case language, with the RFC's required reactions as expectations.
    pub fn to_case(&self, options: &CaseOptions) -> Case {
        let wait = options.wait_ms;
        let mut steps = Vec::new();
        let mut request = RequestEdit::default();
        let mut write = WritePlan::default();
        let mut expect = HandshakeExpect::Upgrade;
        let mut response = ResponseSpec::Upgrade;
        match &self.opening {
            Opening::Standard => {}
            Opening::Accepted(edits) => {
                for edit in edits {
                    match edit {
                        AcceptEdit::HeaderCase(case) => request.header_case = *case,
                        AcceptEdit::FillerFields(n) => request.filler_fields += n,
                        AcceptEdit::Query(query) => request.query = Some(query.clone()),
                        AcceptEdit::Chopped(n) => write = chopped(Some(*n)),
                    }
                }
            }
            Opening::Refused(edit) => {
                let refusal;
                (request, refusal) = edit.request();
                expect = HandshakeExpect::Refuse(refusal);
            }
            Opening::ResponseAccepted(edits) => response = ResponseAcceptEdit::response(edits),
            Opening::ResponseRefused(edit) => {
                response = edit.response();
                edit.push_steps(&mut steps, wait);
            }
        }
        if matches!(expect, HandshakeExpect::Upgrade)
            && !matches!(self.opening, Opening::ResponseRefused(_))
        {
            for item in &self.items {
                item.push_steps(&mut steps, wait);
            }
            self.ending.push_steps(&mut steps, wait);
        }
        if steps.is_empty() && self.role == Role::Client {
            // A case file needs a step when the handshake is the standard one: the close that the
            // harness would make anyway, written out.
            Ending::Close(CloseEnding {
                code: CloseCode::NORMAL,
                reason: String::new(),
                open: None,
            })
            .push_steps(&mut steps, wait);
        }
        let (rfc, requirement) = self.requirement();
        let requirements = self
            .requirement_ids()
            .iter()
            .map(|id| (*id).to_owned())
            .collect();
        Case {
            id: options.id.clone(),
            title: options.title.clone(),
            section_title: String::new(),
            rfc,
            level: Level::Must,
            requirement,
            requirements,
            note: options.note.clone(),
            roles: vec![self.role],
            steps,
            timeout_ms: Some(options.timeout_ms),
            performance: false,
            handshake: Handshake {
                request: RequestSpec::Edit(request),
                write,
                pipelined: Vec::new(),
                expect,
                then_connect: self.role == Role::Server,
                response,
            },
            deflate: None,
            observe: None,
            source: Source {
                file: "fuzz".into(),
                line: 1,
            },
        }
    }

    /// The scenario's shape: one word per part, without the payloads. Two scenarios with the same
    /// shape exercise the same rules; a finding whose shape occurs (in order) in another failing
    /// scenario's shape most likely explains that failure too.
    pub fn shape(&self) -> Vec<String> {
        let mut shape = Vec::new();
        match &self.opening {
            Opening::Standard => {}
            Opening::Accepted(edits) => {
                shape.extend(edits.iter().map(|edit| format!("accept:{}", edit.name())))
            }
            Opening::Refused(edit) => shape.push(format!("refuse:{}", edit.name())),
            Opening::ResponseAccepted(edits) => shape.extend(
                edits
                    .iter()
                    .map(|edit| format!("accept-response:{}", edit.name())),
            ),
            Opening::ResponseRefused(edit) => {
                shape.push(format!("refuse-response:{}", edit.name()))
            }
        }
        for item in &self.items {
            shape.push(match item {
                Item::Message(message) => {
                    let mut word = format!(
                        "{}:{}",
                        message.opcode.name(),
                        size_class(message.body.len())
                    );
                    if !message.cuts.is_empty() {
                        word.push_str("+fragments");
                    }
                    if !message.pings.is_empty() {
                        word.push_str("+pings");
                    }
                    if message.chop.is_some() {
                        word.push_str("+chopped");
                    }
                    word
                }
                Item::Ping(payload) => format!("ping:{}", size_class(payload.len() as u64)),
                Item::Pong(_) => "pong".into(),
            });
        }
        match &self.ending {
            Ending::Done => {}
            Ending::Close(close) => shape.push(
                if close.open.is_some() {
                    "close+open"
                } else {
                    "close"
                }
                .into(),
            ),
            Ending::Violation(violation) => {
                let mut word = format!("violation:{}", violation.kind.name());
                if violation.open.is_some() {
                    word.push_str("+open");
                }
                shape.push(word);
            }
        }
        shape
    }

    /// Whether `part`'s shape occurs in this scenario's shape, in order.
    pub fn contains_shape(&self, part: &[String]) -> bool {
        let mut mine = self.shape().into_iter();
        part.iter().all(|word| mine.any(|w| w == *word))
    }

    /// How many steps the scenario's case has.
    pub fn step_count(&self) -> usize {
        self.to_case(&CaseOptions::unnamed(0, 0)).steps.len()
    }

    /// The scenario in words, for a finding's title.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match &self.opening {
            Opening::Standard => {}
            Opening::Accepted(edits) => {
                let edits: Vec<String> = edits.iter().map(AcceptEdit::describe).collect();
                parts.push(format!("a handshake with {}", edits.join(" and ")));
            }
            Opening::Refused(edit) => parts.push(format!("a handshake with {}", edit.describe())),
            Opening::ResponseAccepted(edits) => {
                let edits: Vec<String> = edits.iter().map(ResponseAcceptEdit::describe).collect();
                parts.push(format!("a 101 response with {}", edits.join(" and ")));
            }
            Opening::ResponseRefused(edit) => parts.push(edit.describe()),
        }
        for item in &self.items {
            parts.push(item.describe());
        }
        match &self.ending {
            Ending::Done => {}
            Ending::Close(close) => {
                let mut text = match &close.open {
                    Some(open) => format!("{}, then ", open.describe()),
                    None => String::new(),
                };
                let _ = write!(text, "a close with code {}", close.code.0);
                if !close.reason.is_empty() {
                    let _ = write!(text, " and a {}-byte reason", close.reason.len());
                }
                parts.push(text);
            }
            Ending::Violation(violation) => {
                let mut text = match &violation.open {
                    Some(open) => format!("{}, then ", open.describe()),
                    None => String::new(),
                };
                text.push_str(&violation.kind.describe());
                if let Some(n) = violation.chop {
                    let _ = write!(text, ", written in {n}-byte pieces");
                }
                parts.push(text);
            }
        }
        if parts.is_empty() {
            "a connection opened and closed".into()
        } else {
            parts.join(", then ")
        }
    }

    /// The RFC sections and the requirement the scenario checks: its violation's, else those of its
    /// traffic.
    /// The registry's ids of what [`Scenario::requirement`] quotes (`wsspec requirements`).
    fn requirement_ids(&self) -> &'static [&'static str] {
        match (&self.opening, &self.ending) {
            (Opening::Refused(_), _) => &["6455-4.2.1-1"],
            (Opening::ResponseRefused(edit), _) => edit.requirement_ids(),
            (_, Ending::Violation(violation)) => match violation.kind {
                // What the receiving end must do: the sender's rule is the judge's.
                ViolationKind::Unmasked { .. } => &["6455-5.1-2"],
                ViolationKind::Masked { .. } => &["6455-5.1-5"],
                ref kind => kind.breaks().requirements(),
            },
            _ if self.items.iter().any(|item| match item {
                Item::Ping(_) => true,
                Item::Message(message) => !message.pings.is_empty(),
                _ => false,
            }) =>
            {
                &["6455-5.4-5", "6455-5.5.2-2"]
            }
            (_, Ending::Close(_)) => &["6455-5.5.1-6"],
            _ => &["6455-6.2-1", "6455-5.4-7"],
        }
    }

    fn requirement(&self) -> (String, String) {
        if let Opening::Refused(edit) = &self.opening {
            return (
                "RFC 6455 §4.2.1, §4.4".into(),
                format!(
                    "The server must refuse {}: if the server finds that the client did not send a handshake that matches the description, it MUST stop processing the client's handshake and return an HTTP response with an appropriate error code.",
                    edit.describe()
                ),
            );
        }
        if let Opening::ResponseRefused(edit) = &self.opening {
            return ("RFC 6455 §4.1".into(), edit.requirement());
        }
        match &self.ending {
            Ending::Violation(violation) => {
                let (rfc, requirement) = violation.kind.requirement();
                (rfc.into(), requirement.into())
            }
            _ if self.items.iter().any(|item| matches!(item, Item::Ping(_)))
                || self.items.iter().any(|item| match item {
                    Item::Message(message) => !message.pings.is_empty(),
                    _ => false,
                }) =>
            {
                (
                    "RFC 6455 §5.4, §5.5.2".into(),
                    "An endpoint MUST be capable of handling control frames in the middle of a fragmented message. Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, with identical Application data.".into(),
                )
            }
            Ending::Close(_) => (
                "RFC 6455 §5.5.1".into(),
                "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.".into(),
            ),
            _ => (
                "RFC 6455 §5.4, §5.6".into(),
                "A fragmented message is the concatenation of its fragments; an echo server sends every text and binary message back unchanged.".into(),
            ),
        }
    }
}

/// The RNG seed of scenario `index`: SplitMix64 over the run's seed and the index.
pub fn scenario_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The length encodings a size falls in (RFC 6455 §5.2), for shapes.
fn size_class(len: u64) -> &'static str {
    match len {
        0 => "empty",
        1..=125 => "short",
        126..=65535 => "u16",
        _ => "u64",
    }
}

#[cfg(test)]
mod tests;
