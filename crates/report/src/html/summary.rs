//! The top of the page: the header, the INCOMPLETE banner, a card per agent (grade, scores, verdict
//! counts, what was run) and the score tables per suite section and per RFC 6455 section.

use std::collections::BTreeMap;

use maud::{Markup, html};
use wsspec_suite::results::{RunResults, Tally, Verdict};

use super::{Report, agent_label, duration};
use crate::{
    badge::grade_color,
    score::{self, Score},
};

/// The page header with the navigation.
pub(super) fn header(report: &Report) -> Markup {
    let agents: Vec<&str> = report.runs.iter().map(|run| run.agent.as_str()).collect();
    let started = report.runs.iter().map(|run| run.started.as_str()).min();
    html! {
        header.top {
            div.brand { span.logo { "ws" } span { "wsspec" } }
            div.headline {
                h1 { "WebSocket conformance report" }
                p.meta {
                    (agents.join(" · "))
                    " — " (report.rows.len()) " cases"
                    @if let Some(started) = started { " — started " (started) }
                }
            }
            nav {
                a href="#summary" { "Summary" }
                a href="#scores" { "Scores" }
                a href="#matrix" { "Matrix" }
                @if report.rows.iter().any(|row| row.results.iter().flatten().any(|c| c.throughput.is_some())) {
                    a href="#performance" { "Performance" }
                }
                a href="#cases" { "Cases" }
            }
        }
    }
}

/// A banner for every run that did not finish.
pub(super) fn banners(report: &Report) -> Markup {
    html! {
        @for run in report.runs.iter().filter(|run| !run.complete) {
            div.banner.incomplete role="alert" {
                strong { "INCOMPLETE run" }
                " — " (run.agent) ": " (run.stopped.as_deref().unwrap_or("the run was interrupted"))
                "; this report holds only the " (run.cases.len()) " cases that ran."
                @if !run.not_run.is_empty() { " " (run.not_run.len()) " did not run." }
            }
        }
    }
}

/// A card per agent.
pub(super) fn agent_cards(report: &Report) -> Markup {
    html! {
        section #summary {
            h2 { "Summary" }
            div.cards {
                @for (index, run) in report.runs.iter().enumerate() {
                    (card(index, run))
                }
            }
        }
    }
}

fn card(index: usize, run: &RunResults) -> Markup {
    let score = Score::of(&run.cases);
    let grade = score.grade();
    let tally = Tally::of(&run.cases);
    let selection = &run.selection;
    html! {
        article.card data-agent=(run.agent) {
            div.card-head {
                div.grade style={"background:" (grade_color(grade))} data-grade=(grade.slug())
                    title="Grade (see the rule under the score tables)" { (grade.label()) }
                div.who {
                    h3 { (agent_label(run)) }
                    div.url { (run.target.url) }
                }
            }
            div.scores {
                (score_meter("MUST", &format!("must-{index}"), score.must))
                (score_meter("SHOULD", &format!("should-{index}"), score.should))
            }
            div.stack role="img" aria-label="verdicts" {
                @for verdict in Verdict::ALL {
                    @let n = tally.get(verdict);
                    @if n > 0 {
                        span class={"seg v-" (verdict.name())} style={"flex-grow:" (n)}
                            title={(verdict.autobahn_name()) ": " (n)} {}
                    }
                }
            }
            ul.counts {
                @for verdict in Verdict::ALL {
                    @let n = tally.get(verdict);
                    li.zero[n == 0] {
                        span class={"dot v-" (verdict.name())} {}
                        span.label { (verdict.autobahn_name()) }
                        b id={"count-" (index) "-" (verdict.name())} data-count=(n) { (n) }
                    }
                }
            }
            dl.facts {
                dt { "Cases" } dd id={"total-" (index)} data-count=(tally.total()) { (tally.total()) }
                dt { "Duration" } dd { (duration(run.duration_ms)) }
                dt { "Started" } dd { (run.started) }
                dt { "Selected" } dd {
                    @if selection.cases.is_empty() { "all cases" } @else { code { (selection.cases.join(", ")) } }
                }
                dt { "Excluded" } dd {
                    @if selection.exclude.is_empty() { "nothing" } @else {
                        code { (selection.exclude.join(", ")) } " (" (selection.excluded) " cases)"
                    }
                }
                dt { "Strict" } dd { @if run.strict { "yes: NON-STRICT fails the run" } @else { "no" } }
                dt { "Complete" } dd.incomplete-text[!run.complete] { @if run.complete { "yes" } @else { "no: " (run.stopped.as_deref().unwrap_or("interrupted")) } }
                dt { "Tool" } dd { (run.tool) }
            }
        }
    }
}

