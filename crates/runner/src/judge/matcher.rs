//! Matching the peer's events against a step's expectation, alternative by alternative.

use super::{Observed, Violation, preview};
use crate::body::Body;
use wsspec_suite::{
    case::{AltVerdict, Expect, Payload},
    results::Verdict,
};
use wsspec_wire::{CloseCode, Opcode};

use std::{collections::VecDeque, time::Duration};

/// What the harness has sent that the peer may answer.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Complete data messages not yet seen echoed, oldest first, for `echo` expectations.
    pub messages: VecDeque<(Opcode, Body)>,
    /// The payloads of the latest pings, newest last: a pong carrying one of them answers a ping,
    /// any other pong is unsolicited, which §5.5.3 allows at any time.
    pings: VecDeque<Vec<u8>>,
}

impl Outbox {
    /// How many of the latest pings are remembered: far more than a case sends between two
    /// expectations, and a bound on what a case can make the harness keep.
    const PINGS_KEPT: usize = 64;

    /// Remembers a ping the harness sent, by its payload (a ping's first 125 bytes suffice: no
    /// pong may carry more).
    pub fn sent_ping(&mut self, payload: &[u8]) {
        if self.pings.len() == Self::PINGS_KEPT {
            self.pings.pop_front();
        }
        self.pings.push_back(payload.to_vec());
    }

    /// Whether a pong with this payload answers a ping the harness sent.
    fn answers_a_ping(&self, pong: &[u8]) -> bool {
        self.pings.iter().any(|ping| ping == pong)
    }
}

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
        fail_codes: Option<Vec<CloseCode>>,
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
        let (waiting, seen) = self.still_due();
        MatchOutcome::Failed(format!(
            "no {} within {within_ms} ms ({seen})",
            waiting.join(" nor ")
        ))
    }

    /// The outcome when the peer stopped sending before the time allowed ran out: it has sent nothing
    /// for `silent`.
    pub fn stalled(&self, silent: Duration) -> MatchOutcome {
        let (waiting, seen) = self.still_due();
        MatchOutcome::Failed(format!(
            "the peer sent nothing for {:.1} s while the case waited for: {} ({seen})",
            silent.as_secs_f64(),
            waiting.join(" or ")
        ))
    }

    /// What the expectation still waits for, and what it has seen so far.
    fn still_due(&self) -> (Vec<String>, String) {
        let waiting: Vec<String> = self
            .tracks
            .iter()
            .filter(|t| t.dead.is_none())
            .filter_map(|t| t.atoms.get(t.position).map(|atom| atom.to_string()))
            .collect();
        let seen: Vec<&str> = self
            .tracks
            .iter()
            .flat_map(|t| &t.seen)
            .map(String::as_str)
            .collect();
        let seen = match seen.is_empty() {
            true => "nothing arrived".to_owned(),
            false => format!("after {}", seen.join(", ")),
        };
        (waiting, seen)
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
                .messages
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
            // A pong that answers no ping of the harness is a heartbeat, allowed at any time
            // (§5.5.3): it never decides an expectation, whatever the expectation waits for.
            (_, O::Pong(payload)) if !outbox.answers_a_ping(payload) => Step::Ignore,
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
            (Expect::Echo, O::Message { opcode, body }) => match outbox.messages.get(self.echoes) {
                Some((sent_op, sent)) if sent_op == opcode && sent == body => {
                    self.echoes += 1;
                    Step::Done
                }
                Some((sent_op, sent)) => Step::Reject(format!(
                    "expected the echo of the {} message of {} bytes {} sent, got a {}",
                    sent_op,
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
