//! The terminal summary: verdict counts per section, then every failure with what was expected and what
//! happened. It renders to a `String`; the CLI decides where it goes.

use comfy_table::{
    Cell, CellAlignment, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};
use wsspec_suite::results::{CaseResult, RunResults, Tally, Verdict};

use crate::score::Score;

/// Rendering options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Use colours.
    pub color: bool,
    /// Terminal width in columns, if known.
    pub width: Option<u16>,
}

fn color_of(verdict: Verdict) -> Color {
    match verdict {
        Verdict::Pass => Color::Green,
        Verdict::NonStrict => Color::Yellow,
        Verdict::Informational | Verdict::Unimplemented => Color::Blue,
        Verdict::Fail | Verdict::Error => Color::Red,
    }
}

/// The whole summary: the table, the failures, and a closing line.
pub fn summary(results: &RunResults, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&section_table(results, style).to_string());
    out.push('\n');
    if results.cases.iter().any(|c| c.throughput.is_some()) {
        out.push('\n');
        out.push_str(&performance_table(results, style).to_string());
        out.push('\n');
    }
    let problems: Vec<&CaseResult> = results
        .cases
        .iter()
        .filter(|c| c.verdict.is_failure(results.strict) || c.verdict == Verdict::NonStrict)
        .collect();
    if !problems.is_empty() {
        out.push('\n');
        out.push_str(&problem_table(&problems, style).to_string());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&score_line(results));
    out.push('\n');
    out.push_str(&closing_line(results));
    out.push('\n');
    out
}

fn new_table(style: Style) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = style.width {
        table.set_width(width);
    }
    if !style.color {
        table.force_no_tty();
    }
    table
}

fn count_cell(count: usize, verdict: Verdict, style: Style) -> Cell {
    let cell = Cell::new(count).set_alignment(CellAlignment::Right);
    if style.color && count > 0 {
        cell.fg(color_of(verdict))
    } else {
        cell
    }
}

/// Counts per top-level section.
fn section_table(results: &RunResults, style: Style) -> Table {
    let mut table = new_table(style);
    let mut header = vec![Cell::new("section"), Cell::new("cases")];
    header.extend(Verdict::ALL.iter().map(|v| Cell::new(v.autobahn_name())));
    table.set_header(header);
    let sections = results.by_section();
    let row = |label: String, cases: &[&CaseResult]| {
        let tally = Tally::of(cases.iter().copied());
        let mut row = vec![
            Cell::new(label),
            Cell::new(tally.total()).set_alignment(CellAlignment::Right),
        ];
        row.extend(
            Verdict::ALL
                .iter()
                .map(|v| count_cell(tally.get(*v), *v, style)),
        );
        row
    };
    for (section, cases) in &sections {
        table.add_row(row(section.to_string(), cases));
    }
    let all: Vec<&CaseResult> = results.cases.iter().collect();
    table.add_row(row("all".into(), &all));
    table
}

/// One row per performance case, with its throughput.
fn performance_table(results: &RunResults, style: Style) -> Table {
    let mut table = new_table(style);
    table.set_header(vec!["case", "title", "verdict", "time", "MB/s", "msgs/s"]);
    for case in &results.cases {
        let Some(t) = case.throughput else { continue };
        let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
        table.add_row(vec![
            Cell::new(&case.id),
            Cell::new(shorten(&case.title, 60)),
            Cell::new(case.verdict.autobahn_name()),
            right(format!("{:.0} ms", t.seconds * 1000.0)),
            right(format!("{:.1}", t.mb_per_s())),
            right(format!("{:.0}", t.messages_per_s())),
        ]);
    }
    table
}

/// One row per failed or non-strict case.
fn problem_table(problems: &[&CaseResult], style: Style) -> Table {
    let mut table = new_table(style);
    table.set_header(vec!["case", "verdict", "expected", "actual"]);
    for case in problems {
        let verdict = Cell::new(format!(
            "{}\n{}",
            case.verdict.autobahn_name(),
            case.behavior_close.autobahn_name()
        ));
        let verdict = if style.color {
            verdict.fg(color_of(case.verdict))
        } else {
            verdict
        };
        let mut actual = shorten(&case.actual, 300);
        for note in &case.notes {
            actual.push_str("\nnote: ");
            actual.push_str(&shorten(note, 200));
        }
        table.add_row(vec![
            Cell::new(format!("{}\n{}", case.id, case.rfc)),
            verdict,
            Cell::new(shorten(&case.expected, 200)),
            Cell::new(actual),
        ]);
    }
    table
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// `score: A+ (MUST 64/64 (100%), SHOULD none)`: the grade and the scores, by [`crate::score::RULE`].
pub fn score_line(results: &RunResults) -> String {
    format!("score: {}", Score::of(&results.cases).summary())
}

/// `64 cases in 1.2 s against ws://…: 63 passed, 1 failed.`
pub fn closing_line(results: &RunResults) -> String {
    let tally = Tally::of(&results.cases);
    let mut parts = vec![format!("{} passed", tally.get(Verdict::Pass))];
    for (verdict, word) in [
        (Verdict::NonStrict, "non-strict"),
        (Verdict::Informational, "informational"),
        (Verdict::Unimplemented, "unimplemented"),
        (Verdict::Fail, "failed"),
        (Verdict::Error, "errors"),
    ] {
        let n = tally.get(verdict);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let incomplete = if results.complete {
        String::new()
    } else {
        format!(
            " Incomplete ({}): {} of the {} selected cases did not finish.",
            results.stopped.as_deref().unwrap_or("interrupted"),
            results.not_run.len(),
            tally.total() + results.not_run.len()
        )
    };
    let shard = match results.selection.shard {
        Some(shard) => format!(" This was shard {shard} of the selected cases."),
        None => String::new(),
    };
    format!(
        "{} {} in {:.2} s against {} ({}): {}.{incomplete}{shard}",
        tally.total(),
        if tally.total() == 1 { "case" } else { "cases" },
        results.duration_ms as f64 / 1000.0,
        results.target.url,
        results.agent,
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};

    #[test]
    fn summary_counts_and_lists_failures() {
        let results = run(
            "echo",
            vec![
                case("1.1.1", Verdict::Pass),
                case("2.5", Verdict::Fail),
                case("2.6", Verdict::Pass),
            ],
        );
        let text = summary(&results, Style::default());
        assert!(text.contains("2.5"), "{text}");
        assert!(!text.contains("1.1.1"), "{text}");
        assert!(
            text.contains("\nscore: F (MUST 2/3 (66.6%), SHOULD none)\n"),
            "{text}"
        );
        assert!(
            text.ends_with("3 cases in 1.50 s against ws://x (echo): 2 passed, 1 failed.\n"),
            "{text}"
        );
        let interrupted = RunResults {
            complete: false,
            not_run: vec!["9.1.1".into(), "9.1.2".into()],
            ..results.clone()
        };
        let sharded = RunResults {
            selection: wsspec_suite::results::SelectionInfo {
                shard: Some(wsspec_suite::select::Shard { index: 2, count: 3 }),
                ..Default::default()
            },
            ..results.clone()
        };
        assert!(
            closing_line(&sharded).ends_with("1 failed. This was shard 2/3 of the selected cases."),
            "{}",
            closing_line(&sharded)
        );
        let text = summary(&interrupted, Style::default());
        assert!(
            text.ends_with(
                "2 passed, 1 failed. Incomplete (interrupted): 2 of the 5 selected cases did not finish.\n"
            ),
            "{text}"
        );
    }
}
