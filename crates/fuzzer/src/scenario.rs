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

/// Opcodes as the case model numbers them.
const CONTINUATION: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;
const PONG: u8 = 10;

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
    /// [`TEXT`] or [`BINARY`].
    pub opcode: u8,
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
    pub code: u16,
    /// A reason of at most 123 bytes.
    pub reason: String,
    /// The first fragment of a message that the close interrupts (it must not be echoed).
    pub open: Option<Fragment>,
}

/// The first fragment (FIN clear) of a message that stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// [`TEXT`] or [`BINARY`].
    pub opcode: u8,
    /// Its payload (ASCII for text).
    pub payload: Vec<u8>,
}

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
        opcode: u8,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A reserved opcode, 3-7 or 11-15 (§5.2).
    ReservedOpcode {
        /// The opcode.
        opcode: u8,
        /// The FIN bit.
        fin: bool,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A ping, pong or close of more than 125 bytes (§5.5).
    OversizedControl {
        /// [`PING`], [`PONG`] or [`CLOSE`].
        opcode: u8,
        /// The payload length, 126 or more.
        len: u64,
    },
    /// A ping or pong with FIN clear (§5.5), perhaps followed by a continuation.
    FragmentedControl {
        /// [`PING`] or [`PONG`].
        opcode: u8,
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
        /// [`TEXT`] or [`BINARY`].
        opcode: u8,
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
        code: u16,
        /// A valid reason.
        reason: String,
    },
    /// A close frame with a 1-byte payload (§5.5.1).
    OneByteClose(u8),
    /// A close frame whose reason is not valid UTF-8 (§5.5.1, §8.1).
    InvalidCloseReason {
        /// A valid code.
        code: u16,
        /// The reason's bytes.
        reason: Vec<u8>,
    },
    /// A frame from the client without a mask (§5.1); servers only.
    Unmasked {
        /// The opcode: text, binary or ping.
        opcode: u8,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A frame from the server with a mask (§5.1); clients only.
    Masked {
        /// The opcode: text, binary or ping.
        opcode: u8,
        /// Its payload.
        payload: Vec<u8>,
    },
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
                code: 1000,
                reason: String::new(),
                open: None,
            })
            .push_steps(&mut steps, wait);
        }
        let (rfc, requirement) = self.requirement();
        Case {
            id: options.id.clone(),
            title: options.title.clone(),
            section_title: String::new(),
            rfc,
            level: Level::Must,
            requirement,
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
                        opcode_word(message.opcode),
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
                let _ = write!(text, "a close with code {}", close.code);
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

impl RefuseEdit {
    /// The request edit and how its refusal is judged (as the built-in cases of 14.2 judge it).
    fn request(&self) -> (RequestEdit, Refusal) {
        let mut edit = RequestEdit::default();
        let mut refusal = Refusal {
            typical: vec![400],
            ..Refusal::default()
        };
        match self {
            RefuseEdit::Remove(name) => {
                edit.remove.push((*name).into());
                match *name {
                    "Upgrade" | "Connection" => {
                        refusal.typical = vec![400, 426];
                        refusal.if_not_error = Verdict::Informational;
                    }
                    "Sec-WebSocket-Version" => refusal.typical = vec![400, 426],
                    _ => {}
                }
            }
            RefuseEdit::Duplicate(name, value) => edit.add.push(((*name).into(), value.clone())),
            RefuseEdit::Key(key) => edit.set.push(("Sec-WebSocket-Key".into(), key.clone())),
            RefuseEdit::Version(version) => {
                edit.set
                    .push(("Sec-WebSocket-Version".into(), version.clone()));
                refusal.version_header = true;
                refusal.typical = vec![426];
            }
            RefuseEdit::Method(method) => {
                edit.method = Some((*method).into());
                refusal.typical = vec![400, 405];
            }
            RefuseEdit::Http10 => {
                edit.http_version = Some("HTTP/1.0".into());
                refusal.typical = vec![400, 505];
            }
            RefuseEdit::Upgrade(protocol) => {
                edit.set.push(("Upgrade".into(), protocol.clone()));
                refusal.typical = vec![400, 426];
                refusal.if_not_error = Verdict::Informational;
            }
            RefuseEdit::Connection(value) => {
                edit.set.push(("Connection".into(), (*value).into()));
                refusal.typical = vec![400, 426];
                refusal.if_not_error = Verdict::Informational;
            }
        }
        (edit, refusal)
    }

    fn name(&self) -> &'static str {
        match self {
            RefuseEdit::Remove(_) => "remove",
            RefuseEdit::Duplicate(..) => "duplicate",
            RefuseEdit::Key(_) => "key",
            RefuseEdit::Version(_) => "version",
            RefuseEdit::Method(_) => "method",
            RefuseEdit::Http10 => "http10",
            RefuseEdit::Upgrade(_) => "upgrade",
            RefuseEdit::Connection(_) => "connection",
        }
    }

    fn describe(&self) -> String {
        match self {
            RefuseEdit::Remove(name) => format!("no {name} header field"),
            RefuseEdit::Duplicate(name, _) => format!("two {name} header fields"),
            RefuseEdit::Key(key) => format!("Sec-WebSocket-Key {key:?}"),
            RefuseEdit::Version(version) => format!("Sec-WebSocket-Version {version:?}"),
            RefuseEdit::Method(method) => format!("method {method}"),
            RefuseEdit::Http10 => "HTTP/1.0".into(),
            RefuseEdit::Upgrade(protocol) => format!("Upgrade {protocol:?}"),
            RefuseEdit::Connection(value) => format!("Connection {value:?}"),
        }
    }
}

