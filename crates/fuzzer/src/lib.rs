//! wsspec-fuzzer: the network fuzzer behind `wsspec fuzz`, with RFC 6455 as its oracle.
//!
//! [`fuzz`] generates [`Scenario`]s from a seed ([`scenario`]), turns each into a [`Case`] of the
//! case language, and runs it against the [`Testee`]. A server is run with the runner's
//! [`run_server_case`], so every check the scripted cases make applies: exact echoes, pongs, close
//! codes, violations that must fail the connection, the opening handshake, and a fresh handshake
//! after each case that proves the target still lives. A client ([`client`]) connects once per
//! scenario to wsspec's listener and the scenario runs as a client case
//! ([`wsspec_runner::drive::run_client_case`]): its request is checked, its frames must be masked,
//! broken 101 responses and masked frames from the server must make it fail the connection. A
//! client that never connects is not a finding: before the first scenario the fuzzer stops with
//! the reason ([`StopReason::NoClient`]), and later it is a harness error, unless the client no
//! longer connects at all, which stops the run ([`StopReason::TargetDown`]).
//! A case that FAILs is a finding. It is first checked against the findings so far (a failing
//! scenario that contains a known finding's shape adds nothing), then re-run to see that it fails
//! again, then minimized ([`minimize`]) by re-running ever smaller scenarios while they fail the
//! same way. The minimized case goes to the [`FuzzObserver`], which saves it with
//! [`wsspec_suite::write_file`]; `wsspec server URL --cases-dir DIR` (or `wsspec client --cases-dir
//! DIR` for a client's findings, whose cases have `roles = ["client"]`) replays it.
//!
//! NON-STRICT verdicts (a SHOULD broken) are counted, not reported as findings. The fuzzer never
//! prints: progress is read from a shared [`Progress`], findings arrive through the observer.

pub mod client;
pub mod minimize;
pub mod scenario;

mod investigate;
mod run;

use investigate::{alive, investigate, name_finding};
use run::{ScenarioRun, case_options, run_scenario};

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream::FuturesUnordered};
use wsspec_runner::{
    CaseSettings, Target,
    drive::{run_server_case, upgrades},
};
use wsspec_suite::{
    Case, Role,
    results::{CaseResult, CloseBehavior, Verdict},
};

pub use client::{ClientLauncher, ClientTestee};
pub use scenario::{CaseOptions, Scenario};

/// What is fuzzed.
#[derive(Clone)]
pub enum Testee {
    /// A server: wsspec connects to it.
    Server(Target),
    /// A client: it connects to wsspec, once per scenario.
    Client(Arc<ClientTestee>),
}

impl Testee {
    /// The role the target is tested in.
    pub fn role(&self) -> Role {
        match self {
            Testee::Server(_) => Role::Server,
            Testee::Client(_) => Role::Client,
        }
    }

    /// Runs one case against the target. A client that never connects gives a harness error
    /// (ERROR, never blamed on the target) that says why.
    async fn run(&self, case: &Case, settings: &CaseSettings) -> CaseResult {
        match self {
            Testee::Server(target) => run_server_case(case, target, settings, Instant::now()).await,
            Testee::Client(client) => match client.run_case(case, settings).await {
                Ok(result) => result,
                Err(reason) => wsspec_runner::drive::harness_error(
                    case,
                    reason,
                    Duration::ZERO,
                    Duration::ZERO,
                ),
            },
        }
    }

    /// Whether the target can be fuzzed at all: a server upgrades a standard handshake, a client
    /// connects for the empty scenario. `Err`: why not.
    async fn usable(&self, config: &FuzzConfig, seed: u64) -> Result<(), String> {
        match self {
            Testee::Server(target) => upgrades(target, &config.settings, seed).await,
            Testee::Client(client) => {
                let case = Scenario::empty(Role::Client).to_case(&case_options(
                    config,
                    String::new(),
                    None,
                ));
                let mut settings = config.settings.clone();
                settings.seed = seed;
                client.run_case(&case, &settings).await.map(|_| ())
            }
        }
    }

    /// How the fuzzer was started, for a finding's note.
    fn command(&self) -> &'static str {
        match self {
            Testee::Server(_) => "wsspec fuzz",
            Testee::Client(_) => "wsspec fuzz --client",
        }
    }

    /// What the target is, in a note.
    fn noun(&self) -> &'static str {
        match self {
            Testee::Server(_) => "the target",
            Testee::Client(_) => "the client",
        }
    }
}

/// The section that findings are numbered in: `99.1`, `99.2`, ...
pub const FINDINGS_SECTION: u32 = 99;

/// The title of the findings' section in their case files.
pub const FINDINGS_TITLE: &str = "Fuzz findings";

