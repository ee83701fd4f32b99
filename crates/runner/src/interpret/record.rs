//! What the interpreter saw during one case: the record the judge turns into a verdict.
//!
//! The interpreter decides nothing. It notes each thing that happened, in order, as a [`Fact`], and
//! keeps the facts about the connection's end in [`Record`]; [`crate::judge::judge_case`] alone maps them
//! to verdicts, close verdicts and notes.

use std::time::Duration;

use wsspec_suite::{
    Role,
    results::{CloseInfo, HandshakeRecord},
};
use wsspec_wire::CloseCode;

use crate::judge::{HandshakeJudgement, HandshakeProblem, Observed, Violation};

/// One thing that happened during a case, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The case could not go on, for this reason: the connection could not be opened, the opening
    /// handshake failed, or an expectation was not met. The steps stop here.
    Unmet(String),
    /// An expectation was met by one of its alternatives, which the matcher ranked.
    Met {
        /// The alternative's rank ([`wsspec_suite::results::Verdict::Pass`] for the preferred one).
        rank: wsspec_suite::results::Verdict,
        /// What matched.
        what: String,
    },
    /// An expectation whose `on_timeout` allows a late reaction timed out, for this reason.
    Late(String),
    /// The answer to a request the server had to refuse, as the handshake judge read it.
    Refusal(HandshakeJudgement),
    /// The peer declined what the case needs (permessage-deflate), so its steps were skipped.
    Unimplemented(String),
    /// The client's opening handshake breaks these rules of RFC 6455 §4.1.
    BadClientRequest(Vec<HandshakeProblem>),
    /// The server's answer to the opening handshake is no valid upgrade, for these reasons.
    BadUpgradeResponse(Vec<HandshakeProblem>),
    /// A frame or message of the peer, met while a step waited, broke this rule (the step's
    /// expectation then fails, and the violation is what the failure turns on).
    Violated(Violation),
    /// An event no step asked for, seen while closing.
    Unexpected(Observed),
    /// The case's deadline (in ms) passed; `established` tells whether the handshake was done.
    DeadlineReached {
        /// The deadline.
        ms: u128,
        /// Whether the opening handshake had completed.
        established: bool,
    },
    /// After the case, the server did not upgrade a connection with the standard handshake.
    NoLongerUpgrades(String),
}

/// Everything the interpreter recorded about one case.
#[derive(Clone, Debug)]
pub struct Record {
    /// The role the peer played.
    pub role: Role,
    /// What happened, in order.
    pub facts: Vec<Fact>,
    /// The peer's events, described, up to [`MAX_OBSERVED`].
    pub observed: Vec<String>,
    /// Who closed what, and with which codes.
    pub close: CloseInfo,
    /// The codes a `fail` expectation asked for, when the peer failed the connection as expected.
    pub fail_codes: Option<Vec<CloseCode>>,
    /// Whether the harness gave up waiting for the peer's close frame.
    pub close_timed_out: bool,
    /// Whether the harness gave up waiting for the peer to close TCP.
    pub tcp_timed_out: bool,
    /// Whether a step dropped the connection.
    pub harness_dropped: bool,
    /// Whether the peer's close frame came after the harness had sent one.
    pub answered_harness_close: bool,
    /// Whether the opening handshake completed.
    pub established: bool,
    /// How long the steps took (for performance cases).
    pub steps_took: Option<Duration>,
    /// Complete messages received.
    pub received_messages: u64,
    /// Their payload bytes.
    pub received_bytes: u64,
    /// The opening handshake as it was exchanged.
    pub handshake: Option<HandshakeRecord>,
    /// Why the case cannot run here: the peer declined what it needs (permessage-deflate).
    pub unimplemented: Option<String>,
}

/// How many of the peer's events a record describes.
pub const MAX_OBSERVED: usize = 40;

impl Record {
    /// An empty record for a peer playing `role`.
    pub fn new(role: Role) -> Self {
        Record {
            role,
            facts: Vec::new(),
            observed: Vec::new(),
            close: CloseInfo::default(),
            fail_codes: None,
            close_timed_out: false,
            tcp_timed_out: false,
            harness_dropped: false,
            answered_harness_close: false,
            established: false,
            steps_took: None,
            received_messages: 0,
            received_bytes: 0,
            handshake: None,
            unimplemented: None,
        }
    }

    /// Adds a fact.
    pub fn push(&mut self, fact: Fact) {
        self.facts.push(fact);
    }

    /// The refusal judgement, when the case asked the server to refuse its request.
    pub fn refusal(&self) -> Option<&HandshakeJudgement> {
        self.facts.iter().find_map(|fact| match fact {
            Fact::Refusal(judgement) => Some(judgement),
            _ => None,
        })
    }
}