fn score_meter(label: &str, id: &str, ratio: score::Ratio) -> Markup {
    let width = ratio.fraction().map_or(0.0, |f| f * 100.0);
    html! {
        div.score {
            div.score-line {
                span.k { (label) }
                span.v.empty[ratio.scored == 0] id=(id) data-met=(ratio.met) data-scored=(ratio.scored) {
                    @if ratio.scored == 0 { "no cases" } @else { (ratio.met) "/" (ratio.scored) }
                }
                span.pct { (ratio.percent()) }
            }
            div.meter { span style={"width:" (format!("{width:.1}")) "%"} {} }
        }
    }
}

/// The score tables: per suite section and per RFC 6455 section, a column per agent.
pub(super) fn score_tables(report: &Report) -> Markup {
    let by_section: Vec<BTreeMap<u32, Score>> = report
        .runs
        .iter()
        .map(|run| {
            score::by_section(run)
                .into_iter()
                .map(|s| (s.number, s.score))
                .collect()
        })
        .collect();
    let by_rfc: Vec<BTreeMap<u32, Score>> = report.runs.iter().map(score::by_rfc_section).collect();
    let mut rfc_sections: Vec<u32> = by_rfc.iter().flat_map(|m| m.keys().copied()).collect();
    rfc_sections.sort_unstable();
    rfc_sections.dedup();
    let overall: Vec<Score> = report
        .runs
        .iter()
        .map(|run| Score::of(&run.cases))
        .collect();
    let any_should = overall.iter().any(|s| s.should.scored > 0);
    html! {
        section #scores {
            h2 { "Compliance score" }
            div.tables style={"--table-width:" (table_width(report.runs.len())) "px"} {
                div.table-scroll { table.score-table {
                    caption { "By suite section" }
                    thead { tr { th { "Section" } @for run in report.runs { th { (run.agent) } } } }
                    tbody {
                        @for (number, title) in report.sections() {
                            tr {
                                th { span.num { (number) } " " (title) }
                                @for scores in &by_section { (score_cell(scores.get(&number), any_should)) }
                            }
                        }
                    }
                    tfoot { tr { th { "Overall" } @for s in &overall { (score_cell(Some(s), any_should)) } } }
                } }
                div.table-scroll { table.score-table {
                    caption { "By RFC 6455 section cited" }
                    thead { tr { th { "RFC 6455" } @for run in report.runs { th { (run.agent) } } } }
                    tbody {
                        @for number in &rfc_sections {
                            tr {
                                th { span.num { "§" (number) } " " (score::rfc_section_title(*number).unwrap_or_default()) }
                                @for scores in &by_rfc { (score_cell(scores.get(number), any_should)) }
                            }
                        }
                    }
                } }
            }
            p.rule {
                strong { "How the score works. " } (score::RULE)
                " A case that cites several RFC sections counts under each."
                @if !any_should { " This selection has no SHOULD-level cases." }
            }
        }
    }
}

/// About the width in pixels that a score table needs for this many agents: the section column and
/// a column per agent. Two tables sit side by side only when both get that much.
fn table_width(agents: usize) -> usize {
    300 + 120 * agents
}

fn score_cell(score: Option<&Score>, show_should: bool) -> Markup {
    match score {
        Some(score) if score.must.scored + score.should.scored > 0 => {
            let grade = score.grade();
            html! {
                td class={"sc g-" (grade.slug())} {
                    span.g style={"background:" (grade_color(grade))} { (grade.label()) }
                    span.r title="MUST cases met / scored" { (score.must.met) "/" (score.must.scored) }
                    @if show_should && score.should.scored > 0 {
                        span.r.should title="SHOULD cases met / scored" { "S " (score.should.met) "/" (score.should.scored) }
                    }
                }
            }
        }
        _ => html! { td.sc.none { "–" } },
    }
}
