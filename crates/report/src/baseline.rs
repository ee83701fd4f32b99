//! Baselines: the expected verdict of every case, per agent, so that CI fails on a change and on
//! nothing else (`--baseline FILE`, `--update-baseline`).
//!
//! A baseline is read from any of:
//! - wsspec's `results.json` (each case's `verdict`);
//! - an `index.json` in Autobahn's shape, `{agent: {case: {behavior, behaviorClose, ...}}}`, written by
//!   Autobahn or by wsspec. Autobahn's two verdicts become one as wsspec's overall verdict is made: a
//!   `behavior` of OK with a failing `behaviorClose` (FAILED, WRONG CODE, UNCLEAN, FAILED BY CLIENT) is
//!   FAILED; any other `behavior` stands. Other fields (`duration`, `remoteCloseCode`, `reportfile`)
//!   are ignored, so durations never count.
//!
//! `--update-baseline` writes the compact form of that shape, sorted, with no durations:
//! `{agent: {case: {"behavior": "OK", "behaviorClose": "OK"}}}`.
//!
//! Runs are compared with the baseline per agent and case, by verdict. A run's agent is compared with
//! the baseline's agent of the same name; when the baseline and the runs have one agent each, those two
//! are compared whatever their names (a default name such as `127.0.0.1:PORT` changes from run to run).
//! A [`Change`] is one of: newly failing, newly passing, another change of verdict, or a case the
//! baseline does not have. Baseline cases a run did not select (excluded, in another shard, or not in
//! this wsspec) are listed as not run and are not a difference.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    path::Path,
};

use serde::{Deserialize, Serialize};
use wsspec_suite::{
    CaseId,
    results::{CloseBehavior, RunResults, Verdict},
};

use crate::json::{WriteError, read_results, read_text, write_json};

/// The expected verdict of each case, per agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Agent → case id → verdict.
    pub agents: BTreeMap<String, BTreeMap<String, Verdict>>,
}

/// `behavior` in an index.json: Autobahn's names, and wsspec's ERROR.
#[derive(Clone, Copy, Debug, Deserialize)]
enum Behavior {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "ERROR")]
    Error,
}

/// `behaviorClose` in an index.json.
#[derive(Clone, Copy, Debug, Deserialize)]
enum BehaviorClose {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    #[serde(rename = "UNCLEAN")]
    Unclean,
    #[serde(rename = "FAILED BY CLIENT")]
    FailedByClient,
}

/// One case of an index.json, as read.
#[derive(Deserialize)]
struct IndexCase {
    behavior: Behavior,
    #[serde(rename = "behaviorClose", default)]
    behavior_close: Option<BehaviorClose>,
}

impl IndexCase {
    /// The one verdict of Autobahn's two.
    fn verdict(&self) -> Verdict {
        let verdict = match self.behavior {
            Behavior::Ok => Verdict::Pass,
            Behavior::NonStrict => Verdict::NonStrict,
            Behavior::Informational => Verdict::Informational,
            Behavior::Unimplemented => Verdict::Unimplemented,
            Behavior::Failed => Verdict::Fail,
            Behavior::Error => Verdict::Error,
        };
        let close_failed = matches!(
            self.behavior_close,
            Some(
                BehaviorClose::Failed
                    | BehaviorClose::WrongCode
                    | BehaviorClose::Unclean
                    | BehaviorClose::FailedByClient
            )
        );
        if verdict == Verdict::Pass && close_failed {
            Verdict::Fail
        } else {
            verdict
        }
    }
}

/// One case as `--update-baseline` writes it.
#[derive(Serialize)]
struct WrittenCase {
    behavior: &'static str,
    #[serde(rename = "behaviorClose")]
    behavior_close: &'static str,
}

