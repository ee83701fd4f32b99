//! GitHub Actions annotations: `::error` workflow commands on stdout, which GitHub shows on the run's
//! summary page and beside the job's log. On with `--github-annotations`, or by itself when
//! `GITHUB_ACTIONS=true` (as on GitHub's runners).
//!
//! Without a baseline, every failing case gets an `::error`. With a baseline, only the differences
//! do: an `::error` for a case newly failing (or new and failing), a `::notice` for the others, which
//! fail the run as well, but are not regressions.

use wsspec_report::{
    RunResults,
    baseline::{BaselineDiff, ChangeKind},
};

/// GitHub shows at most this many annotations of a kind per step; more are cut to a count.
const MAX_ANNOTATIONS: usize = 50;

/// Whether to print annotations.
pub(crate) fn enabled(flag: bool) -> bool {
    flag || on_github()
}

/// Whether this runs on GitHub Actions (`GITHUB_ACTIONS=true`).
pub(crate) fn on_github() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true")
}

/// One `::error` per failing case.
pub(crate) fn failures(runs: &[RunResults]) -> String {
    let lines: Vec<String> = runs
        .iter()
        .flat_map(|run| {
            run.cases
                .iter()
                .filter(|case| case.verdict.is_failure(run.strict))
                .map(move |case| {
                    command(
                        "error",
                        &format!("wsspec {} {}: {}", run.agent, case.id, case.verdict),
                        &format!(
                            "{}\nexpected: {}\nactual: {}",
                            case.title, case.expected, case.actual
                        ),
                    )
                })
        })
        .collect();
    capped(lines)
}

/// One annotation per difference from the baseline.
pub(crate) fn changes(diff: &BaselineDiff) -> String {
    let lines = diff
        .changes()
        .map(|(agent, change)| {
            let level = match change.kind {
                ChangeKind::NewlyFailing => "error",
                ChangeKind::New if change.now.is_failure(true) => "error",
                _ => "notice",
            };
            command(
                level,
                &format!(
                    "wsspec {agent} {}: {} ({})",
                    change.id,
                    change.kind.heading(),
                    change.verdicts()
                ),
                &format!("{}\nactual: {}", change.title, change.actual),
            )
        })
        .collect();
    capped(lines)
}

fn capped(mut lines: Vec<String>) -> String {
    let more = lines.len().saturating_sub(MAX_ANNOTATIONS);
    lines.truncate(MAX_ANNOTATIONS);
    if more > 0 {
        lines.push(command(
            "warning",
            "wsspec",
            &format!("{more} more cases; see the report"),
        ));
    }
    lines.into_iter().map(|line| line + "\n").collect()
}

/// `::level title=T::message`, escaped as GitHub's workflow commands require.
fn command(level: &str, title: &str, message: &str) -> String {
    format!(
        "::{level} title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_escaped() {
        assert_eq!(
            command("error", "wsspec a:b, 3.1: FAILED", "50% done\nnext"),
            "::error title=wsspec a%3Ab%2C 3.1%3A FAILED::50%25 done%0Anext"
        );
    }

    #[test]
    fn too_many_are_cut_to_a_count() {
        let text = capped((0..60).map(|n| n.to_string()).collect());
        assert_eq!(text.lines().count(), 51);
        assert!(text.ends_with("::warning title=wsspec::10 more cases; see the report\n"));
    }
}
