//! The first thing a case does in a quiet run (see [`crate::liveness`]): a ping, and a short wait for
//! any answer. An answer lets the case run as usual; silence fails it at once, without the waits of
//! the steps and the closing.

use wsspec_suite::case::{MaskSpec, WritePlan};
use wsspec_suite::results::Direction;
use wsspec_wire::{FrameSpec, encode_frame};

use super::{Fact, Interpreter, Phase, endpoint::Taken};
use crate::{judge::Observed, liveness::QUIET_WAIT};

/// The probe ping's payload, by which its pong is told from the case's own.
const PROBE: &[u8] = b"wsspec: are you there?";

impl Interpreter {
    /// Sends the probe ping and waits for an answer; `silent_before` cases in a row found the peer
    /// silent.
    pub(super) fn probe(&mut self, silent_before: usize) {
        self.recorder.note(format!(
            "the peer answered nothing on the {silent_before} connections before this one: a ping first"
        ));
        let spec = FrameSpec::ping(PROBE).with_mask(self.mask(MaskSpec::Auto));
        self.recorder
            .frame(Direction::Sent, &spec.header(), &spec.payload);
        self.write_bytes(encode_frame(&spec), WritePlan::default());
        self.phase = Phase::Probing {
            until: self.now + QUIET_WAIT,
            silent_before,
        };
    }

    /// One move of the probe: the answer came (the steps start, and anything but the probe's pong is
    /// kept for them), or the wait ran out (the case fails, and the connection is dropped).
    pub(super) fn probing_progress(&mut self) -> bool {
        let Phase::Probing {
            until,
            silent_before,
        } = self.phase
        else {
            return false;
        };
        match self.take_event(until, false) {
            Taken::Wait => false,
            Taken::Event(Observed::Pong(payload)) if payload == PROBE => {
                self.recorder.note("the probe was answered: the case runs");
                self.phase = Phase::Steps;
                true
            }
            Taken::Event(event) => {
                if let Some(conn) = self.conn.as_mut() {
                    conn.pending.push_back(event);
                }
                self.phase = Phase::Steps;
                true
            }
            Taken::TimedOut => {
                self.record.push(Fact::Unmet(format!(
                    "the peer answered nothing on the {silent_before} connections before this one, \
                     nor a ping on this one within {} ms",
                    QUIET_WAIT.as_millis()
                )));
                self.record.harness_dropped = true;
                self.connected = false;
                self.conn = None;
                self.actions.push_back(super::Action::Drop);
                self.phase = Phase::Done;
                true
            }
        }
    }
}
