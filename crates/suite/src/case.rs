//! The case model: what a case file says, after loading and validation.
//!
//! Steps are written from the harness's side and never depend on the role: the runner masks frames when
//! it is the client unless a step says otherwise. A step either acts on the connection (send something,
//! wait, close, drop) or expects something from the peer. Expectations are small atoms (`echo`, `pong`,
//! `fail`, ...) that consume the peer's events in order; `one_of` ranks alternative sequences of atoms,
//! the first that matches deciding the verdict, which is how Autobahn's OK / NON-STRICT splits are written.

mod expect;
mod payload;

use std::fmt;

use serde::{Deserialize, Serialize};
use wsspec_wire::{CloseCode, Opcode};

use crate::handshake::{DeflateSpec, Handshake, HandshakeExpect, Needs};

pub use self::expect::{AltVerdict, Alternative, Expect, FrameMatch};
pub use self::payload::Payload;

/// A case id such as `1.1.8` or `2.10`: dot-separated numbers, ordered numerically.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId {
    text: String,
    parts: Vec<u32>,
}

impl CaseId {
    /// Parses `1.2.3`; every part must be a decimal number.
    pub fn parse(text: &str) -> Result<CaseId, String> {
        let parts = text
            .split('.')
            .map(|part| part.parse::<u32>().ok().filter(|_| !part.starts_with('+')))
            .collect::<Option<Vec<_>>>()
            .filter(|parts| !parts.is_empty())
            .ok_or_else(|| {
                format!("case id `{text}` is not dot-separated numbers such as 1.2.3")
            })?;
        Ok(CaseId {
            text: text.to_owned(),
            parts,
        })
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numeric parts, for sorting.
    pub fn parts(&self) -> &[u32] {
        &self.parts
    }

    /// The top-level section number (`6` for `6.4.1`).
    pub fn section(&self) -> u32 {
        self.parts.first().copied().unwrap_or_default()
    }

    /// The group the case belongs to: all but the last part (`6.4` for `6.4.1`, `2` for `2.10`).
    pub fn group(&self) -> String {
        match self.text.rsplit_once('.') {
            Some((group, _)) => group.to_owned(),
            None => self.text.clone(),
        }
    }
}

impl PartialOrd for CaseId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CaseId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for CaseId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        CaseId::parse(&text)
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.text
    }
}

/// How strongly the RFC requires what a case checks. It caps the verdict a failure can earn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// MUST / MUST NOT / REQUIRED: a failure is FAILED.
    Must,
    /// SHOULD / RECOMMENDED: a failure is NON-STRICT.
    Should,
    /// MAY / OPTIONAL: the behaviour is allowed either way; a failure is recorded as INFORMATIONAL.
    May,
    /// Not a requirement: the case only records what the peer does.
    Info,
}

impl Level {
    /// The lower-case name used in case files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
            Level::Info => "info",
        }
    }
}

/// Which side of a WebSocket connection the target plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The target is a server; wsspec is its client and masks its frames.
    Server,
    /// The target is a client; wsspec is its server and sends unmasked frames.
    Client,
}

/// Where a case came from, for error messages and reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The case file (as given, or the built-in file name).
    pub file: String,
    /// The 1-based line of the `[[case]]` entry.
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One loaded, validated case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Autobahn's id where one exists; new sections continue at 14.
    pub id: CaseId,
    /// One line saying what the case does.
    pub title: String,
    /// The section's title (from the file's `title`).
    pub section_title: String,
    /// The RFC reference, e.g. `RFC 6455 §5.5`.
    pub rfc: String,
    /// The requirement level of what the case checks.
    pub level: Level,
    /// The RFC sentence that the case checks.
    pub requirement: String,
    /// The ids of the requirements the case checks, in the registry ([`crate::requirement`]).
    pub requirements: Vec<String>,
    /// Notes: how this case differs from Autobahn's, and why.
    pub note: Option<String>,
    /// The roles the case applies to.
    pub roles: Vec<Role>,
    /// What the harness does and expects, in order.
    pub steps: Vec<Step>,
    /// The whole case's deadline in milliseconds, if the case sets its own.
    pub timeout_ms: Option<u64>,
    /// A performance case: it runs after the busy cases, beside at most one other performance case
    /// (see [`Case::paced`]), and its throughput is reported.
    pub performance: bool,
    /// How the connection is opened, and what the peer must answer.
    pub handshake: Handshake,
    /// For a client: what its application must have seen when the connection closed.
    pub observe: Option<ObserveSpec>,
    /// The case needs permessage-deflate (RFC 7692), negotiated as this says.
    pub deflate: Option<DeflateSpec>,
    /// Where the case was defined.
    pub source: Source,
}

