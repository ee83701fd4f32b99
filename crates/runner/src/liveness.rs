//! Whether the target still answers: a run that notices a target gone silent stops paying every case's
//! full waits for it.
//!
//! A server that completes the opening handshake and then never sends another byte costs each case
//! its expectation's wait and both waits of the closing, about 6 s: a full run would take minutes
//! while every case fails the same way. So each case reports, as it ends, whether the peer was silent
//! on its connection (nothing at all after the opening handshake: no frame, no close of TCP). Once
//! [`QUIET_AFTER`] cases in a row found it silent, the run is *quiet*: each case that starts then
//! first sends a ping and waits at most [`QUIET_WAIT`] for any answer (see the interpreter). A
//! target that answers runs the case as usual, and the next case that hears from it ends the quiet; one
//! that does not fails the case at once, with the reason. Every case still runs and still gets a
//! verdict from the bytes exchanged on its own connection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// How many cases in a row must find the target silent before the run turns quiet.
pub const QUIET_AFTER: usize = 8;

/// How long a case of a quiet run waits for the opening handshake, and then for an answer to its ping.
pub const QUIET_WAIT: Duration = Duration::from_millis(500);

/// How many cases in a row, up to now, found the target silent. Clones share the count.
#[derive(Clone, Debug, Default)]
pub struct Liveness {
    silent_in_a_row: Arc<AtomicUsize>,
}

impl Liveness {
    /// When the run is quiet, how many cases in a row found the target silent.
    pub fn quiet(&self) -> Option<usize> {
        let silent = self.silent_in_a_row.load(Ordering::Relaxed);
        (silent >= QUIET_AFTER).then_some(silent)
    }

    /// A case ended: `Some(true)` if the target was silent on its connection, `Some(false)` if it
    /// answered, `None` if the case tells nothing (it never connected).
    pub fn case_ended(&self, silent: Option<bool>) {
        match silent {
            Some(true) => {
                self.silent_in_a_row.fetch_add(1, Ordering::Relaxed);
            }
            Some(false) => self.silent_in_a_row.store(0, Ordering::Relaxed),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_turns_quiet_after_silent_cases_in_a_row_and_an_answer_ends_it() {
        let liveness = Liveness::default();
        let case = liveness.clone();
        for _ in 1..QUIET_AFTER {
            case.case_ended(Some(true));
        }
        case.case_ended(None);
        assert_eq!(liveness.quiet(), None);
        case.case_ended(Some(true));
        assert_eq!(liveness.quiet(), Some(QUIET_AFTER));
        case.case_ended(Some(false));
        assert_eq!(liveness.quiet(), None);
    }
}
