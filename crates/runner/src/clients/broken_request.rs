//! Requests that never become a case's connection, failing the case their request line names: a head
//! that is no valid HTTP or stops before its blank line, and a request sent in the clear after the
//! TLS handshake.

use wsspec_wire::HeadError;

use super::{
    Route, Shared, agent,
    listener::{Unfinished, request_line, request_target},
};
use crate::{drive, judge::HandshakeProblem};

impl Shared {
    /// Fails the case a request head was for when it did not arrive whole: it was no valid HTTP, or
    /// the client stopped sending it. A head whose request line names no case is dropped, as is
    /// one over the harness's own limits.
    pub(super) fn unfinished_request(&self, unfinished: &Unfinished) {
        let problem = match &unfinished.malformed {
            Some(HeadError::Malformed(why)) => HandshakeProblem {
                text: format!("the request is no valid HTTP request (§4.1 point 1): {why}"),
                breaks: &["6455-4.1-18"],
            },
            Some(_) => return,
            None => HandshakeProblem {
                text: format!(
                    "the client sent {} bytes of its opening handshake and stopped before the blank line that ends it (§4.1: it MUST send an opening handshake)",
                    unfinished.len
                ),
                breaks: &["6455-4.1-2", "6455-4.1-17"],
            },
        };
        if let Some(target) = unfinished.request_line.as_deref().and_then(request_target) {
            self.fail_case_of(target, problem);
        }
    }

    /// Fails the case whose request a client sent in the clear after its TLS handshake.
    pub(super) fn cleartext_request(&self, cleartext: &[u8]) {
        let Some(line) = request_line(cleartext) else {
            return;
        };
        let Some(target) = request_target(&line) else {
            return;
        };
        let problem = HandshakeProblem {
            text: format!(
                "after its TLS handshake the client sent its opening handshake in the clear, outside the tunnel (§4.1: all further communication MUST run through the encrypted tunnel): {line}"
            ),
            breaks: &["6455-4.1-15"],
        };
        self.fail_case_of(target, problem);
    }

    /// Fails the case whose `runCase` URL is `target` with a broken opening handshake; a target
    /// that names no case (or one excluded for its agent) is let go.
    pub(super) fn fail_case_of(&self, target: &str, problem: HandshakeProblem) {
        let Route::RunCase(query) = Route::of_target(target) else {
            return;
        };
        let (Ok(index), Ok(agent)) = (self.case_index(&query), agent(&query)) else {
            return;
        };
        if self.excluded(&agent, index) {
            return;
        }
        let result = drive::unfinished_client_case(&self.cases[index], self.run_start, problem);
        self.observer.finished(&result);
        self.with_agent(&agent, |a| a.results.insert(index, result));
        self.activity.notify_waiters();
    }
}
