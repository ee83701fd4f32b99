//! What the fuzzer's integration tests share: the line each test prints about its first finding.

use std::{fmt::Display, time::Instant};

use wsspec_fuzzer::{Finding, Summary};

/// Prints how the first finding against `what` was found (`cargo test -- --nocapture` shows it)
/// and returns it. Panics when there is none.
pub fn first_finding(what: impl Display, started: Instant, summary: &Summary) -> &Finding {
    let finding = summary.findings.first().unwrap_or_else(|| {
        panic!(
            "{what}: nothing found in {:?} ({summary:?})",
            started.elapsed()
        )
    });
    eprintln!(
        "{what}: found in {:.1} s after {} scenarios: {} ({} -> {} steps)",
        started.elapsed().as_secs_f64(),
        summary.scenarios,
        finding.case.title,
        finding.steps_before,
        finding.case.steps.len()
    );
    finding
}