impl ResponseAcceptEdit {
    /// The response that these edits make of the correct 101: the `Upgrade` and `Connection`
    /// values and the names of the three required fields as the edits spell them, then fillers.
    fn response(edits: &[ResponseAcceptEdit]) -> ResponseSpec {
        let (mut upgrade, mut connection, mut lower, mut filler) =
            ("websocket", "Upgrade", false, 0);
        for edit in edits {
            match edit {
                ResponseAcceptEdit::ValueCase {
                    upgrade: u,
                    connection: c,
                } => (upgrade, connection) = (u, c),
                ResponseAcceptEdit::ConnectionList(c) => connection = c,
                ResponseAcceptEdit::LowerCaseNames => lower = true,
                ResponseAcceptEdit::FillerFields(n) => filler += n,
            }
        }
        let mut edit = ResponseEdit::default();
        let fields = [
            ("Upgrade", upgrade),
            ("Connection", connection),
            ("Sec-WebSocket-Accept", "$accept"),
        ];
        for (name, value) in fields {
            let name = if lower {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            };
            if lower
                || (name != "Sec-WebSocket-Accept" && value != "websocket" && value != "Upgrade")
            {
                edit.set.push((name, value.to_owned()));
            }
        }
        edit.add
            .extend((0..filler).map(|i| (format!("X-Wsspec-Filler-{i}"), format!("f{i}"))));
        ResponseSpec::Edit(edit)
    }

    fn name(&self) -> &'static str {
        match self {
            ResponseAcceptEdit::ValueCase { .. } => "value-case",
            ResponseAcceptEdit::ConnectionList(_) => "connection-list",
            ResponseAcceptEdit::LowerCaseNames => "lower-case-names",
            ResponseAcceptEdit::FillerFields(_) => "filler-fields",
        }
    }

    fn describe(&self) -> String {
        match self {
            ResponseAcceptEdit::ValueCase {
                upgrade,
                connection,
            } => format!("`Upgrade: {upgrade}` and `Connection: {connection}`"),
            ResponseAcceptEdit::ConnectionList(value) => format!("`Connection: {value}`"),
            ResponseAcceptEdit::LowerCaseNames => "lower-case header names".into(),
            ResponseAcceptEdit::FillerFields(n) => format!("{n} extra header fields"),
        }
    }
}

impl ResponseRefuseEdit {
    /// The broken response.
    fn response(&self) -> ResponseSpec {
        let mut edit = ResponseEdit::default();
        let mut set = |name: &str, value: &str| edit.set.push((name.into(), value.into()));
        match self {
            ResponseRefuseEdit::Status(_) | ResponseRefuseEdit::Remove(_) => {}
            ResponseRefuseEdit::Accept(accept) => set("Sec-WebSocket-Accept", accept),
            ResponseRefuseEdit::KeyAsAccept => set("Sec-WebSocket-Accept", "$key"),
            ResponseRefuseEdit::Upgrade(value) => set("Upgrade", value),
            ResponseRefuseEdit::Connection(value) => set("Connection", value),
            ResponseRefuseEdit::Subprotocol(value) => set("Sec-WebSocket-Protocol", value),
            ResponseRefuseEdit::Extension(value) => set("Sec-WebSocket-Extensions", value),
        }
        match self {
            ResponseRefuseEdit::Status(status) => edit.status = Some(*status),
            ResponseRefuseEdit::Remove(name) => edit.remove.push((*name).into()),
            _ => {}
        }
        ResponseSpec::Edit(edit)
    }

