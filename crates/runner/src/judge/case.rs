//! A case's result from the interpreter's record: the verdict, the close verdict, what happened and
//! the notes. The one place where what was observed becomes a [`CaseResult`].

use std::time::{Duration, Instant};

use wsspec_suite::{
    Case,
    results::{CaseResult, CloseBehavior, CloseInfo, Throughput, Transcript, Verdict},
};

use super::{Ending, HandshakeProblem, Observed, judge_close, overall};
use crate::interpret::{Fact, Record};

/// How many notes a result keeps; a peer that repeats itself (a pong flood) adds no more.
const MAX_NOTES: usize = 20;

/// When a case ran, for its result.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// When the run started.
    pub run_start: Instant,
    /// When the case started.
    pub start: Instant,
}

/// What the facts of a record add up to, before the closing is judged.
struct Behaviour {
    verdict: Verdict,
    /// The first reason the case failed.
    failure: Option<String>,
    notes: Vec<String>,
    /// The ids of the requirements the peer was seen to break, in the order found.
    broken: Vec<String>,
}

impl Behaviour {
    fn fail(&mut self, reason: String) {
        self.failure.get_or_insert(reason);
        self.verdict = Verdict::Fail;
    }

    fn degrade(&mut self, verdict: Verdict) {
        self.verdict = self.verdict.max(verdict);
    }

    /// Records that the peer broke these requirements.
    fn broke<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        add_ids(&mut self.broken, ids);
    }

    /// Adds a note, unless the result already has [`MAX_NOTES`] of them.
    fn note(&mut self, text: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(text);
        }
    }

    /// Judges the facts, in the order they happened, for a case that checks `checked` (the ids a
    /// step's unmet expectation turns on).
    fn of(facts: &[Fact], checked: &[String]) -> Behaviour {
        let mut this = Behaviour {
            verdict: Verdict::Pass,
            failure: None,
            notes: Vec::new(),
            broken: Vec::new(),
        };
        // A step that failed on a frame breaking a rule turns on that rule, not on the case's.
        let violated = facts.iter().any(|fact| matches!(fact, Fact::Violated(_)));
        for fact in facts {
            this.judge(fact, checked, violated);
        }
        this
    }

    fn judge(&mut self, fact: &Fact, checked: &[String], violated: bool) {
        let case_rules = || checked.iter().map(String::as_str);
        match fact {
            Fact::Unmet(reason) => {
                self.fail(reason.clone());
                if !violated {
                    self.broke(case_rules());
                }
            }
            Fact::Violated(violation) => self.broke(violation.sender_requirements()),
            Fact::Met { rank, what } => {
                if *rank == Verdict::NonStrict {
                    self.note(format!("matched a less preferred alternative: {what}"));
                    self.broke(case_rules());
                }
                self.degrade(*rank);
            }
            Fact::Late(reason) => {
                self.note(format!("NON-STRICT: {reason}; the peer reacted only later"));
                self.degrade(Verdict::NonStrict);
                self.broke(case_rules());
            }
            Fact::Refusal(judgement) => {
                match judgement.verdict {
                    Verdict::Fail | Verdict::Error => self.fail(judgement.what.clone()),
                    verdict => {
                        if verdict != Verdict::Pass {
                            self.notes.push(judgement.what.clone());
                        }
                        self.degrade(verdict);
                    }
                }
                if !judgement.breaks.is_empty() {
                    self.broke(judgement.breaks.iter().copied());
                } else if matches!(judgement.verdict, Verdict::Fail | Verdict::NonStrict) {
                    self.broke(case_rules());
                }
                self.notes.extend(judgement.note.clone());
            }
            Fact::Unimplemented(reason) => {
                self.note(format!("UNIMPLEMENTED: {reason}"));
                self.degrade(Verdict::Unimplemented);
            }
            Fact::BadClientRequest(problems) => {
                self.fail(format!(
                    "the client's opening handshake is wrong: {}",
                    HandshakeProblem::list(problems)
                ));
                self.broke(
                    problems
                        .iter()
                        .flat_map(|problem| problem.breaks.iter().copied()),
                );
            }
            Fact::BadUpgradeResponse(problems) => {
                self.fail(format!(
                    "opening handshake failed: {}",
                    HandshakeProblem::list(problems)
                ));
                // A refusal breaks no rule of its own: it fails the case's (one that must upgrade).
                if problems.iter().all(|problem| problem.breaks.is_empty()) {
                    self.broke(case_rules());
                }
                self.broke(
                    problems
                        .iter()
                        .flat_map(|problem| problem.breaks.iter().copied()),
                );
            }
            Fact::Unexpected(event) => match event {
                Observed::Message { .. } => {
                    self.fail(format!("the peer sent a {event} that no step expected"))
                }
                Observed::Violation(what) => {
                    self.fail(format!(
                        "the peer broke the protocol: {what} [{}]",
                        what.requirements().join(", ")
                    ));
                    self.broke(what.sender_requirements());
                }
                Observed::Pong(_) => self.note(format!(
                    "the peer sent an unsolicited {event}, which §5.5.3 allows"
                )),
                Observed::Ping(_) | Observed::Close(_) | Observed::TcpClosed(_) => {}
            },
            Fact::DeadlineReached { ms, established } => {
                let phase = if *established {
                    ""
                } else {
                    ", still in the opening handshake"
                };
                self.fail(format!(
                    "the case did not finish within its deadline of {ms} ms{phase}"
                ));
                self.broke(case_rules());
            }
            Fact::NoLongerUpgrades(reason) => self.fail(format!(
                "after this case the server no longer accepts a standard handshake: {reason}"
            )),
        }
    }
}