impl Baseline {
    /// Reads a baseline from a `results.json` or an `index.json`; errors name the file, and the line
    /// and key where there are some.
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = read_text(path)
            .map_err(|err| format!("{}: cannot read the baseline: {err}", path.display()))?;
        // A results.json says which schema it is; an index.json has agents at the top.
        #[derive(Deserialize)]
        struct Probe {
            schema: Option<serde_json::Value>,
        }
        let probe: Option<Probe> = serde_json::from_str(&text).ok();
        if probe.is_some_and(|probe| probe.schema.is_some()) {
            let run = read_results(path)?;
            return Ok(Baseline::of_runs(std::slice::from_ref(&run)));
        }
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        let index: BTreeMap<String, BTreeMap<String, IndexCase>> =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
                let key = err.path().to_string();
                let inner = err.into_inner();
                format!(
                    "{}:{}: {key}: {inner} (a baseline is a results.json or an index.json: {{agent: {{case: {{behavior, behaviorClose}}}}}})",
                    path.display(),
                    inner.line()
                )
            })?;
        Ok(Baseline {
            agents: index
                .into_iter()
                .map(|(agent, cases)| {
                    let cases = cases
                        .into_iter()
                        .map(|(id, case)| (id, case.verdict()))
                        .collect();
                    (agent, cases)
                })
                .collect(),
        })
    }

    /// The baseline that these runs match exactly.
    pub fn of_runs(runs: &[RunResults]) -> Baseline {
        let mut baseline = Baseline::default();
        for run in runs {
            let cases = baseline.agents.entry(run.agent.clone()).or_default();
            cases.extend(run.cases.iter().map(|case| (case.id.clone(), case.verdict)));
        }
        baseline
    }

    /// This baseline brought up to date with `runs`: each run's cases replace its agent's entries
    /// (under the run's agent name), and entries for cases the runs did not select are kept, so that
    /// updating from a shard or a partial selection keeps the rest.
    pub fn updated(&self, runs: &[RunResults]) -> Baseline {
        let mut updated = self.clone();
        for run in runs {
            let mut cases = match self.agent_for(&run.agent, runs.len()) {
                Some(old) => updated.agents.remove(old).unwrap_or_default(),
                None => BTreeMap::new(),
            };
            cases.extend(run.cases.iter().map(|case| (case.id.clone(), case.verdict)));
            updated.agents.insert(run.agent.clone(), cases);
        }
        updated
    }

    /// Writes the baseline as a compact index.json (see the module documentation).
    pub fn write(&self, path: &Path) -> Result<(), WriteError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| WriteError {
                path: dir.to_owned(),
                source,
            })?;
        }
        let shape: BTreeMap<&str, BTreeMap<&str, WrittenCase>> = self
            .agents
            .iter()
            .map(|(agent, cases)| {
                let cases = cases
                    .iter()
                    .map(|(id, verdict)| {
                        let case = WrittenCase {
                            behavior: verdict.autobahn_name(),
                            behavior_close: close_of(*verdict).autobahn_name(),
                        };
                        (id.as_str(), case)
                    })
                    .collect();
                (agent.as_str(), cases)
            })
            .collect();
        write_json(path, &shape)
    }

    /// The baseline agent that the run of `agent` is compared with (`runs`: how many runs there are).
    fn agent_for(&self, agent: &str, runs: usize) -> Option<&str> {
        if let Some((name, _)) = self.agents.get_key_value(agent) {
            return Some(name);
        }
        match (self.agents.keys().next(), self.agents.len(), runs) {
            (Some(only), 1, 1) => Some(only),
            _ => None,
        }
    }

    /// Compares runs with this baseline.
    pub fn diff(&self, runs: &[RunResults]) -> BaselineDiff {
        let mut compared_agents = BTreeSet::new();
        let agents = runs
            .iter()
            .map(|run| {
                let baseline_agent = self.agent_for(&run.agent, runs.len());
                compared_agents.extend(baseline_agent);
                let expected = baseline_agent.and_then(|name| self.agents.get(name));
                agent_diff(run, baseline_agent, expected)
            })
            .collect();
        BaselineDiff {
            agents,
            missing_agents: self
                .agents
                .keys()
                .filter(|name| !compared_agents.contains(name.as_str()))
                .cloned()
                .collect(),
        }
    }
}

/// The close verdict written beside an overall verdict: the close cannot be better than the whole.
fn close_of(verdict: Verdict) -> CloseBehavior {
    match verdict {
        Verdict::Fail => CloseBehavior::Failed,
        Verdict::Informational => CloseBehavior::Informational,
        _ => CloseBehavior::Ok,
    }
}

