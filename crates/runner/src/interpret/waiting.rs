//! The steps that wait: an `expect` matched event by event until its deadline, and a `wait` that keeps
//! what the peer sends for the steps after it.

use wsspec_suite::case::OnTimeout;

use super::{Expecting, Fact, Interpreter, MAX_PENDING, Phase, endpoint::Taken};
use crate::judge::{MatchOutcome, Matcher, Observed};

impl Interpreter {
    pub(super) fn expecting_progress(&mut self) -> bool {
        let Phase::Expecting(expecting) = &self.phase else {
            return false;
        };
        let until = expecting.ends(self.last_heard(), self.settings.progress_timeout);
        let outcome = match self.take_event(until, true) {
            Taken::Wait => return false,
            Taken::Event(event) => {
                if let Observed::Violation(violation) = &event {
                    self.record.push(Fact::Violated(violation.clone()));
                }
                let Phase::Expecting(expecting) = &mut self.phase else {
                    return false;
                };
                match expecting.matcher.feed(&event, &self.outbox) {
                    Some(outcome) => outcome,
                    None => return true,
                }
            }
            Taken::TimedOut => {
                let Phase::Expecting(expecting) = std::mem::replace(&mut self.phase, Phase::Steps)
                else {
                    return false;
                };
                match self.expect_timed_out(&expecting) {
                    Some(outcome) => outcome,
                    None => return true,
                }
            }
        };
        self.phase = Phase::Steps;
        self.expectation_decided(outcome);
        true
    }

    /// An expectation's time ran out: silence was the match, or lateness is allowed, or it failed.
    /// When the peer stalled before the expectation's own deadline, the reason says so.
    pub(super) fn expect_timed_out(&mut self, expecting: &Expecting) -> Option<MatchOutcome> {
        let within_ms = expecting.within_ms;
        if let Some(ms) = expecting.silence {
            return Some(Matcher::silence_kept(ms));
        }
        let stalled = self.now < expecting.until;
        let missed = || match stalled {
            true => expecting
                .matcher
                .stalled(self.now - expecting.started.max(self.last_heard())),
            false => expecting.matcher.timed_out(within_ms),
        };
        match expecting.on_timeout {
            OnTimeout::Pass => {
                self.recorder
                    .note(format!("nothing within {within_ms} ms, which is fine here"));
                None
            }
            OnTimeout::NonStrict => {
                if let MatchOutcome::Failed(reason) = missed() {
                    self.recorder.note(format!("late, going on: {reason}"));
                    self.record.push(Fact::Late(reason));
                }
                None
            }
            OnTimeout::Fail => Some(missed()),
        }
    }

    /// When the peer last made progress: now, while input it sent waits to be handled (or the budgets
    /// hold reading back), else when its last bytes came.
    fn last_heard(&self) -> std::time::Instant {
        match &self.conn {
            Some(conn) if !conn.inbox.awaits_peer() => self.now,
            _ => self.heard,
        }
    }

    pub(super) fn expectation_decided(&mut self, outcome: MatchOutcome) {
        match outcome {
            MatchOutcome::Matched {
                verdict,
                echoes,
                what,
                fail_codes,
            } => {
                self.recorder.note(format!("expectation met: {what}"));
                self.record.push(Fact::Met {
                    rank: verdict,
                    what,
                });
                self.outbox
                    .messages
                    .drain(..echoes.min(self.outbox.messages.len()));
                if fail_codes.is_some() {
                    self.record.fail_codes = fail_codes;
                    self.peer_failed = true;
                }
            }
            MatchOutcome::Failed(reason) => {
                self.recorder.note(format!("expectation failed: {reason}"));
                self.unmet(reason);
            }
        }
    }

    pub(super) fn waiting_progress(&mut self) -> bool {
        let Phase::Waiting { until } = self.phase else {
            return false;
        };
        let full = self
            .conn
            .as_ref()
            .is_some_and(|conn| conn.pending.len() >= MAX_PENDING);
        if full {
            // A peer that floods the wait is left unread (TCP pushes back) for the rest of it.
            if self.now < until {
                self.wake = Some(until);
                return false;
            }
            self.phase = Phase::Steps;
            return true;
        }
        match self.take_event(until, false) {
            Taken::Wait => false,
            Taken::Event(event) => {
                if let Some(conn) = self.conn.as_mut() {
                    conn.pending.push_back(event);
                }
                true
            }
            Taken::TimedOut => {
                self.phase = Phase::Steps;
                true
            }
        }
    }
}
