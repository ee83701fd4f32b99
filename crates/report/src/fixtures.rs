//! Results to render in the reporters' tests.

use wsspec_suite::{
    Level, Role,
    results::{
        CaseResult, CloseBehavior, CloseInfo, Direction, Entry, EntryKind, RunResults,
        SelectionInfo, Target, Transcript, Verdict,
    },
};

/// A MUST-level case of section 2 with this id and verdict, and a one-entry transcript.
pub fn case(id: &str, verdict: Verdict) -> CaseResult {
    CaseResult {
        id: id.into(),
        title: "Ping with a 126-byte payload".into(),
        section_title: "Pings and pongs".into(),
        rfc: "RFC 6455 §5.5".into(),
        level: Level::Must,
        requirement: "All control frames MUST have a payload length of 125 bytes or less".into(),
        requirements: vec!["6455-5.5-1".into()],
        verdict,
        behavior: verdict,
        behavior_close: CloseBehavior::Ok,
        expected: "peer fails the connection".into(),
        actual: "the peer answered with a pong".into(),
        notes: vec![],
        close: CloseInfo::default(),
        started_ms: 0,
        duration_ms: 3,
        throughput: None,
        handshake: None,
        observation: None,
        transcript: Transcript {
            entries: vec![Entry {
                at_us: 1500,
                dir: Direction::Sent,
                kind: EntryKind::Event {
                    text: "hello".into(),
                },
                repeats: 0,
            }],
            dropped: 0,
        },
        broken: Vec::new(),
    }
}

/// A complete, non-strict run of a server named `agent`.
pub fn run(agent: &str, cases: Vec<CaseResult>) -> RunResults {
    RunResults {
        schema: 1,
        tool: "wsspec 0.1.0".into(),
        agent: agent.into(),
        target: Target {
            url: "ws://x".into(),
            role: Role::Server,
        },
        started: "2025-01-01T00:00:00Z".into(),
        duration_ms: 1500,
        selection: SelectionInfo::default(),
        strict: false,
        complete: true,
        stopped: None,
        not_run: vec![],
        cases,
    }
}