/// Appends the ids not in `list` yet, in order.
fn add_ids<'a>(list: &mut Vec<String>, ids: impl IntoIterator<Item = &'a str>) {
    for id in ids {
        if !list.iter().any(|known| known == id) {
            list.push(id.to_owned());
        }
    }
}

/// Judges a case from its record: the behaviour from the facts, the closing from the record's end,
/// the verdict from both, capped by the case's level.
pub fn judge_case(
    case: &Case,
    mut record: Record,
    timing: Timing,
    transcript: Transcript,
) -> CaseResult {
    let Behaviour {
        verdict: behavior,
        failure,
        mut notes,
        mut broken,
    } = Behaviour::of(&record.facts, &case.requirements);
    let refusal = record.refusal().map(|judgement| judgement.what.clone());
    let (behavior_close, close_verdict, close_broke) = if refusal.is_some() {
        // A refused handshake has no WebSocket close to judge.
        (CloseBehavior::Ok, Verdict::Pass, Vec::new())
    } else if !record.established {
        // The behaviour's failure says why, and names what it broke.
        (CloseBehavior::Failed, Verdict::Fail, Vec::new())
    } else if record.harness_dropped {
        (CloseBehavior::Ok, Verdict::Pass, Vec::new())
    } else {
        let ending = Ending {
            info: record.close.clone(),
            fail_codes: record.fail_codes.clone(),
            close_timed_out: record.close_timed_out,
            tcp_timed_out: record.tcp_timed_out,
            role: Some(record.role),
            answered_harness_close: record.answered_harness_close,
        };
        judge_close(&ending, &mut notes)
    };
    let verdict = overall(case.level, behavior, close_verdict);
    add_ids(&mut broken, close_broke);
    let mut actual = if let Some(answer) = refusal {
        answer
    } else if let Some(reason) = record.unimplemented.take() {
        reason
    } else if record.observed.is_empty() {
        "the peer sent nothing".to_owned()
    } else {
        format!("the peer sent: {}", record.observed.join(", "))
    };
    if let Some(failure) = failure.as_ref().filter(|failure| **failure != actual) {
        actual = format!("{failure}. {actual}");
    }
    CaseResult {
        behavior,
        behavior_close,
        notes,
        close: record.close,
        started_ms: timing.start.duration_since(timing.run_start).as_millis() as u64,
        duration_ms: timing.start.elapsed().as_millis() as u64,
        throughput: record
            .steps_took
            .filter(|_| case.performance)
            .map(|took| Throughput {
                seconds: took.as_secs_f64(),
                messages: record.received_messages,
                bytes: record.received_bytes,
            }),
        handshake: record.handshake,
        transcript,
        broken: if matches!(verdict, Verdict::Fail | Verdict::NonStrict) {
            broken
        } else {
            Vec::new()
        },
        ..result_of(case, verdict, actual)
    }
}

/// The result of a case that wsspec itself failed to run (ERROR, never blamed on the target), which
/// started `started` into the run and took `took`.
pub fn harness_error(case: &Case, actual: String, started: Duration, took: Duration) -> CaseResult {
    CaseResult {
        started_ms: started.as_millis() as u64,
        duration_ms: took.as_millis() as u64,
        ..result_of(case, Verdict::Error, actual)
    }
}

/// A case's result with its verdict and what happened, and nothing else recorded yet.
fn result_of(case: &Case, verdict: Verdict, actual: String) -> CaseResult {
    CaseResult {
        id: case.id.to_string(),
        title: case.title.clone(),
        section_title: case.section_title.clone(),
        rfc: case.rfc.clone(),
        level: case.level,
        requirement: case.requirement.clone(),
        requirements: case.requirements.clone(),
        verdict,
        behavior: verdict,
        behavior_close: CloseBehavior::Informational,
        expected: case.expectation(),
        actual,
        notes: Vec::new(),
        close: CloseInfo::default(),
        started_ms: 0,
        duration_ms: 0,
        throughput: None,
        handshake: None,
        observation: None,
        transcript: Default::default(),
        broken: Vec::new(),
    }
}
