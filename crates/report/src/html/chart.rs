//! Throughput charts for the performance cases (section 9): an inline SVG bar chart per case group
//! (`9.1`, `9.2` …), a row per case and a bar per agent, so agents compare at a glance. A group of
//! small messages is charted in messages per second, a group of large ones in MB/s.

use maud::{Markup, html};
use wsspec_suite::{CaseId, results::Throughput};

use super::{Report, Row};

/// Series colours, one per agent (Tableau 10); they repeat after ten agents.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];
/// Below this average message size a group is charted in messages per second.
const SMALL_MESSAGE: f64 = 1024.0;

const LABEL_WIDTH: f64 = 150.0;
const PLOT_WIDTH: f64 = 330.0;
const VALUE_WIDTH: f64 = 80.0;
const BAR: f64 = 11.0;
const BAR_GAP: f64 = 2.0;
const ROW_GAP: f64 = 9.0;
const AXIS: f64 = 20.0;

/// The performance section, or nothing when no case measured throughput.
pub(super) fn performance(report: &Report) -> Markup {
    let mut groups: Vec<(String, Vec<&Row>)> = Vec::new();
    for row in &report.rows {
        if !row.results.iter().flatten().any(|c| c.throughput.is_some()) {
            continue;
        }
        let group = CaseId::parse(row.id).map_or_else(|_| row.id.to_owned(), |id| id.group());
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((group, vec![row])),
        }
    }
    if groups.is_empty() {
        return html! {};
    }
    html! {
        section #performance {
            h2 { "Performance" }
            p.muted {
                "How fast each agent echoed, from the first step of a case to the end of its last. "
                "Each case runs alone. Hover a bar for the exact figures."
            }
            @if report.runs.len() > 1 {
                div.chart-legend {
                    @for (index, run) in report.runs.iter().enumerate() {
                        span { span.swatch style={"background:" (color(index))} {} (run.agent) }
                    }
                }
            }
            div.charts {
                @for (group, rows) in &groups { (chart(report, group, rows)) }
            }
        }
    }
}

fn color(agent: usize) -> &'static str {
    PALETTE[agent % PALETTE.len()]
}

/// Which figure a chart shows.
#[derive(Clone, Copy)]
enum Metric {
    MegabytesPerSecond,
    MessagesPerSecond,
}

impl Metric {
    fn of(&self, t: &Throughput) -> f64 {
        match self {
            Metric::MegabytesPerSecond => t.mb_per_s(),
            Metric::MessagesPerSecond => t.messages_per_s(),
        }
    }

    fn unit(&self) -> &'static str {
        match self {
            Metric::MegabytesPerSecond => "MB/s",
            Metric::MessagesPerSecond => "msgs/s",
        }
    }
}