    /// A text message the client must not echo, and the expectation that it fails the connection
    /// (as 14.5.2-9). After a status other than 101 the client may also just wait for the server
    /// to close, as in 14.5.10: silence passes, then the harness drops the connection.
    fn push_steps(&self, steps: &mut Vec<Step>, wait: u64) {
        steps.push(send(
            vec![frame(TEXT, true, text_payload("the handshake was wrong"))],
            None,
        ));
        if let ResponseRefuseEdit::Status(_) = self {
            steps.push(Step::Expect {
                expect: Expect::Fail(Vec::new()),
                within_ms: wait,
                on_timeout: OnTimeout::Pass,
            });
            steps.push(Step::Drop);
        } else {
            steps.push(expectation(Expect::Fail(Vec::new()), wait));
        }
    }

    fn name(&self) -> &'static str {
        match self {
            ResponseRefuseEdit::Status(_) => "status",
            ResponseRefuseEdit::Remove(_) => "remove",
            ResponseRefuseEdit::Accept(_) => "accept",
            ResponseRefuseEdit::KeyAsAccept => "key-as-accept",
            ResponseRefuseEdit::Upgrade(_) => "upgrade",
            ResponseRefuseEdit::Connection(_) => "connection",
            ResponseRefuseEdit::Subprotocol(_) => "subprotocol",
            ResponseRefuseEdit::Extension(_) => "extension",
        }
    }

    fn describe(&self) -> String {
        match self {
            ResponseRefuseEdit::Status(status) => format!("a {status} response instead of 101"),
            ResponseRefuseEdit::Remove(name) => {
                format!("a 101 response with no {name} header field")
            }
            ResponseRefuseEdit::Accept(accept) => {
                format!("a 101 response with the wrong Sec-WebSocket-Accept {accept:?}")
            }
            ResponseRefuseEdit::KeyAsAccept => {
                "a 101 response with the request's key as its Sec-WebSocket-Accept".into()
            }
            ResponseRefuseEdit::Upgrade(value) => format!("a 101 response with `Upgrade: {value}`"),
            ResponseRefuseEdit::Connection(value) => {
                format!("a 101 response with `Connection: {value}`")
            }
            ResponseRefuseEdit::Subprotocol(value) => {
                format!("a 101 response with the subprotocol {value:?}, which was not offered")
            }
            ResponseRefuseEdit::Extension(value) => {
                format!("a 101 response with the extension {value:?}, which was not offered")
            }
        }
    }

    /// The sentence of RFC 6455 §4.1 that the edit breaks.
    fn requirement(&self) -> String {
        let rule = match self {
            ResponseRefuseEdit::Status(_) => {
                "If the status code received from the server is not 101, the client handles the response per HTTP procedures"
            }
            ResponseRefuseEdit::Remove("Upgrade") | ResponseRefuseEdit::Upgrade(_) => {
                "If the response lacks an |Upgrade| header field or the |Upgrade| header field contains a value that is not an ASCII case-insensitive match for the value \"websocket\", the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Remove("Connection") | ResponseRefuseEdit::Connection(_) => {
                "If the response lacks a |Connection| header field or the |Connection| header field doesn't contain a token that is an ASCII case-insensitive match for the value \"Upgrade\", the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Remove(_)
            | ResponseRefuseEdit::Accept(_)
            | ResponseRefuseEdit::KeyAsAccept => {
                "If the response lacks a |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\", the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Subprotocol(_) => {
                "If the response includes a |Sec-WebSocket-Protocol| header field and this header field indicates the use of a subprotocol that was not present in the client's handshake, the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Extension(_) => {
                "If the response includes a |Sec-WebSocket-Extensions| header field and this header field indicates the use of an extension that was not present in the client's handshake, the client MUST _Fail the WebSocket Connection_"
            }
        };
        format!("The client must refuse {}: {rule}.", self.describe())
    }
}

