//! The job summary: GitHub-flavoured Markdown for a CI system's run page (`$GITHUB_STEP_SUMMARY` on
//! GitHub Actions). Per agent: the grade and scores, the verdict counts per section, then the cases
//! that need a look, each with the requirements its verdict turned on. With a baseline, the
//! differences from it come first, as they are what fails the run; the expected failures follow,
//! folded.
//!
//! GitHub takes at most 1 MiB of summary per step, so each list is cut to [`MAX_ROWS`] rows, with a
//! count of the rest and a pointer to the full report.

use std::fmt::Write;

use wsspec_suite::{
    Role,
    results::{CaseResult, RunResults, Tally, Verdict},
};

use crate::{
    baseline::{AgentDiff, BaselineDiff},
    score::{self, Score},
    terminal,
};

/// The most rows of one list; 12 agents × 4 lists of this many stay far below GitHub's 1 MiB.
pub const MAX_ROWS: usize = 100;

/// The longest text of one table cell, in characters.
const MAX_CELL: usize = 240;

/// The summary of some runs, compared with a baseline when there is one.
pub fn render(runs: &[RunResults], diff: Option<&BaselineDiff>) -> String {
    let mut out = String::new();
    for run in runs {
        let agent_diff = diff.and_then(|diff| diff.agents.iter().find(|a| a.agent == run.agent));
        agent(&mut out, run, agent_diff);
    }
    if let Some(diff) = diff {
        for missing in &diff.missing_agents {
            let _ = writeln!(
                out,
                "The baseline's agent `{}` was not run here.\n",
                text(missing)
            );
        }
    }
    out
}

/// One agent's part.
fn agent(out: &mut String, run: &RunResults, diff: Option<&AgentDiff>) {
    let role = match run.target.role {
        Role::Server => "server",
        Role::Client => "client",
    };
    let score = Score::of(&run.cases);
    let _ = writeln!(
        out,
        "## {}: WebSocket {role} conformance\n",
        text(&run.agent)
    );
    let _ = writeln!(
        out,
        "**Grade {}** · MUST {} · SHOULD {}{}\n",
        score.grade(),
        score.must,
        score.should,
        if run.strict { " · strict" } else { "" }
    );
    let _ = writeln!(out, "{}\n", text(&terminal::closing_line(run)));
    section_table(out, run);

    let failed: Vec<&CaseResult> = run
        .cases
        .iter()
        .filter(|case| case.verdict.is_failure(run.strict))
        .collect();
    let non_strict: Vec<&CaseResult> = run
        .cases
        .iter()
        .filter(|case| case.verdict == Verdict::NonStrict && !run.strict)
        .collect();
    match diff {
        Some(diff) => {
            differences(out, diff);
            let expected: Vec<&CaseResult> = failed
                .into_iter()
                .filter(|case| !diff.changes.iter().any(|change| change.id == case.id))
                .collect();
            folded_cases(out, "Failed, as the baseline expects", &expected);
        }
        None if failed.is_empty() => {}
        None => {
            let _ = writeln!(out, "### Failed ({})\n", failed.len());
            case_table(out, &failed);
        }
    }
    folded_cases(out, "NON-STRICT (a SHOULD not met)", &non_strict);
}

/// Verdict counts per suite section, with an `all` row.
fn section_table(out: &mut String, run: &RunResults) {
    out.push_str("| section | cases |");
    for verdict in Verdict::ALL {
        let _ = write!(out, " {} |", verdict.autobahn_name());
    }
    out.push_str("\n|---|--:|");
    for _ in Verdict::ALL {
        out.push_str("--:|");
    }
    out.push('\n');
    let sections = run.by_section();
    let row = |out: &mut String, label: String, cases: &[&CaseResult]| {
        let tally = Tally::of(cases.iter().copied());
        let _ = write!(out, "| {label} | {} |", tally.total());
        for verdict in Verdict::ALL {
            match tally.get(verdict) {
                0 => out.push_str(" |"),
                n => {
                    let _ = write!(out, " {n} |");
                }
            }
        }
        out.push('\n');
    };
    for section in score::by_section(run) {
        let label = match section.title.as_str() {
            "" => section.number.to_string(),
            title => format!("{} {}", section.number, text(title)),
        };
        if let Some(cases) = sections.get(&section.number) {
            row(out, label, cases);
        }
    }
    let all: Vec<&CaseResult> = run.cases.iter().collect();
    row(out, "**all**".to_owned(), &all);
    out.push('\n');
}

/// The differences from the baseline: what fails the run.
fn differences(out: &mut String, diff: &AgentDiff) {
    if diff.changes.is_empty() {
        let _ = writeln!(
            out,
            "No difference from the baseline ({} compared).\n",
            cases(diff.compared)
        );
        return;
    }
    let _ = writeln!(
        out,
        "### Differences from the baseline: {} ({} compared)\n",
        diff.changes.len(),
        cases(diff.compared)
    );
    out.push_str("| case | change | verdicts | title | what happened |\n|---|---|---|---|---|\n");
    for change in diff.changes.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            text(&change.id),
            change.kind.heading(),
            text(&change.verdicts()).replace("-&gt;", "→"),
            cell(&change.title),
            cell(&change.actual)
        );
    }
    more(out, diff.changes.len());
}

/// A list of cases inside a `<details>` block, closed by default.
fn folded_cases(out: &mut String, heading: &str, cases: &[&CaseResult]) {
    if cases.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{heading} ({})</summary>\n",
        cases.len()
    );
    case_table(out, cases);
    out.push_str("</details>\n\n");
}