impl AsRef<Case> for Case {
    fn as_ref(&self) -> &Case {
        self
    }
}

impl Case {
    /// What the case needs the user to declare about the target before it can run: the message
    /// limit for a payload sized over it, policy values for the handshake's placeholders.
    pub fn needs(&self) -> Needs {
        fn over(payload: &Payload) -> bool {
            matches!(payload, Payload::OverLimit { .. })
        }
        fn any(steps: &[Step]) -> bool {
            steps.iter().any(|step| match step {
                Step::Send { frames, .. } => frames.iter().any(|f| over(&f.payload)),
                Step::SendMessage { payload, .. } => over(payload),
                Step::Repeat { steps, .. } => any(steps),
                _ => false,
            })
        }
        Needs {
            limit: any(&self.steps),
            ..Needs::of_strings(self.handshake.request.strings())
        }
    }

    /// Whether the case paces itself: a wait, a `nothing` expectation or writes spaced in time (the
    /// opening handshake's included). Such a case spends most of its time idle, so the runner gives
    /// it slots of its own beside the busy cases.
    pub fn paced(&self) -> bool {
        fn any(steps: &[Step]) -> bool {
            steps.iter().any(|step| match step {
                Step::Wait { .. }
                | Step::Expect {
                    expect: Expect::Nothing(_),
                    ..
                } => true,
                Step::Repeat { steps, .. } => any(steps),
                step => step.write_plan().is_some_and(|write| write.delay_ms > 0),
            })
        }
        self.handshake.write.delay_ms > 0 || any(&self.steps)
    }

    /// About how long the case can spend waiting, in milliseconds: its waits and `nothing`
    /// expectations, the expectations a slow peer may leave open to their end without failing, and
    /// the delays between the pieces of its spaced writes (the opening handshake's included). The
    /// runner starts the longest-waiting cases first.
    pub fn pause_ms(&self) -> u64 {
        fn sum(steps: &[Step]) -> u64 {
            steps
                .iter()
                .map(|step| match step {
                    Step::Wait { ms }
                    | Step::Expect {
                        expect: Expect::Nothing(ms),
                        ..
                    } => *ms,
                    Step::Expect {
                        within_ms,
                        on_timeout: OnTimeout::NonStrict | OnTimeout::Pass,
                        ..
                    } => *within_ms,
                    Step::Repeat { times, steps } => u64::from(*times).saturating_mul(sum(steps)),
                    step => step
                        .write_plan()
                        .map_or(0, |write| write.pause_ms(step.written_bytes_estimate())),
                })
                .fold(0, u64::saturating_add)
        }
        let handshake = self.handshake.write.pause_ms(REQUEST_HEAD_ESTIMATE);
        sum(&self.steps).saturating_add(handshake)
    }

    /// The human-readable expectation: what a conforming peer does.
    pub fn expectation(&self) -> String {
        fn expects(steps: &[Step]) -> Vec<String> {
            steps
                .iter()
                .filter_map(|step| match step {
                    Step::Expect { expect, .. } => Some(expect.to_string()),
                    Step::Repeat { times, steps } => {
                        Some(format!("{times} times: {}", expects(steps).join(", then ")))
                    }
                    _ => None,
                })
                .collect()
        }
        if let HandshakeExpect::Refuse(refusal) = &self.handshake.expect {
            return refusal.to_string();
        }
        let mut expects = expects(&self.steps);
        if let Some(observe) = &self.observe {
            expects.push(observe.to_string());
        }
        if expects.is_empty() {
            "a clean close".to_owned()
        } else {
            expects.join(", then ")
        }
    }
}