impl AcceptEdit {
    fn name(&self) -> &'static str {
        match self {
            AcceptEdit::HeaderCase(_) => "header-case",
            AcceptEdit::FillerFields(_) => "filler-fields",
            AcceptEdit::Query(_) => "query",
            AcceptEdit::Chopped(_) => "chopped",
        }
    }

    fn describe(&self) -> String {
        match self {
            AcceptEdit::HeaderCase(HeaderCase::Upper) => "upper-case header names".into(),
            AcceptEdit::HeaderCase(_) => "lower-case header names".into(),
            AcceptEdit::FillerFields(n) => format!("{n} extra header fields"),
            AcceptEdit::Query(query) => format!("the query {query:?}"),
            AcceptEdit::Chopped(n) => format!("the head written in {n}-byte pieces"),
        }
    }
}

impl Item {
    fn push_steps(&self, steps: &mut Vec<Step>, wait: u64) {
        match self {
            Item::Message(message) => {
                let mut frames = Vec::new();
                let fragments = message.fragments();
                let last = fragments.len() - 1;
                for (i, payload) in fragments.into_iter().enumerate() {
                    frames.push(frame(
                        if i == 0 { message.opcode } else { CONTINUATION },
                        i == last,
                        payload,
                    ));
                    for (_, ping) in message.pings.iter().filter(|(after, _)| *after == i) {
                        frames.push(frame(PING, true, bytes_payload(ping)));
                    }
                }
                steps.push(send(frames, message.chop));
                let pings: Vec<Payload> = message
                    .pings
                    .iter()
                    .map(|(_, ping)| bytes_payload(ping))
                    .collect();
                let expect = if pings.is_empty() {
                    Expect::Echo
                } else {
                    // Pongs as soon as the pings arrive, before the echo; a pong only after the echo
                    // is late (RFC 6455 §5.5.2: "as soon as is practical", a SHOULD), as in 5.6.
                    Expect::OneOf(vec![
                        Alternative {
                            expect: vec![Expect::PongsFor(pings.clone()), Expect::Echo],
                            verdict: AltVerdict::Ok,
                        },
                        Alternative {
                            expect: vec![Expect::Echo, Expect::PongsFor(pings)],
                            verdict: AltVerdict::NonStrict,
                        },
                    ])
                };
                steps.push(expectation(expect, wait));
            }
            Item::Ping(payload) => {
                steps.push(send(vec![frame(PING, true, bytes_payload(payload))], None));
                steps.push(expectation(Expect::Pong(bytes_payload(payload)), wait));
            }
            Item::Pong(payload) => {
                steps.push(send(vec![frame(PONG, true, bytes_payload(payload))], None));
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Item::Message(message) => {
                let mut text = format!(
                    "a {} message of {} bytes",
                    opcode_word(message.opcode),
                    message.body.len()
                );
                if !message.cuts.is_empty() {
                    let _ = write!(text, " in {} fragments", message.cuts.len() + 1);
                }
                match message.pings.len() {
                    0 => {}
                    1 => text.push_str(" with a ping between them"),
                    n => {
                        let _ = write!(text, " with {n} pings between them");
                    }
                }
                if let Some(n) = message.chop {
                    let _ = write!(text, ", written in {n}-byte pieces");
                }
                text
            }
            Item::Ping(payload) => format!("a ping of {} bytes", payload.len()),
            Item::Pong(payload) => format!("an unsolicited pong of {} bytes", payload.len()),
        }
    }
}

impl Message {
    /// The payload of each fragment, in order.
    fn fragments(&self) -> Vec<Payload> {
        let len = self.body.len();
        let mut bounds: Vec<u64> = self.cuts.iter().map(|cut| (*cut).min(len)).collect();
        bounds.push(len);
        let mut start = 0;
        bounds
            .into_iter()
            .map(|end| {
                let end = end.max(start);
                let payload = self.body.slice(start, end);
                start = end;
                payload
            })
            .collect()
    }
}

impl Body {
    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Repeat { len, .. } => *len,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload of bytes `start..end`.
    fn slice(&self, start: u64, end: u64) -> Payload {
        match self {
            Body::Bytes(bytes) => {
                let (start, end) = (start as usize, end as usize);
                bytes_payload(bytes.get(start..end).unwrap_or_default())
            }
            Body::Repeat { pattern, .. } => Payload::Repeat {
                pattern: pattern.clone(),
                count: end - start,
            },
        }
    }
}

impl Fragment {
    fn frame(&self) -> FrameSpec {
        frame(self.opcode, false, bytes_payload(&self.payload))
    }