/// One row per case: its id and verdict, title, the requirements it turned on, and what happened.
fn case_table(out: &mut String, cases: &[&CaseResult]) {
    out.push_str(
        "| case | verdict | title | requirement | what happened |\n|---|---|---|---|---|\n",
    );
    for case in cases.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            text(&case.id),
            case.verdict.autobahn_name(),
            cell(&case.title),
            requirement(case),
            cell(&case.actual)
        );
    }
    more(out, cases.len());
}

/// The requirement of a case's verdict: the ids it broke (else the ids it checks), its RFC section,
/// and the sentence.
fn requirement(case: &CaseResult) -> String {
    let ids = if case.broken.is_empty() {
        &case.requirements
    } else {
        &case.broken
    };
    let ids: Vec<String> = ids.iter().map(|id| format!("`{}`", text(id))).collect();
    let mut parts = Vec::new();
    if !ids.is_empty() {
        parts.push(ids.join(" "));
    }
    if !case.rfc.is_empty() {
        parts.push(text(&case.rfc));
    }
    if !case.requirement.is_empty() {
        parts.push(format!("“{}”", cell(&case.requirement)));
    }
    parts.join(" ")
}

/// The line under a list cut to [`MAX_ROWS`].
fn more(out: &mut String, total: usize) {
    if total > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n… and {} more: see the report (index.html).",
            total - MAX_ROWS
        );
    }
    out.push('\n');
}

/// `1 case`, `2 cases`.
fn cases(n: usize) -> String {
    if n == 1 {
        "1 case".to_owned()
    } else {
        format!("{n} cases")
    }
}

/// A table cell: one line, at most [`MAX_CELL`] characters, escaped.
fn cell(value: &str) -> String {
    let one_line = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX_CELL {
        text(&one_line)
    } else {
        let cut: String = one_line.chars().take(MAX_CELL).collect();
        format!("{}…", text(&cut))
    }
}

/// Text that Markdown and GitHub's HTML sanitizer show as it is: `|` would end a table cell, `<`
/// and `&` could start markup, `` ` ``, `*`, `_`, `[` and `\` could start Markdown.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '`' | '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        baseline::Baseline,
        fixtures::{case, run},
    };

    #[test]
    fn a_run_shows_its_grade_sections_and_failures_with_their_requirement() {
        let mut failed = case("2.5", Verdict::Fail);
        failed.broken = vec!["6455-5.5-1".into()];
        failed.actual = "answered | with a <pong>".into();
        let results = run(
            "my-server",
            vec![
                case("1.1.1", Verdict::Pass),
                failed,
                case("2.6", Verdict::NonStrict),
            ],
        );
        let summary = render(&[results], None);
        assert!(
            summary.starts_with("## my-server: WebSocket server conformance\n"),
            "{summary}"
        );
        assert!(
            summary.contains("**Grade F** · MUST 2/3 (66.6%)"),
            "{summary}"
        );
        assert!(
            summary.contains("| 1 Pings and pongs | 1 | 1 | | | | | |\n"),
            "{summary}"
        );
        assert!(
            summary.contains("| **all** | 3 | 1 | 1 | | | 1 | |\n"),
            "{summary}"
        );
        assert!(summary.contains("### Failed (1)\n"), "{summary}");
        assert!(
            summary.contains(
                "| 2.5 | FAILED | Ping with a 126-byte payload | `6455-5.5-1` RFC 6455 §5.5 “All control frames MUST have a payload length of 125 bytes or less” | answered \\| with a &lt;pong&gt; |"
            ),
            "{summary}"
        );
        assert!(
            summary.contains("<details><summary>NON-STRICT (a SHOULD not met) (1)</summary>"),
            "{summary}"
        );
    }

    #[test]
    fn with_a_baseline_the_differences_come_first_and_expected_failures_fold() {
        let before = run(
            "my-server",
            vec![case("1.1.1", Verdict::Pass), case("2.5", Verdict::Fail)],
        );
        let baseline = Baseline::of_runs(&[before]);
        let now = run(
            "my-server",
            vec![case("1.1.1", Verdict::Fail), case("2.5", Verdict::Fail)],
        );
        let diff = baseline.diff(std::slice::from_ref(&now));
        let summary = render(std::slice::from_ref(&now), Some(&diff));
        let differences = summary
            .find("### Differences from the baseline: 1 (2 cases compared)")
            .expect(&summary);
        let expected = summary
            .find("<details><summary>Failed, as the baseline expects (1)</summary>")
            .expect(&summary);
        assert!(differences < expected, "{summary}");
        assert!(
            summary.contains("| 1.1.1 | newly failing | OK → FAILED |"),
            "{summary}"
        );
        assert!(!summary.contains("### Failed"), "{summary}");

        let same = baseline.diff(&[run("my-server", vec![case("1.1.1", Verdict::Pass)])]);
        assert!(
            render(
                &[run("my-server", vec![case("1.1.1", Verdict::Pass)])],
                Some(&same)
            )
            .contains("No difference from the baseline (1 case compared).")
        );
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let cases = (0..MAX_ROWS + 7)
            .map(|n| case(&format!("2.{n}"), Verdict::Fail))
            .collect();
        let summary = render(&[run("many", cases)], None);
        assert_eq!(summary.matches("| FAILED | Ping").count(), MAX_ROWS);
        assert!(
            summary.contains("… and 7 more: see the report (index.html)."),
            "{summary}"
        );
    }

    #[test]
    fn markup_in_texts_stays_text() {
        assert_eq!(
            text("a|b <i>*x*</i> & `c`"),
            "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt; &amp; \\`c\\`"
        );
        assert_eq!(cell("two\nlines"), "two lines");
        assert_eq!(
            cell(&"x".repeat(MAX_CELL + 5)).chars().count(),
            MAX_CELL + 1
        );
    }
}