/// How to fuzz.
#[derive(Clone, Debug)]
pub struct FuzzConfig {
    /// The run's seed: scenario `i` is [`Scenario::generate`]`(seed, i)`.
    pub seed: u64,
    /// The index of the first scenario.
    pub first: u64,
    /// Stop after this many scenarios.
    pub runs: Option<u64>,
    /// Stop starting scenarios after this long (a finding being minimized then is finished).
    pub time: Option<Duration>,
    /// How many scenarios run at once.
    pub jobs: usize,
    /// How long each expectation waits for the target, in milliseconds.
    pub wait_ms: u64,
    /// Each scenario's deadline, in milliseconds.
    pub case_timeout_ms: u64,
    /// Stop after this many findings.
    pub max_findings: Option<usize>,
    /// The number of the first finding (`99.N`), e.g. one past those already in the output folder.
    pub first_finding: u32,
    /// Most re-runs spent minimizing one finding.
    pub minimize_runs: usize,
    /// Most time spent minimizing one finding (the last batch of re-runs may end after it).
    pub minimize_time: Duration,
    /// Whether NON-STRICT verdicts (a SHOULD broken) are findings too.
    pub strict: bool,
    /// How the runner connects and closes (TLS, the declared policy and limit, close waits); its
    /// seed is replaced by each scenario's own.
    pub settings: CaseSettings,
}

impl FuzzConfig {
    /// A configuration with the usual bounds and the runner's default settings.
    pub fn new(seed: u64, settings: CaseSettings) -> Self {
        FuzzConfig {
            seed,
            first: 0,
            runs: None,
            time: None,
            jobs: 64,
            wait_ms: 1000,
            case_timeout_ms: 15_000,
            max_findings: None,
            first_finding: 1,
            minimize_runs: 400,
            minimize_time: Duration::from_secs(60),
            strict: false,
            settings,
        }
    }
}

/// Counters that the caller may read while the fuzzer runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Scenarios finished.
    pub scenarios: AtomicU64,
    /// Findings reported.
    pub findings: AtomicU64,
    /// Scenarios that failed like a known finding, not reported again.
    pub duplicates: AtomicU64,
    /// Scenarios judged NON-STRICT.
    pub non_strict: AtomicU64,
    /// Scenarios that ended in a harness error (never blamed on the target).
    pub errors: AtomicU64,
}

impl Progress {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// One finding: a minimized case that fails against the target.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The case, with its id (`99.N`), title and note; ready for [`wsspec_suite::write_file`].
    pub case: Case,
    /// The scenario it was minimized to.
    pub scenario: Scenario,
    /// The result of its last run.
    pub result: CaseResult,
    /// The index of the scenario it was found in.
    pub index: u64,
    /// Steps before minimization.
    pub steps_before: usize,
    /// How far the investigation got.
    pub status: FindingStatus,
}

/// How far a finding was investigated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingStatus {
    /// It failed the same way again and was minimized.
    Minimized,
    /// It did not fail again when re-run twice (the failure may depend on timing): saved as found.
    NotReproduced,
    /// Afterwards the target no longer upgraded a standard handshake: saved as found, and the run
    /// stopped.
    KilledTarget,
    /// The target did not upgrade a standard handshake before any scenario ran.
    NeverUpgraded,
    /// The run was interrupted before it was minimized: saved as found.
    Interrupted,
}

/// Why the fuzzer stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `runs` scenarios ran.
    Runs,
    /// The time was up.
    Time,
    /// `max_findings` were found.
    MaxFindings,
    /// The target stopped accepting connections (a server), or stopped connecting (a client).
    TargetDown,
    /// The target did not upgrade a standard handshake to begin with.
    NoUpgrade,
    /// The client did not connect for the first scenario ([`Summary::stop_detail`] says why).
    NoClient,
    /// The caller's stop future completed (Ctrl-C).
    Interrupted,
}

/// What a fuzzing run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Scenarios that ran to the end.
    pub scenarios: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The findings, in the order they were reported.
    pub findings: Vec<Finding>,
    /// Scenarios judged NON-STRICT.
    pub non_strict: u64,
    /// Failing scenarios that repeated a finding.
    pub duplicates: u64,
    /// Harness errors.
    pub errors: u64,
    /// Why the run ended.
    pub stopped: StopReason,
    /// Why the target could not be used, when that ended the run.
    pub stop_detail: Option<String>,
}

