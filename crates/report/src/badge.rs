//! `badge.svg`: a flat badge in the style of shields.io, for a project's README, showing the grade and
//! the MUST score: `RFC 6455 | A+ · MUST 100%`. It is drawn here, with no fonts or network.
//!
//! Over several agents the badge shows the worst one (lowest grade, then lowest MUST share), so that a
//! badge never claims more than every agent earned.

use std::path::{Path, PathBuf};

use wsspec_suite::results::RunResults;

use crate::{
    json::{WriteError, write_atomically},
    score::{Grade, Score},
};

/// The left half of the badge.
const LABEL: &str = "RFC 6455";
/// Space on each side of a text.
const PADDING: f64 = 6.0;

/// The colour that stands for a grade (shields.io's palette).
pub fn grade_color(grade: Grade) -> &'static str {
    match grade {
        Grade::APlus | Grade::A => "#2e9e44",
        Grade::B => "#7ba61a",
        Grade::C => "#c9a204",
        Grade::D => "#e0782b",
        Grade::F => "#d9453a",
        Grade::Ungraded => "#8a8f98",
    }
}

/// The badge for one or more runs: the score of the worst agent.
pub fn badge(runs: &[RunResults]) -> String {
    let worst = runs.iter().map(|run| Score::of(&run.cases)).max_by(|a, b| {
        a.grade().cmp(&b.grade()).then_with(|| {
            let share = |s: &Score| s.must.fraction().unwrap_or(0.0);
            share(b).total_cmp(&share(a))
        })
    });
    let complete = runs.iter().all(|run| run.complete);
    render(&worst.unwrap_or_default(), complete)
}

/// Writes `badge.svg` for these runs into `dir`, atomically, and returns its path.
pub fn write(dir: &Path, runs: &[RunResults]) -> Result<PathBuf, WriteError> {
    let path = dir.join("badge.svg");
    let svg = badge(runs);
    write_atomically(&path, |file| file.write_all(svg.as_bytes()))?;
    Ok(path)
}

/// The badge for one score.
pub fn render(score: &Score, complete: bool) -> String {
    let grade = score.grade();
    let mut message = match grade {
        Grade::Ungraded => "no MUST cases".to_owned(),
        _ => format!("{} · MUST {}", grade.label(), score.must.percent()),
    };
    if !complete {
        message.push_str(" · incomplete");
    }
    let label_width = (text_width(LABEL) + 2.0 * PADDING).round();
    let message_width = (text_width(&message) + 2.0 * PADDING).round();
    let width = label_width + message_width;
    let color = grade_color(grade);
    let text = |x: f64, content: &str| {
        let length = text_width(content).round();
        format!(
            r##"<text x="{x}" y="15" fill="#010101" fill-opacity=".3" textLength="{length}">{content}</text><text x="{x}" y="14" textLength="{length}">{content}</text>"##,
            content = escape(content)
        )
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{label}: {aria}"><title>{label}: {aria}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{message_width}" height="20" fill="{color}"/><rect width="{width}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="11">{left}{right}</g></svg>
"##,
        label = LABEL,
        aria = escape(&message),
        left = text(label_width / 2.0, LABEL),
        right = text(label_width + message_width / 2.0, &message),
    )
}

/// The width of a text in 11px Verdana, estimated per character; `textLength` then makes every
/// renderer draw it at exactly that width.
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '|' | '\'' => 3.1,
            ' ' | '.' | ',' | '·' | ':' | ';' => 3.9,
            'f' | 't' | 'r' | '(' | ')' | '/' => 4.6,
            'm' | 'w' | 'M' | 'W' | '%' => 10.5,
            '+' | '–' => 8.4,
            c if c.is_ascii_digit() => 7.0,
            c if c.is_ascii_uppercase() => 7.6,
            _ => 6.5,
        })
        .sum()
}

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};
    use wsspec_suite::results::Verdict;

    #[test]
    fn shows_grade_and_must_share_in_the_grade_colour() {
        let svg = badge(&[run("ws", vec![case("1.1.1", Verdict::Pass)])]);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(">A+ · MUST 100%</text>"), "{svg}");
        assert!(svg.contains(grade_color(Grade::APlus)), "{svg}");
    }

    #[test]
    fn several_agents_show_the_worst_and_incomplete_runs_say_so() {
        let good = run("a", vec![case("1.1.1", Verdict::Pass)]);
        let mut bad = run("b", vec![case("1.1.1", Verdict::Fail)]);
        bad.complete = false;
        let svg = badge(&[good, bad]);
        assert!(svg.contains(">F · MUST 0% · incomplete</text>"), "{svg}");
        assert!(svg.contains(grade_color(Grade::F)), "{svg}");
        assert!(badge(&[]).contains("no MUST cases"));
    }
}