fn agent_diff(
    run: &RunResults,
    baseline_agent: Option<&str>,
    expected: Option<&BTreeMap<String, Verdict>>,
) -> AgentDiff {
    let empty = BTreeMap::new();
    let expected = expected.unwrap_or(&empty);
    let mut changes = Vec::new();
    let mut compared = 0;
    for case in &run.cases {
        let was = expected.get(&case.id).copied();
        let failing = |verdict: Verdict| verdict.is_failure(run.strict);
        let kind = match was {
            None => ChangeKind::New,
            Some(was) if was == case.verdict => {
                compared += 1;
                continue;
            }
            Some(was) if !failing(was) && failing(case.verdict) => ChangeKind::NewlyFailing,
            Some(was) if failing(was) && !failing(case.verdict) => ChangeKind::NewlyPassing,
            Some(_) => ChangeKind::Changed,
        };
        if was.is_some() {
            compared += 1;
        }
        changes.push(Change {
            kind,
            id: case.id.clone(),
            title: case.title.clone(),
            was,
            now: case.verdict,
            actual: case.actual.clone(),
        });
    }
    let ran: BTreeSet<&str> = run.cases.iter().map(|case| case.id.as_str()).collect();
    let mut not_run: Vec<String> = expected
        .keys()
        .filter(|id| !ran.contains(id.as_str()))
        .cloned()
        .collect();
    sort_ids(&mut not_run);
    changes.sort_by_cached_key(|change| (change.kind, id_key(&change.id)));
    AgentDiff {
        agent: run.agent.clone(),
        baseline_agent: baseline_agent.map(str::to_owned),
        compared,
        changes,
        not_run,
    }
}

fn id_key(id: &str) -> Vec<u32> {
    CaseId::parse(id)
        .map(|id| id.parts().to_vec())
        .unwrap_or_else(|_| vec![u32::MAX])
}

fn sort_ids(ids: &mut [String]) {
    ids.sort_by_cached_key(|id| id_key(id));
}

/// What kind of difference a case shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// It passed in the baseline and fails now.
    NewlyFailing,
    /// It failed in the baseline and passes now.
    NewlyPassing,
    /// Another change of verdict (e.g. OK to NON-STRICT without `--strict`).
    Changed,
    /// The baseline has no entry for it.
    New,
}

impl ChangeKind {
    /// The heading of this kind in the diff.
    pub fn heading(self) -> &'static str {
        match self {
            ChangeKind::NewlyFailing => "newly failing",
            ChangeKind::NewlyPassing => "newly passing",
            ChangeKind::Changed => "changed",
            ChangeKind::New => "new (not in the baseline)",
        }
    }
}

/// One case whose verdict differs from the baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What kind of difference.
    pub kind: ChangeKind,
    /// The case id.
    pub id: String,
    /// The case title.
    pub title: String,
    /// The baseline's verdict (None: the baseline does not have the case).
    pub was: Option<Verdict>,
    /// This run's verdict.
    pub now: Verdict,
    /// What the peer did, in words.
    pub actual: String,
}

impl Change {
    /// `OK -> FAILED`, or `FAILED` for a new case.
    pub fn verdicts(&self) -> String {
        match self.was {
            Some(was) => format!("{was} -> {}", self.now),
            None => self.now.to_string(),
        }
    }
}

/// The differences of one agent's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentDiff {
    /// The run's agent.
    pub agent: String,
    /// The baseline agent it was compared with (None: the baseline has none for it).
    pub baseline_agent: Option<String>,
    /// How many of the run's cases have a baseline entry.
    pub compared: usize,
    /// The differences, grouped by kind, in id order.
    pub changes: Vec<Change>,
    /// Baseline cases this run did not run, in id order.
    pub not_run: Vec<String>,
}

/// The result of comparing runs with a baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaselineDiff {
    /// One per run.
    pub agents: Vec<AgentDiff>,
    /// Baseline agents that no run was compared with.
    pub missing_agents: Vec<String>,
}

impl BaselineDiff {
    /// Whether any case differs from the baseline (the run then exits 1).
    pub fn differs(&self) -> bool {
        self.agents.iter().any(|agent| !agent.changes.is_empty())
    }

    /// Every change, with its agent.
    pub fn changes(&self) -> impl Iterator<Item = (&str, &Change)> {
        self.agents.iter().flat_map(|agent| {
            agent
                .changes
                .iter()
                .map(move |change| (agent.agent.as_str(), change))
        })
    }

