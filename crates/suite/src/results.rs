//! The results of a run: the one boundary type between the runner, which produces it, and the
//! reporters, which render it. It is what `results.json` holds, so a saved run can be rendered again.
//!
//! The schema is versioned by [`SCHEMA_VERSION`]; a field is only ever added within a version.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    case::{Level, Role},
    select::Shard,
};

/// The version of the `results.json` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// One run of a set of cases against one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema: u32,
    /// The tool and its version, e.g. `wsspec 0.1.0`.
    pub tool: String,
    /// The name of the implementation tested.
    pub agent: String,
    /// What was tested.
    pub target: Target,
    /// When the run started, RFC 3339 in UTC.
    pub started: String,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: u64,
    /// The patterns that chose the cases.
    pub selection: SelectionInfo,
    /// Whether NON-STRICT counted as a failure.
    pub strict: bool,
    /// False when the run was interrupted or could not finish; the results then hold what was done.
    pub complete: bool,
    /// Why the run stopped before every case ran: interrupted, or a deadline passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// One result per case, in id order: in an incomplete run, only the cases that finished.
    pub cases: Vec<CaseResult>,
    /// The ids of the selected cases that did not finish (an interrupted run): they have no result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
}

/// The target of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The URL tested (or the address listened on, for clients).
    pub url: String,
    /// The role the target plays.
    pub role: Role,
}

/// Which cases were asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionInfo {
    /// Include patterns (empty: all).
    pub cases: Vec<String>,
    /// Exclude patterns.
    pub exclude: Vec<String>,
    /// How many cases the exclude patterns removed.
    pub excluded: usize,
    /// When the run was one part of a selection split across jobs (`--shard K/N`): which part. A
    /// merge of the parts is complete only once every part is in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// The verdict on one case, or on one aspect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The peer did what the RFC requires (Autobahn's OK).
    Pass,
    /// Recorded only: the case checks no requirement, or the RFC allows either behaviour.
    Informational,
    /// The peer declined an optional feature (e.g. no permessage-deflate).
    Unimplemented,
    /// The peer broke a SHOULD, or passed in a less preferred way.
    NonStrict,
    /// The peer broke a MUST.
    Fail,
    /// The harness itself failed; never blamed on the target.
    Error,
}

impl Verdict {
    /// The verdict's name in `results.json` and in case files (`pass`, `non-strict` ...).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Informational => "informational",
            Verdict::Unimplemented => "unimplemented",
            Verdict::NonStrict => "non-strict",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }

    /// Autobahn's name for the verdict, as written into `index.json`.
    pub fn autobahn_name(self) -> &'static str {
        match self {
            Verdict::Pass => "OK",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Fail => "FAILED",
            Verdict::Error => "ERROR",
        }
    }

    /// Whether this verdict fails a run (`strict`: NON-STRICT fails too).
    pub fn is_failure(self, strict: bool) -> bool {
        match self {
            Verdict::Fail | Verdict::Error => true,
            Verdict::NonStrict => strict,
            _ => false,
        }
    }

    /// All verdicts, in report order.
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::NonStrict,
        Verdict::Informational,
        Verdict::Unimplemented,
        Verdict::Fail,
        Verdict::Error,
    ];
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.autobahn_name())
    }
}

/// How the closing of the connection went, as Autobahn's `behaviorClose` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseBehavior {
    /// The connection ended as the case expects.
    Ok,
    /// The close handshake did not complete where it had to.
    Unclean,
    /// The peer sent a close code that may not be sent, or not the one the case requires.
    WrongCode,
    /// The wrong side started the close (e.g. the harness had to give up on a peer that should have failed).
    Failed,
    /// The harness had to close TCP itself after the close handshake (the server should close first).
    FailedByClient,
    /// Recorded only.
    Informational,
}

impl CloseBehavior {
    /// Autobahn's name, as written into `index.json`.
    pub fn autobahn_name(self) -> &'static str {
        match self {
            CloseBehavior::Ok => "OK",
            CloseBehavior::Unclean => "UNCLEAN",
            CloseBehavior::WrongCode => "WRONG CODE",
            CloseBehavior::Failed => "FAILED",
            CloseBehavior::FailedByClient => "FAILED BY CLIENT",
            CloseBehavior::Informational => "INFORMATIONAL",
        }
    }
}

