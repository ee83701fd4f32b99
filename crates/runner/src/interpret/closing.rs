//! The closing after the steps: make sure both close frames were exchanged, give the peer a fair
//! chance to close TCP first (the server closes first, RFC 6455 §7.1.1), and record anything the peer
//! sent that no step asked for.

use wsspec_suite::{Role, case::WritePlan, results::Side};
use wsspec_wire::{CloseCode, encode_close_payload};

use super::{Fact, Interpreter, Phase, WriteOp, endpoint::Taken};
use crate::judge::Observed;

/// How many unsolicited pongs seen while closing the record keeps.
const MAX_UNEXPECTED_PONGS: usize = 20;

impl Interpreter {
    /// The steps are over: unless the connection is already gone, start the closing.
    pub(super) fn begin_closing(&mut self) {
        let Some(conn) = self.conn.as_ref() else {
            self.phase = Phase::Done;
            return;
        };
        let peer_closed =
            self.record.close.initiated_by == Some(Side::Peer) || self.record.close.clean;
        if !conn.sent_close && !peer_closed && !self.tcp_closed() {
            self.send_close(
                encode_close_payload(CloseCode::NORMAL, b""),
                WritePlan::default(),
            );
        }
        self.phase = Phase::AwaitClose { until: None };
    }

    /// Whether the peer's side of TCP is closed (or the connection is gone).
    fn tcp_closed(&self) -> bool {
        self.conn.as_ref().is_none_or(|conn| conn.tcp_closed)
    }

    /// One move of the closing: an event handled, a wait timed out, or a part of it done.
    pub(super) fn closing_progress(&mut self) -> bool {
        let wait = self.settings.close_wait;
        let now = self.now;
        let (until, awaiting_close) = match &mut self.phase {
            Phase::AwaitClose { until } => (*until.get_or_insert(now + wait), true),
            Phase::AwaitTcp { until } => (*until.get_or_insert(now + wait), false),
            _ => return false,
        };
        let done = if awaiting_close {
            self.record.close.clean || self.tcp_closed()
        } else {
            self.tcp_closed()
        };
        if done {
            self.closing_part_done(awaiting_close);
            return true;
        }
        match self.take_event(until, true) {
            Taken::Wait => false,
            Taken::Event(event) => {
                self.unexpected(event);
                true
            }
            Taken::TimedOut => {
                if awaiting_close {
                    self.record.close_timed_out = true;
                    self.recorder.note(format!(
                        "no close frame from the peer within {} ms",
                        wait.as_millis()
                    ));
                } else {
                    self.record.tcp_timed_out = true;
                    self.recorder.note(format!(
                        "the peer did not close TCP within {} ms; closing it",
                        wait.as_millis()
                    ));
                    self.record.close.tcp_closed_by.get_or_insert(Side::Harness);
                }
                self.closing_part_done(awaiting_close);
                true
            }
        }
    }

    /// The close frames are settled (`awaiting_close`), or TCP is: on to the next part.
    fn closing_part_done(&mut self, awaiting_close: bool) {
        if awaiting_close {
            // The server closes TCP first (§7.1.1): when the harness is the server, it does so now.
            if self.role == Role::Client && !self.tcp_closed() {
                self.writes.push_back(WriteOp::Shutdown);
                self.record.close.tcp_closed_by.get_or_insert(Side::Harness);
            }
            self.phase = Phase::AwaitTcp { until: None };
            return;
        }
        // Anything left in the queue was never expected.
        while let Some(event) = self.conn.as_mut().and_then(|conn| conn.pending.pop_front()) {
            self.unexpected(event);
        }
        if self.conn.take().is_some() {
            self.writes.push_back(WriteOp::Shutdown);
        }
        self.phase = Phase::Done;
    }

    /// An event that no step asked for, seen while closing. The record keeps the first message and
    /// the first violation (the first of either fails the case) and [`MAX_UNEXPECTED_PONGS`] pongs
    /// (each a note), so a peer that floods the closing costs no memory.
    fn unexpected(&mut self, event: Observed) {
        let kept = |fact: &Fact| match (fact, &event) {
            (Fact::Unexpected(Observed::Message { .. }), Observed::Message { .. })
            | (Fact::Unexpected(Observed::Violation(_)), Observed::Violation(_))
            | (Fact::Unexpected(Observed::Pong(_)), Observed::Pong(_)) => 1,
            _ => 0,
        };
        let limit = match event {
            Observed::Message { .. } | Observed::Violation(_) => 1,
            Observed::Pong(_) => MAX_UNEXPECTED_PONGS,
            Observed::Ping(_) | Observed::Close(_) | Observed::TcpClosed(_) => 0,
        };
        if self.record.facts.iter().map(kept).sum::<usize>() < limit {
            self.record.push(Fact::Unexpected(event));
        }
    }
}