fn chart(report: &Report, group: &str, rows: &[&Row]) -> Markup {
    let figures = || {
        rows.iter()
            .flat_map(|row| row.results.iter().flatten())
            .filter_map(|c| c.throughput)
    };
    let (bytes, messages) = figures().fold((0u64, 0u64), |(b, m), t| (b + t.bytes, m + t.messages));
    let metric = if messages > 0 && (bytes as f64 / messages as f64) < SMALL_MESSAGE {
        Metric::MessagesPerSecond
    } else {
        Metric::MegabytesPerSecond
    };
    let max = figures().map(|t| metric.of(&t)).fold(0.0, f64::max);
    let top = nice_ceiling(max);
    // Five ticks for a scale of 2.5 or 5 × 10^n, four otherwise: the tick labels stay round.
    let mantissa = top / 10f64.powf(top.log10().floor());
    let ticks: u32 = if (mantissa - 2.5).abs() < 1e-9 || (mantissa - 5.0).abs() < 1e-9 {
        5
    } else {
        4
    };
    let titles: Vec<&str> = rows.iter().map(|row| row.first.title.as_str()).collect();
    let (prefix, suffix) = common_ends(&titles);
    let agents = report.runs.len();
    let row_height = agents as f64 * (BAR + BAR_GAP) - BAR_GAP + ROW_GAP;
    let height = AXIS + rows.len() as f64 * row_height + 4.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
    let x = |value: f64| LABEL_WIDTH + value / top * PLOT_WIDTH;
    let first_title = titles.first().copied().unwrap_or_default();
    let heading = match (
        first_title.get(..prefix),
        first_title.get(first_title.len() - suffix..),
    ) {
        _ if rows.len() == 1 => first_title.to_owned(),
        (Some(start), Some(end)) if prefix + suffix > 0 => format!("{start}…{end}"),
        _ => String::new(),
    };
    html! {
        figure.chart data-group=(group) {
            figcaption { b { (group) } " " (heading.trim()) " " span.muted { "(" (metric.unit()) ")" } }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (width) " " (height)} width=(width) height=(height) role="img"
                aria-label={(group) " throughput in " (metric.unit())} {
                @for step in 0..=ticks {
                    @let value = top * f64::from(step) / f64::from(ticks);
                    line.grid x1=(x(value)) x2=(x(value)) y1=(AXIS - 4.0) y2=(height - 2.0) {}
                    text.tick x=(x(value)) y=(AXIS - 8.0) text-anchor="middle" { (compact(value)) }
                }
                @for (n, row) in rows.iter().enumerate() {
                    @let y0 = AXIS + n as f64 * row_height;
                    @let title = row.first.title.as_str();
                    @let label = title.get(prefix..title.len().saturating_sub(suffix)).filter(|l| rows.len() > 1 && !l.trim().is_empty()).unwrap_or(row.id);
                    text.label x=(LABEL_WIDTH - 8.0) y=(y0 + (row_height - ROW_GAP) / 2.0 + 4.0) text-anchor="end" {
                        title { (row.id) " " (title) }
                        (label.trim())
                    }
                    @for (agent, result) in row.results.iter().enumerate() {
                        @let y = y0 + agent as f64 * (BAR + BAR_GAP);
                        @if let Some(throughput) = result.and_then(|c| c.throughput) {
                            @let value = metric.of(&throughput);
                            rect x=(LABEL_WIDTH) y=(y) width=(format!("{:.1}", (x(value) - LABEL_WIDTH).max(1.0))) height=(BAR) rx="2"
                                fill=(color(agent)) data-agent=(report.runs[agent].agent) {
                                title { (report.runs[agent].agent) " · " (row.id) ": " (throughput.to_string()) }
                            }
                            text.value x=(x(value) + 4.0) y=(y + BAR - 2.0) { (compact(value)) }
                        }
                    }
                }
            }
        }
    }
}

/// The smallest 1, 2, 2.5 or 5 × 10^n at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

/// `1234` as `1.2k`, `12.5` as `12.5`, `1500000` as `1.5M`, `1000` as `1k`.
fn compact(value: f64) -> String {
    let (scaled, unit) = if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled >= 100.0 {
        format!("{scaled:.0}")
    } else {
        format!("{scaled:.1}")
    };
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// The byte lengths of the words all titles start with and end with (`Text message of ` and
/// ` in one frame`), so that a chart labels its rows by what differs. A single title has none.
fn common_ends(titles: &[&str]) -> (usize, usize) {
    let Some((first, rest)) = titles.split_first() else {
        return (0, 0);
    };
    if rest.is_empty() {
        return (0, 0);
    }
    let prefix = rest.iter().fold(first.len(), |len, title| {
        first
            .bytes()
            .zip(title.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count()
    });
    let suffix = rest.iter().fold(first.len(), |len, title| {
        first
            .bytes()
            .rev()
            .zip(title.bytes().rev())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count()
    });
    // Only whole words: cut back to a space, and never let the two ends overlap.
    // Cutting just after or before a space (ASCII) always lands on a character boundary.
    let bytes = first.as_bytes();
    let prefix = bytes[..prefix]
        .iter()
        .rposition(|b| *b == b' ')
        .map_or(0, |i| i + 1);
    let suffix = bytes[bytes.len() - suffix..]
        .iter()
        .position(|b| *b == b' ')
        .map_or(0, |i| suffix - i);
    if prefix + suffix > first.len() {
        (prefix, 0)
    } else {
        (prefix, suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_what_differs() {
        let titles = [
            "Text message of 64 KiB in one frame",
            "Text message of 16 MiB in one frame",
        ];
        let (prefix, suffix) = common_ends(&titles);
        assert_eq!(&titles[0][..prefix], "Text message of ");
        assert_eq!(&titles[0][titles[0].len() - suffix..], " in one frame");
        assert_eq!(common_ends(&["only one"]), (0, 0));
    }

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(compact(1234.0), "1.2k");
        assert_eq!(compact(12.25), "12.2");
        assert_eq!(compact(1000.0), "1k");
        assert_eq!(compact(37_500.0), "37.5k");
    }
}
