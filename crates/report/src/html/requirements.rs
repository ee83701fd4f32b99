//! The requirement view: a row per requirement the run's cases check, a column per agent. A cell
//! holds the worst verdict of that agent's cases naming the requirement and links to the case that
//! earned it; the row shows the requirement's keyword and sentence from the registry. Rows with a
//! problem on some agent come first. (Unlike the matrix's, its cells carry no `data-verdict`: the
//! matrix stays the one place scripts read verdicts from.) Results written before cases named their requirements have none,
//! and then the view is left out.

use std::collections::BTreeMap;

use maud::{Markup, html};
use wsspec_suite::{
    requirement::{Registry, Requirement},
    results::{CaseResult, Verdict},
};

use super::{Report, agent_label, result_anchor, short};

/// One requirement across the agents: for each agent, its worst case naming it.
struct RequirementRow<'a> {
    id: &'a str,
    /// The registry's entry, when the id is in this build's registry.
    requirement: Option<&'a Requirement>,
    worst: Vec<Option<&'a CaseResult>>,
}

impl RequirementRow<'_> {
    /// The worst verdict over the agents, for sorting.
    fn worst_verdict(&self) -> Verdict {
        self.worst
            .iter()
            .flatten()
            .map(|case| case.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }
}

/// The requirement section, or nothing when no result names a requirement.
pub(super) fn requirements(report: &Report, registry: &Registry) -> Markup {
    let rows = rows(report, registry);
    if rows.is_empty() {
        return html! {};
    }
    html! {
        section #requirements {
            h2 { "Requirements" }
            p.hint { "Each requirement the cases check, with each agent's worst verdict among its cases; "
                "a cell links to the case that earned it." }
            div.matrix-wrap {
                table.matrix.requirements {
                    thead {
                        tr {
                            th.id { "Requirement" }
                            th.lvl { "Keyword" }
                            th.title { "Sentence" }
                            @for run in report.runs {
                                th.agent title=(run.target.url) { (agent_label(run)) }
                            }
                        }
                    }
                    tbody {
                        @for row in &rows {
                            tr data-requirement=(row.id) {
                                td.id { (row.id) }
                                td.lvl { (row.requirement.map_or("", |r| r.keyword.name())) }
                                @let text = row.requirement.map_or("(not in this build's registry)", |r| r.text.as_str());
                                td.title title=(text) { (text) }
                                @for (index, worst) in row.worst.iter().enumerate() {
                                    @match worst {
                                        Some(case) => {
                                            td class={"cell v-" (case.verdict.name())} {
                                                a href={"#" (result_anchor(index, &case.id))} title={(case.id) ": " (case.verdict.autobahn_name())} {
                                                    (short(case.verdict))
                                                }
                                            }
                                        }
                                        None => { td.cell.v-none title="no case run" { "·" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The rows, worst first, then in registry order (ids the registry lacks last, by id).
fn rows<'a>(report: &Report<'a>, registry: &'a Registry) -> Vec<RequirementRow<'a>> {
    let mut by_id: BTreeMap<&'a str, Vec<Option<&'a CaseResult>>> = BTreeMap::new();
    for (agent, run) in report.runs.iter().enumerate() {
        for case in &run.cases {
            for id in &case.requirements {
                let worst = by_id
                    .entry(id.as_str())
                    .or_insert_with(|| vec![None; report.runs.len()]);
                let slot = &mut worst[agent];
                if slot.is_none_or(|seen| case.verdict > seen.verdict) {
                    *slot = Some(case);
                }
            }
        }
    }
    let order: BTreeMap<&str, usize> = registry
        .iter()
        .enumerate()
        .map(|(index, r)| (r.id.as_str(), index))
        .collect();
    let mut rows: Vec<RequirementRow> = by_id
        .into_iter()
        .map(|(id, worst)| RequirementRow {
            id,
            requirement: registry.get(id),
            worst,
        })
        .collect();
    rows.sort_by_key(|row| {
        (
            std::cmp::Reverse(row.worst_verdict()),
            order.get(row.id).copied().unwrap_or(usize::MAX),
        )
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};

    #[test]
    fn each_agent_shows_its_worst_case_per_requirement() {
        let registry = Registry::builtin().unwrap();
        let a = run(
            "a",
            vec![case("2.4", Verdict::Pass), case("2.5", Verdict::Fail)],
        );
        let b = run("b", vec![case("2.4", Verdict::Pass)]);
        let runs = [a, b];
        let report = Report::new(&runs);
        let rows = rows(&report, &registry);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].worst[0].map(|c| c.id.as_str()), Some("2.5"));
        assert_eq!(rows[0].worst[1].map(|c| c.id.as_str()), Some("2.4"));
        let page = requirements(&report, &registry).into_string();
        assert!(page.contains(r##"<a href="#r0-2.5""##), "{page}");
    }

    #[test]
    fn results_without_requirements_leave_the_view_out() {
        let mut old = case("2.5", Verdict::Pass);
        old.requirements.clear();
        let runs = [run("a", vec![old])];
        let registry = Registry::builtin().unwrap();
        assert!(
            requirements(&Report::new(&runs), &registry)
                .into_string()
                .is_empty()
        );
    }
}