    /// The diff as text for the terminal: per agent, a headline, then the changes grouped by kind,
    /// one line each, then what was not compared.
    pub fn render(&self, baseline: &Path) -> String {
        let mut out = String::new();
        let file = baseline.display();
        for agent in &self.agents {
            let against = match &agent.baseline_agent {
                Some(name) if *name != agent.agent => {
                    format!(" (compared with baseline agent {name})")
                }
                Some(_) => String::new(),
                None => " (the baseline has no such agent)".to_owned(),
            };
            let count = agent.changes.len();
            let _ = writeln!(
                out,
                "baseline {file}: {} for {}{against}, {} cases compared",
                match count {
                    0 => "no difference".to_owned(),
                    1 => "1 difference".to_owned(),
                    n => format!("{n} differences"),
                },
                agent.agent,
                agent.compared
            );
            let width = agent
                .changes
                .iter()
                .map(|change| change.id.len())
                .max()
                .unwrap_or(0);
            let verdict_width = agent
                .changes
                .iter()
                .map(|change| change.verdicts().len())
                .max()
                .unwrap_or(0);
            let mut heading = None;
            for change in &agent.changes {
                if heading != Some(change.kind) {
                    heading = Some(change.kind);
                    let n = agent
                        .changes
                        .iter()
                        .filter(|other| other.kind == change.kind)
                        .count();
                    let _ = writeln!(out, "  {} ({n}):", change.kind.heading());
                }
                let _ = writeln!(
                    out,
                    "    {:<width$}  {:<verdict_width$}  {}",
                    change.id,
                    change.verdicts(),
                    change.title
                );
            }
            if !agent.not_run.is_empty() {
                let _ = writeln!(
                    out,
                    "  not run here ({}): {} (not selected, another shard, or not in this wsspec; not a difference)",
                    agent.not_run.len(),
                    abbreviate(&agent.not_run)
                );
            }
        }
        for agent in &self.missing_agents {
            let _ = writeln!(
                out,
                "baseline {file}: agent {agent} was not run here (not a difference)"
            );
        }
        if self.differs() {
            let _ = writeln!(
                out,
                "A regression, or an intended change: to accept it, run again with --update-baseline."
            );
        }
        out
    }
}

