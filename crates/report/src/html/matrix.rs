//! The matrix: a row per case and a column per agent, coloured by verdict. Rows that need attention
//! come first (an agent FAILED or erred, then NON-STRICT), each cell links to that agent's result in
//! the case details, and the page's script filters rows by section, verdict, agent and text. It
//! scrolls in its own box, the header row and the id column sticky.

use maud::{Markup, html};
use wsspec_suite::results::Verdict;

use super::{Report, Row, agent_label, result_anchor, short};

/// The matrix with its filter bar.
pub(super) fn matrix(report: &Report) -> Markup {
    let groups: [(u8, &str); 3] = [
        (0, "FAILED or ERROR on at least one agent"),
        (1, "NON-STRICT on at least one agent"),
        (2, "Everything else"),
    ];
    let several = report.runs.len() > 1;
    html! {
        section #matrix {
            h2 { "Matrix" }
            form.filters #filters onsubmit="return false" {
                label { "Section "
                    select #f-section {
                        option value="" { "All sections" }
                        @for (number, title) in report.sections() {
                            option value=(number) { (number) " " (title) }
                        }
                    }
                }
                label { "Verdict "
                    select #f-verdict {
                        option value="" { "Any verdict" }
                        option value="problems" { "Problems: FAILED, ERROR, NON-STRICT" }
                        @for verdict in Verdict::ALL { option value=(verdict.name()) { (verdict.autobahn_name()) } }
                    }
                }
                @if several {
                    label { "Agent "
                        select #f-agent {
                            option value="" { "All agents" }
                            @for (index, run) in report.runs.iter().enumerate() {
                                option value=(index) { (run.agent) }
                            }
                        }
                    }
                    label.check { input #f-differ type="checkbox"; " Only where agents differ" }
                }
                label.grow { input #f-text type="search" placeholder="Filter by id or title"; }
                span.shown #f-count { (report.rows.len()) " cases" }
            }
            div.legend {
                @for verdict in Verdict::ALL {
                    span { span class={"cell-demo v-" (verdict.name())} { (short(verdict)) } " " (verdict.autobahn_name()) }
                }
                span { span.cell-demo.v-none { "·" } " not run" }
            }
            div.matrix-wrap {
                table.matrix #matrix-table {
                    thead {
                        tr {
                            th.id { "Case" }
                            th.title { "Title" }
                            th.lvl { "Level" }
                            @for (index, run) in report.runs.iter().enumerate() {
                                th.agent data-col=(index) data-agent=(run.agent) title=(run.target.url) { (agent_label(run)) }
                            }
                        }
                    }
                    @for (attention, heading) in groups {
                        @let rows: Vec<&Row> = report.rows.iter().filter(|row| row.attention() == attention).collect();
                        @if !rows.is_empty() {
                            tbody data-group=(attention) {
                                tr.group { td colspan=(3 + report.runs.len()) { span.group-label { (heading) " " span.n { "(" (rows.len()) ")" } } } }
                                @for row in rows { (matrix_row(report, row)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn matrix_row(report: &Report, row: &Row) -> Markup {
    let search = format!("{} {}", row.id, row.first.title).to_lowercase();
    html! {
        tr data-case=(row.id) data-section=(row.section) data-differs=[row.differs().then_some("1")] data-search=(search) {
            td.id { a href={"#case-" (row.id)} { (row.id) } }
            td.title title=(row.first.title) { (row.first.title) }
            td.lvl { (row.first.level.name().to_uppercase()) }
            // Kept short, as there are agents × cases of them: the colour comes from `data-verdict`,
            // the column from the cell's place, and the tooltip from the script.
            @for (index, result) in row.results.iter().enumerate() {
                @let agent = &report.runs[index].agent;
                @match result {
                    Some(case) => {
                        td data-agent=(agent) data-case=(row.id) data-verdict=(case.verdict.name()) {
                            a href={"#" (result_anchor(index, row.id))} { (short(case.verdict)) }
                        }
                    }
                    None => {
                        td data-agent=(agent) data-case=(row.id) data-verdict="none" title="not run" { "·" }
                    }
                }
            }
        }
    }
}