/// Receives what the fuzzer finds as it finds it.
pub trait FuzzObserver: Send + Sync {
    /// A new finding, minimized.
    fn found(&self, _finding: &Finding) {}
    /// A scenario judged NON-STRICT (a SHOULD broken): not a finding.
    fn non_strict(&self, _index: u64, _result: &CaseResult) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl FuzzObserver for Quiet {}

/// How a result failed: the verdicts that minimization must keep.
type Signature = (Verdict, Verdict, CloseBehavior);

fn signature(result: &CaseResult) -> Signature {
    (result.verdict, result.behavior, result.behavior_close)
}

/// Runs scenarios against `testee` until a bound in `config` is reached or `stop` completes.
pub async fn fuzz(
    testee: &Testee,
    config: &FuzzConfig,
    progress: &Progress,
    observer: &dyn FuzzObserver,
    stop: impl Future<Output = ()>,
) -> Summary {
    let started = Instant::now();
    let mut stop = std::pin::pin!(stop);
    let usable = tokio::select! {
        biased;
        () = &mut stop => return summary(progress, started, Vec::new(), StopReason::Interrupted, None),
        usable = testee.usable(config, config.seed) => usable,
    };
    match (usable, testee) {
        (Ok(()), _) => {}
        (Err(reason), Testee::Server(_)) => {
            return never_upgraded(testee, config, progress, observer, started, &reason).await;
        }
        (Err(reason), Testee::Client(_)) => {
            return summary(
                progress,
                started,
                Vec::new(),
                StopReason::NoClient,
                Some(reason),
            );
        }
    }
    let end = config
        .runs
        .map_or(u64::MAX, |runs| config.first.saturating_add(runs));
    let mut next = config.first;
    let mut running = FuturesUnordered::new();
    let mut findings: Vec<Finding> = Vec::new();
    let deadline = config.time.map(|time| started + time);
    let mut stopped = None;
    let mut stop_detail = None;
    loop {
        while stopped.is_none() && running.len() < config.jobs.max(1) && next < end {
            let scenario = Scenario::generate(testee.role(), config.seed, next);
            running.push(ScenarioRun::start(testee, config, next, scenario));
            next += 1;
        }
        if running.is_empty() {
            break;
        }
        let done = tokio::select! {
            biased;
            () = &mut stop => {
                stopped = Some(StopReason::Interrupted);
                break;
            }
            () = sleep_until(deadline) => {
                stopped = Some(StopReason::Time);
                break;
            }
            Some(done) = running.next() => done,
        };
        let (index, scenario, result) = done;
        Progress::add(&progress.scenarios);
        match result.verdict {
            Verdict::Fail => {}
            Verdict::NonStrict if config.strict => {
                Progress::add(&progress.non_strict);
                observer.non_strict(index, &result);
            }
            Verdict::NonStrict => {
                Progress::add(&progress.non_strict);
                observer.non_strict(index, &result);
                continue;
            }
            Verdict::Error => {
                Progress::add(&progress.errors);
                if let Testee::Client(_) = testee
                    && let Err(reason) = alive(testee, config).await
                {
                    stopped = Some(StopReason::TargetDown);
                    stop_detail = Some(reason);
                    break;
                }
                continue;
            }
            _ => continue,
        }
        if findings
            .iter()
            .any(|finding| scenario.contains_shape(&finding.scenario.shape()))
        {
            Progress::add(&progress.duplicates);
            continue;
        }
        let found = Finding {
            case: scenario.to_case(&case_options(config, String::new(), None)),
            steps_before: scenario.step_count(),
            scenario,
            result,
            index,
            status: FindingStatus::Interrupted,
        };
        let investigation = investigate(testee, config, found.clone(), &findings);
        let finding = tokio::select! {
            biased;
            () = &mut stop => {
                stopped = Some(StopReason::Interrupted);
                Some(found)
            }
            finding = investigation => finding,
        };
        let Some(mut finding) = finding else {
            Progress::add(&progress.duplicates);
            continue;
        };
        let number = config.first_finding + findings.len() as u32;
        name_finding(&mut finding, testee, config, number, None);
        Progress::add(&progress.findings);
        observer.found(&finding);
        let status = finding.status;
        findings.push(finding);
        if status == FindingStatus::Interrupted {
            break;
        }
        if status == FindingStatus::KilledTarget {
            stopped = Some(StopReason::TargetDown);
            break;
        }
        if config.max_findings.is_some_and(|max| findings.len() >= max) {
            stopped = Some(StopReason::MaxFindings);
            break;
        }
    }
    let stopped = stopped.unwrap_or(StopReason::Runs);
    summary(progress, started, findings, stopped, stop_detail)
}

/// The summary of a run, from its counters.
fn summary(
    progress: &Progress,
    started: Instant,
    findings: Vec<Finding>,
    stopped: StopReason,
    stop_detail: Option<String>,
) -> Summary {
    Summary {
        scenarios: Progress::get(&progress.scenarios),
        elapsed: started.elapsed(),
        findings,
        non_strict: Progress::get(&progress.non_strict),
        duplicates: Progress::get(&progress.duplicates),
        errors: Progress::get(&progress.errors),
        stopped,
        stop_detail,
    }
}

/// The one finding of a target that does not upgrade even a standard handshake: every scenario
/// would fail the same way, so the fuzzer stops at once.
async fn never_upgraded(
    testee: &Testee,
    config: &FuzzConfig,
    progress: &Progress,
    observer: &dyn FuzzObserver,
    started: Instant,
    reason: &str,
) -> Summary {
    let scenario = Scenario::empty(testee.role());
    let result = run_scenario(testee, config, config.first, &scenario).await;
    let mut finding = Finding {
        case: scenario.to_case(&case_options(config, String::new(), None)),
        steps_before: scenario.step_count(),
        scenario,
        result,
        index: config.first,
        status: FindingStatus::NeverUpgraded,
    };
    name_finding(
        &mut finding,
        testee,
        config,
        config.first_finding,
        Some(reason),
    );
    Progress::add(&progress.findings);
    observer.found(&finding);
    summary(
        progress,
        started,
        vec![finding],
        StopReason::NoUpgrade,
        None,
    )
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