/// What a client's application must report about the close (`observe = { code = 1006, clean = false }`).
/// A case file holds it as it is: this is its raw form too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObserveSpec {
    /// The close code.
    #[serde(default, with = "optional_close_code")]
    pub code: Option<CloseCode>,
    /// Whether the close was clean.
    pub clean: Option<bool>,
    /// The close reason.
    pub reason: Option<String>,
}

/// An optional close code, read and written as the 16-bit number it is.
mod optional_close_code {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use wsspec_wire::CloseCode;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<CloseCode>, D::Error> {
        Ok(Option::<u16>::deserialize(deserializer)?.map(CloseCode))
    }

    pub(super) fn serialize<S: Serializer>(
        code: &Option<CloseCode>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        code.map(|code| code.0).serialize(serializer)
    }
}

impl fmt::Display for ObserveSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(code) = self.code {
            parts.push(format!("code {}", code.0));
        }
        if let Some(reason) = &self.reason {
            parts.push(format!("reason {reason:?}"));
        }
        if let Some(clean) = self.clean {
            parts.push(format!("wasClean={clean}"));
        }
        write!(f, "the application sees {}", parts.join(", "))
    }
}

/// How a frame is masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MaskSpec {
    /// Masked with a random key when the harness is the client, unmasked when it is the server (RFC 6455 §5.3).
    #[default]
    Auto,
    /// Never masked, whatever the role.
    None,
    /// Always masked with a random key, whatever the role.
    Random,
    /// Masked with this key.
    Key([u8; 4]),
    /// As `Auto`, but with the all-zero key, so that bytes sent raw after the header need no masking.
    AutoZero,
}

/// How a frame's length field is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthFormSpec {
    /// The 7-bit form (only lengths up to 125 fit).
    Short,
    /// The 16-bit extended form (126 + 2 bytes).
    U16,
    /// The 64-bit extended form (127 + 8 bytes).
    U64,
}

/// One frame as a case describes it. Anything can be set, including what the RFC forbids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// The FIN bit.
    pub fin: bool,
    /// The three RSV bits as a number 0..=7: [`wsspec_wire::RSV1`], `RSV2`, `RSV3` or a combination.
    pub rsv: u8,
    /// The opcode, reserved ones included.
    pub opcode: Opcode,
    /// The masking rule.
    pub mask: MaskSpec,
    /// The payload (before masking).
    pub payload: Payload,
    /// The length form to write, if not the minimal one.
    pub length_form: Option<LengthFormSpec>,
    /// A declared payload length that differs from the payload's real length.
    pub declared_len: Option<u64>,
}

/// How the bytes of one step are written to the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WritePlan {
    /// Write in pieces of this many bytes (`None`: one write).
    pub chop: Option<usize>,
    /// Pause between pieces, in milliseconds.
    pub delay_ms: u64,
    /// Give each frame of a multi-frame `send` its own write.
    pub per_frame: bool,
}