/// Which side did something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// wsspec.
    Harness,
    /// The target.
    Peer,
}

/// What happened at the end of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseInfo {
    /// Who sent the first close frame, if anyone did.
    pub initiated_by: Option<Side>,
    /// The code in the peer's close frame (None: no close frame, or one without a code).
    pub peer_code: Option<u16>,
    /// The reason in the peer's close frame, if any.
    pub peer_reason: Option<String>,
    /// The code the harness sent, if it sent a close frame.
    pub harness_code: Option<u16>,
    /// Whether both sides sent a close frame.
    pub clean: bool,
    /// Who closed TCP first (None: the case ended before either did).
    pub tcp_closed_by: Option<Side>,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The case title.
    pub title: String,
    /// The title of the case's section (`UTF-8 handling` for 6.4.1); empty in files written before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub section_title: String,
    /// The RFC reference.
    pub rfc: String,
    /// The requirement level.
    pub level: Level,
    /// The RFC sentence checked.
    pub requirement: String,
    /// The ids of the requirements checked, in the registry (`wsspec requirements`); empty in files
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// The overall verdict: the worse of `behavior` and the close verdict, capped by the level.
    pub verdict: Verdict,
    /// The verdict on what the peer sent (Autobahn's `behavior`).
    pub behavior: Verdict,
    /// The verdict on how the connection closed (Autobahn's `behaviorClose`).
    pub behavior_close: CloseBehavior,
    /// What a conforming peer does.
    pub expected: String,
    /// What this peer did, in words.
    pub actual: String,
    /// Remarks: allowed variations seen, differences from Autobahn, and the reasons behind each verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// How the connection ended.
    pub close: CloseInfo,
    /// When the case started, in milliseconds after the run started.
    pub started_ms: u64,
    /// How long the case took, in milliseconds, from connect to the end.
    pub duration_ms: u64,
    /// For performance cases: how fast the peer echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    /// The raw HTTP request and response of the opening handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<HandshakeRecord>,
    /// What a client's application saw when the connection closed, as its driver reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<Observation>,
    /// What went over the wire.
    pub transcript: Transcript,
    /// The ids of the requirements (`wsspec requirements`) that what the peer did broke: what a
    /// FAILED or NON-STRICT verdict turns on, in the order found; empty for other verdicts, for a
    /// failure no sentence of the RFCs decides, and in files written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<String>,
}

/// How fast a peer echoed, measured from the first step to the last.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Seconds from the first step to the end of the last.
    pub seconds: f64,
    /// Messages received.
    pub messages: u64,
    /// Payload bytes received.
    pub bytes: u64,
}

impl Throughput {
    /// Megabytes (10^6 bytes) of payload per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    /// Messages per second.
    pub fn messages_per_s(&self) -> f64 {
        self.messages as f64 / self.seconds.max(1e-9)
    }
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} MB/s, {:.0} msgs/s ({} messages, {} bytes in {:.3} s)",
            self.mb_per_s(),
            self.messages_per_s(),
            self.messages,
            self.bytes,
            self.seconds
        )
    }
}

/// The opening handshake as sent and received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeRecord {
    /// The request head, as text.
    pub request: String,
    /// The response head, as text (lossy for non-UTF-8 bytes).
    pub response: String,
}

/// How a connection ended, as a client's application saw it (reported by its driver).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The close code the application was given (1005: none in the close frame; 1006: no close frame).
    pub code: Option<u16>,
    /// The close reason the application was given.
    pub reason: String,
    /// Whether the application was told the close was clean (a close frame was received).
    pub clean: bool,
}

/// Payload bytes in JSON: text when they are valid UTF-8, hex otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Data {
    /// Valid UTF-8.
    Text(String),
    /// Anything else, as lower-case hex.
    Hex(String),
}

impl Data {
    /// Encodes bytes as text or hex.
    pub fn from_bytes(bytes: &[u8]) -> Data {
        match std::str::from_utf8(bytes) {
            Ok(text) => Data::Text(text.to_owned()),
            Err(_) => Data::Hex(hex(bytes)),
        }
    }