/// `a, b, c … z`: the first few ids and the last.
fn abbreviate(ids: &[String]) -> String {
    const SHOWN: usize = 5;
    match ids {
        [] => String::new(),
        _ if ids.len() <= SHOWN + 1 => ids.join(", "),
        _ => format!(
            "{} … {}",
            ids[..SHOWN].join(", "),
            ids.last().map(String::as_str).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wsspec-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn autobahn_index_json_reads_with_both_verdicts() {
        let path = temp("index.json");
        std::fs::write(
            &path,
            r#"{
   "Tungstenite": {
      "1.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 1, "remoteCloseCode": 1000, "reportfile": "x.json"},
      "3.2": {"behavior": "NON-STRICT", "behaviorClose": "OK", "duration": 2, "remoteCloseCode": null, "reportfile": "y.json"},
      "7.1.5": {"behavior": "OK", "behaviorClose": "WRONG CODE", "duration": 2, "remoteCloseCode": 1002, "reportfile": "z.json"},
      "7.13.1": {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL", "duration": 2, "remoteCloseCode": 1002, "reportfile": "z.json"},
      "12.1.1": {"behavior": "UNIMPLEMENTED", "behaviorClose": "OK", "duration": 0, "remoteCloseCode": 1000, "reportfile": "w.json"}
   }
}"#,
        )
        .unwrap();
        let baseline = Baseline::read(&path).unwrap();
        let cases = &baseline.agents["Tungstenite"];
        assert_eq!(cases["1.1.1"], Verdict::Pass);
        assert_eq!(cases["3.2"], Verdict::NonStrict);
        assert_eq!(cases["7.1.5"], Verdict::Fail);
        assert_eq!(cases["7.13.1"], Verdict::Informational);
        assert_eq!(cases["12.1.1"], Verdict::Unimplemented);

        std::fs::write(&path, "{\"a\": {\n \"1.1.1\": {\"behavior\": \"GREAT\"}}}").unwrap();
        let err = Baseline::read(&path).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "{}:2: a.1.1.1.behavior: unknown variant `GREAT`",
                path.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn written_baselines_and_results_json_read_back() {
        let runs = [run(
            "ws",
            vec![
                case("1.1.1", Verdict::Pass),
                case("2.5", Verdict::Fail),
                case("6.4.3", Verdict::NonStrict),
                case("7.13.1", Verdict::Informational),
            ],
        )];
        let baseline = Baseline::of_runs(&runs);
        let path = temp("written.json");
        baseline.write(&path).unwrap();
        assert_eq!(Baseline::read(&path).unwrap(), baseline);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("duration"), "{text}");
        let results = temp("results.json");
        crate::json::write_json(&results, &runs[0]).unwrap();
        assert_eq!(Baseline::read(&results).unwrap(), baseline);
        // A merge's compressed results read as they are.
        let compressed = temp("results.json.gz");
        crate::json::write_json_gz(&compressed, &runs[0]).unwrap();
        assert_eq!(Baseline::read(&compressed).unwrap(), baseline);
    }

    #[test]
    fn the_diff_sorts_changes_by_kind_and_ignores_durations() {
        let before = run(
            "ws",
            vec![
                case("2.5", Verdict::Pass),
                case("3.1", Verdict::Fail),
                case("6.4.1", Verdict::NonStrict),
                case("9.1.1", Verdict::Pass),
            ],
        );
        let baseline = Baseline::of_runs(&[before]);
        let mut now = run(
            "127.0.0.1:4567",
            vec![
                case("2.5", Verdict::Fail),
                case("3.1", Verdict::Pass),
                case("6.4.1", Verdict::Pass),
                case("14.1.1", Verdict::Pass),
            ],
        );
        now.cases[0].duration_ms = 99_999;
        let diff = baseline.diff(std::slice::from_ref(&now));
        assert!(diff.differs());
        let kinds: Vec<(ChangeKind, &str)> = diff
            .changes()
            .map(|(_, change)| (change.kind, change.id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::NewlyFailing, "2.5"),
                (ChangeKind::NewlyPassing, "3.1"),
                (ChangeKind::Changed, "6.4.1"),
                (ChangeKind::New, "14.1.1"),
            ]
        );
        assert_eq!(diff.agents[0].not_run, ["9.1.1"]);
        assert_eq!(diff.agents[0].compared, 3);
        let text = diff.render(Path::new("base.json"));
        assert_eq!(
            text,
            "baseline base.json: 4 differences for 127.0.0.1:4567 (compared with baseline agent ws), 3 cases compared
  newly failing (1):
    2.5     OK -> FAILED      Ping with a 126-byte payload
  newly passing (1):
    3.1     FAILED -> OK      Ping with a 126-byte payload
  changed (1):
    6.4.1   NON-STRICT -> OK  Ping with a 126-byte payload
  new (not in the baseline) (1):
    14.1.1  OK                Ping with a 126-byte payload
  not run here (1): 9.1.1 (not selected, another shard, or not in this wsspec; not a difference)
A regression, or an intended change: to accept it, run again with --update-baseline.
"
        );

        // Only the verdict counts.
        let same = Baseline::of_runs(std::slice::from_ref(&now)).diff(&[now.clone()]);
        assert!(!same.differs());
        assert!(
            same.render(Path::new("b"))
                .starts_with("baseline b: no difference for")
        );
    }

    #[test]
    fn updates_keep_cases_not_run_and_rename_a_lone_agent() {
        let baseline = Baseline::of_runs(&[run(
            "127.0.0.1:1",
            vec![case("1.1.1", Verdict::Pass), case("2.5", Verdict::Pass)],
        )]);
        let shard = run("127.0.0.1:2", vec![case("2.5", Verdict::Fail)]);
        let updated = baseline.updated(&[shard]);
        assert_eq!(updated.agents.len(), 1);
        let cases = &updated.agents["127.0.0.1:2"];
        assert_eq!(cases["1.1.1"], Verdict::Pass);
        assert_eq!(cases["2.5"], Verdict::Fail);
    }

    #[test]
    fn several_agents_match_by_name() {
        let baseline = Baseline::of_runs(&[
            run("a", vec![case("1.1.1", Verdict::Pass)]),
            run("b", vec![case("1.1.1", Verdict::Pass)]),
        ]);
        let diff = baseline.diff(&[
            run("a", vec![case("1.1.1", Verdict::Pass)]),
            run("c", vec![case("1.1.1", Verdict::Pass)]),
        ]);
        assert_eq!(diff.missing_agents, ["b"]);
        assert_eq!(diff.agents[1].baseline_agent, None);
        assert_eq!(diff.agents[1].changes[0].kind, ChangeKind::New);
    }
}
