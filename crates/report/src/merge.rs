//! Merging runs for `wsspec report`: runs of the same agent in the same role (e.g. shards of one run,
//! or a re-run of some cases) become one, and different agents stay side by side.
//!
//! Within one agent, cases are matched by id and a later file wins over an earlier one; the merged
//! cases are in id order. The merged run is complete only if every part was, strict if any part was,
//! its duration is the sum of the parts', its selection lists every part's patterns, and `excluded`
//! is the largest of the parts' counts.

use std::collections::BTreeMap;

use wsspec_suite::{CaseId, results::RunResults};

/// Merges runs of the same agent and role, keeping agents in the order they first appear.
pub fn merge(runs: Vec<RunResults>) -> Vec<RunResults> {
    let mut merged: Vec<RunResults> = Vec::new();
    for run in runs {
        match merged
            .iter_mut()
            .find(|m| m.agent == run.agent && m.target.role == run.target.role)
        {
            Some(into) => absorb(into, run),
            None => merged.push(run),
        }
    }
    for run in &mut merged {
        sort_cases(run);
    }
    merged
}

/// Adds `later` into `into`; `later`'s cases replace `into`'s cases with the same id.
fn absorb(into: &mut RunResults, later: RunResults) {
    let mut cases: BTreeMap<String, _> = std::mem::take(&mut into.cases)
        .into_iter()
        .map(|case| (case.id.clone(), case))
        .collect();
    cases.extend(later.cases.into_iter().map(|case| (case.id.clone(), case)));
    into.cases = cases.into_values().collect();
    into.tool = later.tool;
    into.duration_ms += later.duration_ms;
    into.strict |= later.strict;
    into.complete &= later.complete;
    into.started = into.started.clone().min(later.started);
    for pattern in later.selection.cases {
        if !into.selection.cases.contains(&pattern) {
            into.selection.cases.push(pattern);
        }
    }
    for pattern in later.selection.exclude {
        if !into.selection.exclude.contains(&pattern) {
            into.selection.exclude.push(pattern);
        }
    }
    into.selection.excluded = into.selection.excluded.max(later.selection.excluded);
}

/// Sorts cases by id, numerically (`1.1.9` before `1.1.10`); ids that are not numbers go last.
fn sort_cases(run: &mut RunResults) {
    run.cases.sort_by_cached_key(|case| {
        CaseId::parse(&case.id)
            .map(|id| id.parts().to_vec())
            .unwrap_or_else(|_| vec![u32::MAX])
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};
    use wsspec_suite::{Role, results::Verdict};

    #[test]
    fn shards_of_one_agent_merge_and_later_files_win() {
        let first = run(
            "ws",
            vec![case("1.1.10", Verdict::Pass), case("2.5", Verdict::Fail)],
        );
        let mut second = run(
            "ws",
            vec![case("2.5", Verdict::Pass), case("1.1.9", Verdict::Pass)],
        );
        second.complete = false;
        let other = run("websockets", vec![case("2.5", Verdict::Fail)]);
        let merged = merge(vec![first, other, second]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].agent, "ws");
        assert_eq!(merged[1].agent, "websockets");
        let ids: Vec<&str> = merged[0].cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["1.1.9", "1.1.10", "2.5"]);
        assert_eq!(
            merged[0].cases[2].verdict,
            Verdict::Pass,
            "the later file wins"
        );
        assert!(!merged[0].complete);
        assert_eq!(merged[0].duration_ms, 3000);
    }

    #[test]
    fn the_same_name_in_two_roles_stays_apart() {
        let server = run("ws", vec![case("1.1.1", Verdict::Pass)]);
        let mut client = run("ws", vec![case("1.1.1", Verdict::Pass)]);
        client.target.role = Role::Client;
        assert_eq!(merge(vec![server, client]).len(), 2);
    }
}