    /// Encodes bytes always as hex.
    pub fn hex(bytes: &[u8]) -> Data {
        Data::Hex(hex(bytes))
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Text(text) => write!(f, "{text:?}"),
            Data::Hex(hex) => write!(f, "0x{hex}"),
        }
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Direction of a transcript entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the harness to the peer.
    Sent,
    /// From the peer to the harness.
    Received,
    /// Something the harness noted (a timer, a TCP event).
    Note,
}

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Microseconds since the case started.
    pub at_us: u64,
    /// Direction.
    pub dir: Direction,
    /// What happened.
    #[serde(flatten)]
    pub kind: EntryKind,
    /// How many more times the same thing happened right after (a flood of one frame is one entry).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeats: u64,
}

/// What a transcript entry records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EntryKind {
    /// Raw bytes written or read (`data` holds at most the first bytes, `len` is the full count).
    Bytes {
        /// The full length.
        len: u64,
        /// The first bytes, as hex.
        data: String,
    },
    /// A decoded frame.
    Frame {
        /// FIN bit.
        fin: bool,
        /// RSV bits as a number.
        rsv: u8,
        /// Opcode nibble.
        opcode: u8,
        /// The masking key, if masked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mask: Option<String>,
        /// The payload length.
        len: u64,
        /// The first payload bytes (unmasked).
        payload: Data,
    },
    /// A note: timers, TCP events, decisions.
    Event {
        /// The text.
        text: String,
    },
}

/// What went over the wire, bounded in size: the first and the last entries, and a count of the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The kept entries, in time order.
    pub entries: Vec<Entry>,
    /// How many entries were left out between the first ones kept and the last ones kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counts of verdicts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    counts: [usize; 6],
}

impl Tally {
    /// Counts the verdicts of some results.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult>) -> Tally {
        let mut tally = Tally::default();
        for result in results {
            tally.add(result.verdict);
        }
        tally
    }

    /// Adds one verdict.
    pub fn add(&mut self, verdict: Verdict) {
        if let Some(slot) = Verdict::ALL.iter().position(|v| *v == verdict) {
            self.counts[slot] += 1;
        }
    }

    /// How many results had this verdict.
    pub fn get(&self, verdict: Verdict) -> usize {
        Verdict::ALL
            .iter()
            .position(|v| *v == verdict)
            .map_or(0, |slot| self.counts[slot])
    }

    /// How many results in all.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// How many results fail the run.
    pub fn failures(&self, strict: bool) -> usize {
        Verdict::ALL
            .iter()
            .filter(|v| v.is_failure(strict))
            .map(|v| self.get(*v))
            .sum()
    }
}

impl RunResults {
    /// The cases grouped by top-level section number, in section order.
    pub fn by_section(&self) -> std::collections::BTreeMap<u32, Vec<&CaseResult>> {
        let mut sections: std::collections::BTreeMap<u32, Vec<&CaseResult>> = Default::default();
        for case in &self.cases {
            let section = case
                .id
                .split('.')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            sections.entry(section).or_default().push(case);
        }
        sections
    }

    /// Whether any case fails the run.
    pub fn has_failures(&self) -> bool {
        self.cases.iter().any(|c| c.verdict.is_failure(self.strict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_text_or_hex() {
        assert_eq!(
            serde_json::to_string(&Data::from_bytes(b"hi")).unwrap(),
            r#"{"text":"hi"}"#
        );
        assert_eq!(
            serde_json::to_string(&Data::from_bytes(&[0xff, 0x00])).unwrap(),
            r#"{"hex":"ff00"}"#
        );
    }

    #[test]
    fn verdict_names_are_their_json() {
        for verdict in Verdict::ALL {
            assert_eq!(serde_json::to_value(verdict).unwrap(), verdict.name());
        }
    }

    #[test]
    fn strict_turns_non_strict_into_failure() {
        assert!(!Verdict::NonStrict.is_failure(false));
        assert!(Verdict::NonStrict.is_failure(true));
        assert!(Verdict::Error.is_failure(false));
        assert!(!Verdict::Informational.is_failure(true));
    }

    #[test]
    fn entries_serialize_flat() {
        let entry = Entry {
            at_us: 5,
            dir: Direction::Sent,
            kind: EntryKind::Event { text: "x".into() },
            repeats: 0,
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"at_us":5,"dir":"sent","kind":"event","text":"x"}"#
        );
        let flood = Entry {
            repeats: 9,
            ..entry
        };
        assert_eq!(
            serde_json::to_string(&flood).unwrap(),
            r#"{"at_us":5,"dir":"sent","kind":"event","text":"x","repeats":9}"#
        );
    }
}