    fn describe(&self) -> String {
        format!(
            "the first {}-byte fragment of a {} message",
            self.payload.len(),
            opcode_word(self.opcode)
        )
    }
}

impl Ending {
    fn push_steps(&self, steps: &mut Vec<Step>, wait: u64) {
        match self {
            Ending::Done => {}
            Ending::Close(close) => {
                if let Some(open) = &close.open {
                    steps.push(send(vec![open.frame()], None));
                }
                steps.push(close_step(ClosePayloadSpec::Code {
                    code: close.code,
                    reason: text_payload(&close.reason),
                }));
                let mut codes = vec![1000];
                if close.code != 1000 {
                    codes.push(close.code);
                }
                steps.push(expectation(Expect::Close(codes), wait));
            }
            Ending::Violation(violation) => {
                let mut frames: Vec<FrameSpec> =
                    violation.open.iter().map(Fragment::frame).collect();
                let close = match &violation.kind {
                    ViolationKind::OversizedControl { opcode: CLOSE, len } => {
                        Some(ClosePayloadSpec::Code {
                            code: 1000,
                            reason: Payload::Repeat {
                                pattern: b"*".to_vec(),
                                count: len.saturating_sub(2),
                            },
                        })
                    }
                    ViolationKind::InvalidCloseCode { code, reason } => {
                        Some(ClosePayloadSpec::Code {
                            code: *code,
                            reason: text_payload(reason),
                        })
                    }
                    ViolationKind::OneByteClose(byte) => {
                        Some(ClosePayloadSpec::Raw(Payload::Bytes(vec![*byte])))
                    }
                    ViolationKind::InvalidCloseReason { code, reason } => {
                        Some(ClosePayloadSpec::Code {
                            code: *code,
                            reason: Payload::Bytes(reason.clone()),
                        })
                    }
                    kind => {
                        frames.extend(kind.frames());
                        None
                    }
                };
                if !frames.is_empty() {
                    steps.push(send(frames, violation.chop));
                }
                if let Some(payload) = close {
                    steps.push(Step::Close {
                        payload,
                        write: chopped(violation.chop),
                    });
                }
                steps.push(expectation(Expect::Fail(violation.kind.codes()), wait));
            }
        }
    }
}

impl ViolationKind {
    /// The frames of a violation that is not a close frame.
    fn frames(&self) -> Vec<FrameSpec> {
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
                    frames.push(frame(CONTINUATION, true, bytes_payload(rest)));
                }
                frames
            }
            ViolationKind::StrayContinuation { fin, payload } => {
                vec![frame(CONTINUATION, *fin, bytes_payload(payload))]
            }
            ViolationKind::NewMessage {
                opcode,
                fin,
                payload,
            } => vec![frame(*opcode, *fin, bytes_payload(payload))],
            ViolationKind::InvalidUtf8 { bytes, cuts } => Message {
                opcode: TEXT,
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
                    if i == 0 { TEXT } else { CONTINUATION },
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
            ViolationKind::ReservedOpcode { opcode, .. } => RuleBroken::ReservedOpcode(*opcode),
            ViolationKind::OversizedControl { opcode, len } => RuleBroken::OversizedControlFrame {
                opcode: Opcode::from_u8(*opcode),
                len: *len,
            },
            ViolationKind::FragmentedControl { opcode, .. } => {
                RuleBroken::FragmentedControlFrame(Opcode::from_u8(*opcode))
            }
            ViolationKind::StrayContinuation { .. } => RuleBroken::StrayContinuation,
            ViolationKind::NewMessage { opcode, .. } => {
                RuleBroken::NewMessageInFragmented(Opcode::from_u8(*opcode))
            }
            ViolationKind::InvalidUtf8 { .. } => RuleBroken::InvalidUtf8Text,
            ViolationKind::InvalidCloseCode { code, .. } => {
                RuleBroken::InvalidCloseCode(CloseCode(*code))
            }
            ViolationKind::OneByteClose(_) => RuleBroken::OneByteClosePayload,
            ViolationKind::InvalidCloseReason { .. } => RuleBroken::InvalidCloseReason,
            ViolationKind::Unmasked { .. } => RuleBroken::UnmaskedClientFrame,
            ViolationKind::Masked { .. } => RuleBroken::MaskedServerFrame,
        }
    }

    /// The close codes that fit, as the rule broken says. Another code is NON-STRICT only (§7.1.7
    /// says SHOULD).
    fn codes(&self) -> Vec<u16> {
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

    fn describe(&self) -> String {
        match self {
            ViolationKind::Rsv {
                rsv,
                opcode,
                payload,
            } => format!(
                "a {} frame of {} bytes with RSV = {rsv}",
                opcode_word(*opcode),
                payload.len()
            ),
            ViolationKind::ReservedOpcode { opcode, fin, .. } => {
                format!(
                    "a frame with the reserved opcode {opcode} (FIN = {})",
                    u8::from(*fin)
                )
            }
            ViolationKind::OversizedControl { opcode, len } => {
                format!("a {} frame of {len} bytes", opcode_word(*opcode))
            }
            ViolationKind::FragmentedControl { opcode, rest, .. } => format!(
                "a {} frame with FIN = 0{}",
                opcode_word(*opcode),
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
                format!(
                    "a new {} frame while that message is open",
                    opcode_word(*opcode)
                )
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
                format!("a close frame with the invalid code {code}")
            }
            ViolationKind::OneByteClose(_) => "a close frame with a 1-byte payload".into(),
            ViolationKind::InvalidCloseReason { code, .. } => {
                format!("a close frame with code {code} and a reason that is not UTF-8")
            }
            ViolationKind::Unmasked { opcode, .. } => {
                format!("an unmasked {} frame", opcode_word(*opcode))
            }
            ViolationKind::Masked { opcode, .. } => {
                format!("a masked {} frame", opcode_word(*opcode))
            }
        }
    }

    fn requirement(&self) -> (&'static str, &'static str) {
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
                    opcode: CONTINUATION,
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

/// A frame with the default mask (the client masks).
fn frame(opcode: u8, fin: bool, payload: Payload) -> FrameSpec {
    FrameSpec {
        fin,
        rsv: 0,
        opcode,
        mask: MaskSpec::Auto,
        payload,
        length_form: None,
        declared_len: None,
    }
}

/// Bytes as a payload: text where they read as text, else hex.
fn bytes_payload(bytes: &[u8]) -> Payload {
    match std::str::from_utf8(bytes) {
        Ok("") => Payload::default(),
        Ok(text) if !text.chars().any(char::is_control) => Payload::Text(text.to_owned()),
        _ => Payload::Bytes(bytes.to_vec()),
    }
}

fn text_payload(text: &str) -> Payload {
    bytes_payload(text.as_bytes())
}

/// A write plan: in pieces of `chop` bytes, without pauses (the pieces are separate writes).
fn chopped(chop: Option<usize>) -> WritePlan {
    WritePlan {
        chop,
        delay_ms: 0,
        per_frame: false,
    }
}

fn send(frames: Vec<FrameSpec>, chop: Option<usize>) -> Step {
    Step::Send {
        frames,
        write: chopped(chop),
    }
}

fn close_step(payload: ClosePayloadSpec) -> Step {
    Step::Close {
        payload,
        write: WritePlan::default(),
    }
}

fn expectation(expect: Expect, wait: u64) -> Step {
    Step::Expect {
        expect,
        within_ms: wait,
        on_timeout: OnTimeout::Fail,
    }
}

fn opcode_word(opcode: u8) -> &'static str {
    match opcode {
        CONTINUATION => "continuation",
        TEXT => "text",
        BINARY => "binary",
        CLOSE => "close",
        PING => "ping",
        PONG => "pong",
        _ => "reserved",
    }
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
mod tests {
    use std::borrow::Cow;

    use wsspec_suite::{Suite, case::Step};

    use super::*;

    fn options() -> CaseOptions {
        CaseOptions {
            id: CaseId::parse("99.1").unwrap(),
            title: "t".into(),
            note: Some("n".into()),
            wait_ms: 500,
            timeout_ms: 5000,
        }
    }

    #[test]
    fn the_same_seed_and_index_give_the_same_scenario() {
        assert_eq!(
            Scenario::generate(Role::Server, 7, 3),
            Scenario::generate(Role::Server, 7, 3)
        );
        let distinct: std::collections::HashSet<String> = (0..50)
            .map(|i| format!("{:?}", Scenario::generate(Role::Server, 7, i)))
            .collect();
        assert!(distinct.len() > 45, "{}", distinct.len());
        assert_ne!(scenario_seed(1, 0), scenario_seed(0, 1));
    }

    #[test]
    fn generated_scenarios_cover_every_kind() {
        let mut shapes = std::collections::BTreeSet::new();
        for i in 0..3000 {
            for word in Scenario::generate(Role::Server, 1, i).shape() {
                shapes.insert(word.split(['+', ':']).take(2).collect::<Vec<_>>().join(":"));
            }
        }
        for word in [
            "refuse:remove",
            "refuse:version",
            "accept:header-case",
            "text:u64",
            "binary:u16",
            "ping:short",
            "pong",
            "close",
            "violation:rsv",
            "violation:reserved-opcode",
            "violation:oversized-control",
            "violation:fragmented-control",
            "violation:stray-continuation",
            "violation:new-message-mid-fragment",
            "violation:invalid-utf8",
            "violation:invalid-close-code",
            "violation:one-byte-close",
            "violation:invalid-close-reason",
            "violation:unmasked",
        ] {
            assert!(shapes.contains(word), "{word} never generated: {shapes:?}");
        }
    }

    #[test]
    fn client_scenarios_vary_the_response_and_mask_the_bad_frame() {
        let mut shapes = std::collections::BTreeSet::new();
        for i in 0..3000 {
            let scenario = Scenario::generate(Role::Client, 1, i);
            assert_eq!(scenario.role, Role::Client);
            assert!(!matches!(
                scenario.opening,
                Opening::Accepted(_) | Opening::Refused(_)
            ));
            for word in scenario.shape() {
                shapes.insert(word.split(['+', ':']).take(2).collect::<Vec<_>>().join(":"));
            }
            let case = scenario.to_case(&options());
            assert_eq!(case.roles, [Role::Client]);
            assert!(!case.handshake.then_connect);
        }
        for word in [
            "refuse-response:status",
            "refuse-response:accept",
            "refuse-response:extension",
            "accept-response:value-case",
            "accept-response:lower-case-names",
            "violation:masked",
            "violation:rsv",
            "text:u64",
        ] {
            assert!(shapes.contains(word), "{word} never generated: {shapes:?}");
        }
        assert!(!shapes.contains("violation:unmasked"), "{shapes:?}");
        assert!(
            !shapes.iter().any(|s| s.starts_with("refuse:")),
            "{shapes:?}"
        );
    }

    #[test]
    fn a_refused_response_sends_a_message_that_must_not_be_echoed() {
        let scenario = Scenario {
            role: Role::Client,
            opening: Opening::ResponseRefused(ResponseRefuseEdit::KeyAsAccept),
            items: vec![Item::Ping(Vec::new())],
            ending: Ending::Done,
        };
        let case = scenario.to_case(&options());
        assert!(matches!(
            &case.handshake.response,
            ResponseSpec::Edit(edit) if edit.set == [("Sec-WebSocket-Accept".to_owned(), "$key".to_owned())]
        ));
        assert!(matches!(&case.steps[0], Step::Send { .. }));
        assert!(matches!(
            &case.steps[1],
            Step::Expect { expect: Expect::Fail(codes), on_timeout: OnTimeout::Fail, .. } if codes.is_empty()
        ));
        assert_eq!(
            case.steps.len(),
            2,
            "the items are not sent: {:?}",
            case.steps
        );
        let status = Scenario {
            opening: Opening::ResponseRefused(ResponseRefuseEdit::Status(200)),
            ..scenario
        };
        let case = status.to_case(&options());
        assert!(matches!(
            &case.steps[1],
            Step::Expect {
                on_timeout: OnTimeout::Pass,
                ..
            }
        ));
        assert!(matches!(&case.steps[2], Step::Drop));
    }

    #[test]
    fn accepted_response_edits_combine() {
        let ResponseSpec::Edit(edit) = ResponseAcceptEdit::response(&[
            ResponseAcceptEdit::ValueCase {
                upgrade: "WebSocket",
                connection: "upgrade",
            },
            ResponseAcceptEdit::LowerCaseNames,
            ResponseAcceptEdit::FillerFields(2),
        ]) else {
            panic!()
        };
        let set: Vec<(&str, &str)> = edit
            .set
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            set,
            [
                ("upgrade", "WebSocket"),
                ("connection", "upgrade"),
                ("sec-websocket-accept", "$accept")
            ]
        );
        assert_eq!(edit.add.len(), 2);
        assert!(edit.remove.is_empty() && edit.status.is_none());
    }

    #[test]
    fn every_case_is_valid_and_round_trips_through_a_case_file() {
        for (role, i) in (0..400).flat_map(|i| [(Role::Server, i), (Role::Client, i)]) {
            let scenario = Scenario::generate(role, 99, i);
            let case = scenario.to_case(&options());
            let text = wsspec_suite::write_file(99, "Fuzz findings", std::slice::from_ref(&case));
            let suite = Suite::from_sources([("f.toml".to_string(), Cow::Borrowed(text.as_str()))])
                .unwrap_or_else(|err| panic!("scenario {i}: {err}\n{text}"));
            let mut loaded = suite.cases[0].clone();
            loaded.source = case.source.clone();
            loaded.section_title = String::new();
            assert_eq!(loaded, case, "scenario {i}:\n{text}");
        }
    }

    #[test]
    fn texts_are_utf8_and_invalid_ones_are_not() {
        for i in 0..500 {
            let scenario = Scenario::generate(Role::Server, 5, i);
            for item in &scenario.items {
                if let Item::Message(Message {
                    opcode: TEXT,
                    body: Body::Bytes(bytes),
                    ..
                }) = item
                {
                    assert!(std::str::from_utf8(bytes).is_ok());
                }
            }
            if let Ending::Violation(Violation {
                kind: ViolationKind::InvalidUtf8 { bytes, .. },
                ..
            }) = &scenario.ending
            {
                assert!(std::str::from_utf8(bytes).is_err());
            }
        }
    }

    #[test]
    fn a_fragmented_message_with_pings_becomes_frames_and_expectations() {
        let scenario = Scenario {
            role: Role::Server,
            opening: Opening::Standard,
            items: vec![Item::Message(Message {
                opcode: TEXT,
                body: Body::Bytes("κόσμε".as_bytes().to_vec()),
                cuts: vec![1, 1, 5],
                pings: vec![(1, b"p".to_vec())],
                chop: Some(3),
            })],
            ending: Ending::Violation(Violation {
                kind: ViolationKind::OneByteClose(3),
                open: None,
                chop: None,
            }),
        };
        let case = scenario.to_case(&options());
        let Step::Send { frames, write } = &case.steps[0] else {
            panic!("{:?}", case.steps[0]);
        };
        let shape: Vec<(u8, bool, u64)> = frames
            .iter()
            .map(|f| (f.opcode, f.fin, f.payload.len()))
            .collect();
        assert_eq!(
            shape,
            [
                (1, false, 1),
                (0, false, 0),
                (9, true, 1),
                (0, false, 4),
                (0, true, 5)
            ]
        );
        assert_eq!(write.chop, Some(3));
        assert!(matches!(
            &case.steps[1],
            Step::Expect { expect: Expect::OneOf(alts), within_ms: 500, .. } if alts.len() == 2
        ));
        assert!(matches!(&case.steps[2], Step::Close { .. }));
        assert!(matches!(
            &case.steps[3],
            Step::Expect { expect: Expect::Fail(codes), .. } if codes == &[1002]
        ));
        assert!(case.handshake.then_connect);
        assert_eq!(scenario.step_count(), 4);
        assert_eq!(
            scenario.shape(),
            [
                "text:short+fragments+pings+chopped",
                "violation:one-byte-close"
            ]
        );
        assert!(scenario.contains_shape(&["violation:one-byte-close".into()]));
        assert!(!scenario.contains_shape(&["ping:short".into()]));
    }

    #[test]
    fn a_refused_handshake_has_no_steps() {
        let scenario = Scenario {
            role: Role::Server,
            opening: Opening::Refused(RefuseEdit::Version("25".into())),
            items: vec![Item::Ping(Vec::new())],
            ending: Ending::Done,
        };
        let case = scenario.to_case(&options());
        assert!(case.steps.is_empty());
        let HandshakeExpect::Refuse(refusal) = &case.handshake.expect else {
            panic!()
        };
        assert!(refusal.version_header);
    }
}
