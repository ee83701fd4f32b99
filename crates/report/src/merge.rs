//! Merging runs for `wsspec report`: runs of the same agent in the same role (e.g. shards of one run,
//! or a re-run of some cases) become one, and different agents stay side by side.
//!
//! Within one agent, cases are matched by id and a later file wins over an earlier one; the merged
//! cases are in id order. The merged run is complete only if every part was, strict if any part was,
//! its duration is the sum of the parts', its selection lists every part's patterns, and `excluded`
//! is the largest of the parts' counts.
//!
//! Shards (`--shard K/N`) record which part they are. Merged, they are one run again, with no shard,
//! once all N parts of a split are there; with a part missing, the merge keeps the first part's shard,
//! is incomplete, and [`shard_gaps`] names the missing parts. A run that was not sharded covers every
//! case by itself, so with one, no shard is missing.

use std::collections::{BTreeMap, BTreeSet};

use wsspec_suite::{CaseId, Role, results::RunResults};

/// Shards missing from a merge: an agent's run split N ways, with some parts absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardGap {
    /// The agent.
    pub agent: String,
    /// The role it was tested in.
    pub role: Role,
    /// Into how many parts its run was split.
    pub count: u32,
    /// The parts (from 1) that are missing.
    pub missing: Vec<u32>,
}

/// What parts of one agent's run are there: a whole run, and the shards present per split count.
#[derive(Default)]
struct Parts {
    whole: bool,
    splits: BTreeMap<u32, BTreeSet<u32>>,
}

/// The shards that a merge of `runs` lacks, per agent and role.
pub fn shard_gaps(runs: &[RunResults]) -> Vec<ShardGap> {
    let mut parts: BTreeMap<(&str, bool), Parts> = BTreeMap::new();
    for run in runs {
        let key = (run.agent.as_str(), run.target.role == Role::Server);
        let entry = parts.entry(key).or_default();
        match run.selection.shard {
            Some(shard) => {
                entry
                    .splits
                    .entry(shard.count)
                    .or_default()
                    .insert(shard.index);
            }
            None => entry.whole = true,
        }
    }
    let mut gaps = Vec::new();
    for ((agent, server), Parts { whole, splits }) in parts {
        let covered = whole
            || splits
                .iter()
                .any(|(count, present)| present.len() == *count as usize);
        if covered {
            continue;
        }
        for (count, present) in splits {
            gaps.push(ShardGap {
                agent: agent.to_owned(),
                role: if server { Role::Server } else { Role::Client },
                count,
                missing: (1..=count).filter(|k| !present.contains(k)).collect(),
            });
        }
    }
    gaps
}

/// Merges runs of the same agent and role, keeping agents in the order they first appear.
pub fn merge(runs: Vec<RunResults>) -> Vec<RunResults> {
    let gaps = shard_gaps(&runs);
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
        let gap = gaps
            .iter()
            .any(|gap| gap.agent == run.agent && gap.role == run.target.role);
        if gap {
            run.complete = false;
        } else {
            run.selection.shard = None;
        }
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
    fn shards_merge_into_one_complete_run_only_when_all_are_there() {
        use wsspec_suite::select::Shard;
        let part = |index, id| {
            let mut part = run("ws", vec![case(id, Verdict::Pass)]);
            part.selection.shard = Some(Shard { index, count: 3 });
            part
        };
        let all = merge(vec![part(2, "1.1.2"), part(1, "1.1.1"), part(3, "1.1.3")]);
        assert_eq!(all.len(), 1);
        assert!(all[0].complete);
        assert_eq!(all[0].selection.shard, None);
        assert_eq!(all[0].cases.len(), 3);

        let parts = vec![part(1, "1.1.1"), part(3, "1.1.3")];
        assert_eq!(
            shard_gaps(&parts),
            [ShardGap {
                agent: "ws".into(),
                role: Role::Server,
                count: 3,
                missing: vec![2]
            }]
        );
        let some = merge(parts);
        assert!(!some[0].complete);
        assert_eq!(some[0].selection.shard, Some(Shard { index: 1, count: 3 }));

        // A whole run covers every shard.
        let whole = vec![
            part(1, "1.1.1"),
            run("ws", vec![case("1.1.2", Verdict::Pass)]),
        ];
        assert!(shard_gaps(&whole).is_empty());
        assert!(merge(whole)[0].complete);
    }

    #[test]
    fn the_same_name_in_two_roles_stays_apart() {
        let server = run("ws", vec![case("1.1.1", Verdict::Pass)]);
        let mut client = run("ws", vec![case("1.1.1", Verdict::Pass)]);
        client.target.role = Role::Client;
        assert_eq!(merge(vec![server, client]).len(), 2);
    }
}