/// What a step of a case does.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Send one or more frames in one write (or chopped per `write`).
    Send {
        /// The frames, in order.
        frames: Vec<FrameSpec>,
        /// How the bytes go onto the socket.
        write: WritePlan,
    },
    /// Send a whole data message, split into frames of `fragment` bytes.
    SendMessage {
        /// Text or binary (other opcodes are allowed but unusual).
        opcode: Opcode,
        /// The message payload.
        payload: Payload,
        /// Fragment size in bytes; `None` sends one frame. With permessage-deflate, the size of the
        /// compressed pieces.
        fragment: Option<u64>,
        /// Whether to compress it: `None` when permessage-deflate was agreed, `Some(false)` never
        /// (an uncompressed message, which RFC 7692 §6 allows).
        compress: Option<bool>,
        /// How the bytes go onto the socket.
        write: WritePlan,
    },
    /// Send raw bytes exactly as given.
    SendRaw {
        /// The bytes.
        bytes: Vec<u8>,
        /// How the bytes go onto the socket.
        write: WritePlan,
    },
    /// Pause; whatever the peer sends meanwhile is kept for the next expectation.
    Wait {
        /// How long, in milliseconds.
        ms: u64,
    },
    /// Start the closing handshake with a close frame.
    Close {
        /// The close frame's payload.
        payload: ClosePayloadSpec,
        /// How the bytes go onto the socket.
        write: WritePlan,
    },
    /// Close TCP abruptly, without a close frame (the peer should see 1006).
    Drop,
    /// Shut down the sending half of TCP, keep reading.
    HalfClose,
    /// Run some steps several times over.
    Repeat {
        /// How many times.
        times: u32,
        /// The steps.
        steps: Vec<Step>,
    },
    /// Wait for the peer to do something.
    Expect {
        /// What must happen.
        expect: Expect,
        /// How long to wait for it, in milliseconds.
        within_ms: u64,
        /// What a timeout means: by default the case fails; `NonStrict` lets it go on, at best NON-STRICT.
        on_timeout: OnTimeout,
    },
}

/// About how long an opening handshake's request head is, for estimates.
const REQUEST_HEAD_ESTIMATE: u64 = 256;

/// About how large a declared message limit is, for estimating payloads sized over it.
const LIMIT_ESTIMATE: u64 = 1 << 20;

/// The most a frame header takes.
const HEADER_ESTIMATE: u64 = 14;

impl WritePlan {
    /// The time spent between the pieces when `bytes` bytes are written this way.
    pub fn pause_ms(&self, bytes: u64) -> u64 {
        let pieces = self
            .chop
            .map_or(1, |chop| bytes.div_ceil(chop.max(1) as u64));
        self.delay_ms.saturating_mul(pieces.saturating_sub(1))
    }
}

impl Payload {
    /// The payload's length for estimates: a payload sized over a limit counts a typical limit.
    fn len_estimate(&self) -> u64 {
        match self {
            Payload::OverLimit { extra, .. } => LIMIT_ESTIMATE.saturating_add(*extra),
            Payload::Deflated(inner) => inner.len_estimate(),
            payload => payload.len(),
        }
    }
}

impl Step {
    /// About how many bytes the step writes (frame headers at their largest).
    fn written_bytes_estimate(&self) -> u64 {
        match self {
            Step::Send { frames, .. } => frames
                .iter()
                .map(|frame| frame.payload.len_estimate() + HEADER_ESTIMATE)
                .sum(),
            Step::SendMessage {
                payload, fragment, ..
            } => {
                let len = payload.len_estimate();
                let frames = fragment.map_or(1, |size| len.div_ceil(size.max(1)).max(1));
                len.saturating_add(frames.saturating_mul(HEADER_ESTIMATE))
            }
            Step::SendRaw { bytes, .. } => bytes.len() as u64,
            Step::Close { .. } => 125 + HEADER_ESTIMATE,
            _ => 0,
        }
    }

    /// How the step writes, if it writes.
    pub fn write_plan(&self) -> Option<&WritePlan> {
        match self {
            Step::Send { write, .. }
            | Step::SendMessage { write, .. }
            | Step::SendRaw { write, .. }
            | Step::Close { write, .. } => Some(write),
            _ => None,
        }
    }
}

/// What happens when an expectation is not met in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnTimeout {
    /// The case fails.
    #[default]
    Fail,
    /// The case goes on with its next steps, and can be NON-STRICT at best (e.g. a peer that detects
    /// invalid UTF-8 only at the end of a message instead of as soon as it can).
    NonStrict,
    /// The case goes on with its next steps: waiting out the time is as good as the expectation
    /// (e.g. a client that, given a 200, waits for the server to close instead of closing itself).
    Pass,
}

/// The payload of a close frame the harness sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosePayloadSpec {
    /// A status code and a reason.
    Code {
        /// The status code (anything, including invalid ones).
        code: CloseCode,
        /// The reason bytes.
        reason: Payload,
    },
    /// An exact payload, e.g. a 1-byte one.
    Raw(Payload),
}
