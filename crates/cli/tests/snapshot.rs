//! The verdict snapshot: every verdict wsspec gives, against every peer it is tested with, compared
//! with a committed file, so that a change of code that changes a verdict cannot go unnoticed.
//!
//! `snapshot/verdicts.txt` holds one line per (role, peer, case): the case's verdict and its close
//! verdict (`behavior_close` in results.json), such as `server mutant-accepts-rsv 3.1 FAILED OK`.
//! The peers are the built-in reference server (every server case), every mutant server
//! ([`Defect::ALL`]), Python `websockets` (with and without permessage-deflate) and Node `ws` as
//! servers; and the built-in reference client, every mutant client ([`ClientDefect::ALL`]), and the
//! `websockets` and `ws` client drivers as clients. Against the mutant servers and the compressing
//! `websockets`, sections 12 and 13 run at 20 messages a case instead of 1000 (the same sizes and
//! parameters, as in `mutants.rs` and `peers.rs`); the costly sections 9, 12 and 13 run against the
//! mutant servers whose defects they are about (see [`skipped_sections`]), and the client that
//! sends unmasked frames, which waits out every case, runs one case or two of each section (and
//! the clients whose opening handshake is wrong, which fail every case alike, two cases). `snapshot/fuzz.txt` holds what `wsspec fuzz`
//! finds for fixed seeds and scenario counts: per run, the number of findings and each finding's
//! verdict and title (which describes the minimized scenario).
//!
//! Run as `cargo test -p wsspec --test snapshot`, it compares and fails with the lines that changed
//! (`server ws 9.3.1: NON-STRICT OK in the snapshot, now FAILED OK`). With
//! `WSSPEC_UPDATE_SNAPSHOT=1` it rewrites both files instead, after the same re-runs (below), so that
//! a verdict flipped by load is not written; a commit that changes them says which verdicts changed
//! and why.
//!
//! Some verdicts depend on timing, and a busy machine (a 2-core CI runner) can flip one. So a mismatch
//! is not final: the mismatching cases of that peer are run again on their own (`--cases IDS --jobs
//! 1`, a fresh peer), up to two more times, and only a case that mismatches every time fails the test;
//! a fuzzer run that mismatches is run again whole, the same way. Cases that matched only on a re-run
//! are printed, so that a flaky case shows in the log.
//!
//! Without the real peers installed (`scripts/install-peers`), their lines are skipped with a note,
//! unless `WSSPEC_REQUIRE_PEERS` is set (as in CI), when that fails the test; the snapshot cannot be
//! updated without them.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

#[path = "support/common.rs"]
mod common;

use std::{collections::BTreeMap, path::Path, process::Command, sync::Mutex, time::Instant};

use common::{Listener, out_dir, root, run_client, run_server, start_peer, wsspec};
use serde_json::Value;
use wsspec_mutants::{ClientDefect, Defect};

/// The committed verdicts, relative to the workspace root.
const VERDICTS: &str = "crates/cli/tests/snapshot/verdicts.txt";
/// The committed fuzzer findings, relative to the workspace root.
const FINDINGS: &str = "crates/cli/tests/snapshot/fuzz.txt";
/// How many times a mismatch is run again before it counts.
const RETRIES: usize = 2;

const PYTHON_WEBSOCKETS: &str = "scripts/.peers/python/websockets";
const NODE_WS: &str = "scripts/peers/node_modules/ws";

/// Something that wsspec tests, in one role.
#[derive(Clone, Copy, Debug)]
enum Subject {
    ReferenceServer,
    MutantServer(Defect),
    /// The correct mutant server under a declared policy it does not keep
    /// ([`common::UNKEPT_POLICY`]): section 14.3 only.
    UnkeptPolicy,
    /// Python `websockets` as a server; `true`: with permessage-deflate (sections 12, 13 and 17 only).
    WebsocketsServer(bool),
    WsServer,
    ReferenceClient,
    MutantClient(ClientDefect),
    /// Python `websockets` as a client; `true`: offering permessage-deflate (sections 12, 13 and 17
    /// only).
    WebsocketsClient(bool),
    WsClient,
}

/// Each case's `VERDICT CLOSE-VERDICT [BROKEN]`, by case id.
type Outcomes = BTreeMap<String, String>;

/// Which of a subject's cases a run takes.
#[derive(Clone, Copy, Debug)]
enum Part<'a> {
    /// Shard K (from 1) of the full run's [`Subject::shards`].
    Shard(usize),
    /// Just these cases, one at a time (`--jobs 1`).
    Only(&'a [String]),
}

/// How many jobs (a subject's shard, a fuzzer run) run at once: enough to overlap the waiting, few
/// enough that a shared 2-core machine does not flip timing-dependent verdicts.
const WORKERS: usize = 4;

/// Runs `work` on every item, [`WORKERS`] at a time, and returns the results in the items' order.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let queue = Mutex::new(items.into_iter().enumerate());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some((index, item)) = next else { break };
                    let result = work(item);
                    done.lock().unwrap().push((index, result));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

/// One job of the run.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// One shard of a subject's full run.
    Cases(Subject, usize),
    Fuzz(FuzzRun),
}

/// What a job gave.
enum Done {
    Cases(Subject, Outcomes),
    Fuzz(FuzzRun, Vec<String>),
}

impl Job {
    fn run(self, scaled: &Path) -> Done {
        let started = Instant::now();
        let (label, done) = match self {
            Job::Cases(subject, shard) => (
                format!("{} {} shard {shard}", subject.role(), subject.peer()),
                Done::Cases(subject, subject.run(scaled, Part::Shard(shard))),
            ),
            Job::Fuzz(run) => (run.label(), Done::Fuzz(run, run.run())),
        };
        eprintln!("{label}: {:.1} s", started.elapsed().as_secs_f64());
        done
    }
}

impl Subject {
    /// Every subject, the slowest first (the order in which they are scheduled).
    fn all() -> Vec<Subject> {
        let mut all = vec![
            Subject::WebsocketsServer(false),
            Subject::WsServer,
            Subject::WebsocketsClient(false),
            Subject::WsClient,
            Subject::WebsocketsServer(true),
            Subject::WebsocketsClient(true),
            Subject::ReferenceServer,
            Subject::ReferenceClient,
        ];
        all.extend(ClientDefect::ALL.map(Subject::MutantClient));
        all.extend(Defect::ALL.map(Subject::MutantServer));
        all.push(Subject::UnkeptPolicy);
        all
    }

    fn role(self) -> &'static str {
        match self {
            Subject::ReferenceServer
            | Subject::MutantServer(_)
            | Subject::UnkeptPolicy
            | Subject::WebsocketsServer(_)
            | Subject::WsServer => "server",
            _ => "client",
        }
    }

    /// The peer's name in the snapshot.
    fn peer(self) -> String {
        match self {
            Subject::ReferenceServer | Subject::ReferenceClient => "reference".to_owned(),
            Subject::MutantServer(defect) => format!("mutant-{defect}"),
            Subject::UnkeptPolicy => "mutant-none-unkept-policy".to_owned(),
            Subject::MutantClient(defect) => format!("mutant-{defect}"),
            Subject::WebsocketsServer(false) | Subject::WebsocketsClient(false) => {
                "websockets".to_owned()
            }
            Subject::WebsocketsServer(true) | Subject::WebsocketsClient(true) => {
                "websockets-deflate".to_owned()
            }
            Subject::WsServer | Subject::WsClient => "ws".to_owned(),
        }
    }

    /// The third-party package this needs, when it needs one.
    fn installed(self) -> Option<&'static str> {
        match self {
            Subject::WebsocketsServer(_) | Subject::WebsocketsClient(_) => Some(PYTHON_WEBSOCKETS),
            Subject::WsServer | Subject::WsClient => Some(NODE_WS),
            _ => None,
        }
    }

    /// Runs the subject's cases and returns their outcomes: `Part::Shard(k)` of
    /// [`Subject::shards`] of the full run, or `Part::Only(ids)`, one at a time.
    fn run(self, scaled: &Path, part: Part<'_>) -> Outcomes {
        let mut name = format!("snapshot-{}-{}", self.role(), self.peer());
        let mut args: Vec<String> = Vec::new();
        let whole = matches!(part, Part::Shard(_));
        match part {
            Part::Shard(shard) if self.shards() > 1 => {
                args.extend(["--shard".to_owned(), format!("{shard}/{}", self.shards())]);
                name.push_str(&format!("-{shard}"));
            }
            Part::Shard(_) => {}
            Part::Only(ids) => {
                args.extend(["--cases", &ids.join(","), "--jobs", "1"].map(str::to_owned));
            }
        }
        let scaled = scaled.to_string_lossy().into_owned();
        let results = match self {
            Subject::ReferenceServer => {
                args.extend(["--cases-dir".to_owned(), scaled]);
                server_results(&name, None, &args)
            }
            Subject::MutantServer(defect) => {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                let addr = runtime.block_on(wsspec_mutants::spawn(defect)).unwrap();
                if whole {
                    // Waiting out a broken server is most of the time here: many connections at once.
                    args.extend(["--jobs".to_owned(), "64".to_owned()]);
                    if defect == Defect::DropsMessages {
                        // It shows only where 500 messages go over one connection: 9.7 and 9.8.
                        args.extend(["--cases".to_owned(), "1.1.1,9.7.1,9.8.1".to_owned()]);
                    } else if defect == Defect::AnswersOutsideTls {
                        // Every answer in the clear fails every case alike: an upgrade, a refusal.
                        args.extend(["--cases".to_owned(), "1.1.1,14.1.1,14.2.1".to_owned()]);
                    } else if let Some(sections) = skipped_sections(defect) {
                        args.extend(["--exclude".to_owned(), sections.to_owned()]);
                    }
                }
                args.extend(["--cases-dir".to_owned(), scaled]);
                let url = wsspec_mutants::url(defect, addr);
                if url.starts_with("wss://") {
                    // Its certificate is self-signed.
                    args.push("--insecure".to_owned());
                }
                server_results(&name, Some(&url), &args)
            }
            Subject::UnkeptPolicy => {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                let addr = runtime
                    .block_on(wsspec_mutants::spawn(Defect::None))
                    .unwrap();
                if whole {
                    args.extend(["--cases".to_owned(), "14.3.*".to_owned()]);
                }
                args.extend(common::UNKEPT_POLICY.map(str::to_owned));
                server_results(&name, Some(&format!("ws://{addr}/")), &args)
            }
            Subject::WebsocketsServer(deflate) => {
                let mut script_args = vec![];
                if deflate {
                    script_args.push("--deflate");
                    args.extend(["--cases-dir".to_owned(), deflate_cases(&scaled)]);
                }
                let (_peer, url) =
                    start_peer("python3", "scripts/peers/websockets_echo.py", &script_args);
                server_results(&name, Some(&url), &args)
            }
            Subject::WsServer => {
                let (_peer, url) = start_peer("node", "scripts/peers/ws_echo.js", &[]);
                server_results(&name, Some(&url), &args)
            }
            Subject::ReferenceClient => {
                args.push("--reference".to_owned());
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (_, results, stderr) = run_client(&name, &args);
                assert!(results.is_object(), "{name}: no results: {stderr}");
                results
            }
            Subject::MutantClient(defect) => {
                if whole && defect == ClientDefect::SendsUnmasked {
                    // Every case waits out its close (2 s) when every frame is refused: one case
                    // or two of each section.
                    args.extend(["--cases".to_owned(), UNMASKED_CASES.to_owned()]);
                }
                if whole && defect == ClientDefect::RepeatsMaskingKey {
                    args.extend(["--cases".to_owned(), REPEATED_KEY_CASES.to_owned()]);
                }
                if whole && defect.bends_the_request() {
                    // A wrong opening handshake fails every case the same way.
                    args.extend(["--cases".to_owned(), BENT_REQUEST_CASES.to_owned()]);
                }
                if let Some(cases) = deflate_client_cases(defect).filter(|_| whole) {
                    args.extend(["--cases".to_owned(), cases.to_owned()]);
                }
                if defect.offers_deflate() {
                    args.extend(["--cases-dir".to_owned(), scaled]);
                }
                self.drive(&name, &args)
            }
            Subject::WebsocketsClient(deflate) => {
                if deflate {
                    args.extend(["--cases-dir".to_owned(), deflate_cases(&scaled)]);
                }
                self.drive(&name, &args)
            }
            Subject::WsClient => self.drive(&name, &args),
        };
        outcomes(&results)
    }

    /// Into how many `--shard`s a full run is split, each its own job (and for a client, its own
    /// listener and driver): the client drivers run one case at a time, and some clients wait out
    /// every case.
    fn shards(self) -> usize {
        match self {
            Subject::MutantClient(defect) if defect.bends_the_request() => 1,
            // Two or three cases.
            Subject::MutantClient(
                ClientDefect::DeflateCompressesUnaccepted
                | ClientDefect::DeflateAcceptsConflictingExtension,
            ) => 1,
            Subject::MutantClient(_) => 4,
            Subject::WebsocketsClient(_) | Subject::WsClient => 2,
            _ => 1,
        }
    }

    /// A `wsspec client` listener and the client's runCase driver; returns the listener's results.
    fn drive(self, name: &str, args: &[String]) -> Value {
        let agent = self.peer();
        let (listener, pem) = match self {
            Subject::MutantClient(defect) if defect.in_tls() => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (listener, pem) = Listener::start_tls(name, &args);
                (listener, Some(pem))
            }
            _ => (Listener::start(name, args), None),
        };
        match self {
            Subject::MutantClient(defect) => {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                let driven = match &pem {
                    Some(pem) => runtime.block_on(wsspec_mutants::client::drive_tls(
                        &listener.base,
                        &agent,
                        defect,
                        pem,
                    )),
                    None => runtime.block_on(wsspec_mutants::client::drive(
                        &listener.base,
                        &agent,
                        defect,
                    )),
                };
                driven.unwrap();
            }
            _ => {
                let (program, script) = match self {
                    Subject::WsClient => ("node", "scripts/peers/ws_client.js"),
                    _ => ("python3", "scripts/peers/websockets_client.py"),
                };
                let deflate = matches!(self, Subject::WebsocketsClient(true));
                let status = Command::new(program)
                    .arg(root().join(script))
                    .args(deflate.then_some("--deflate"))
                    .args([listener.base.as_str(), agent.as_str()])
                    .status()
                    .unwrap();
                assert!(status.success(), "{script} failed");
            }
        }
        listener.finish(&agent).1
    }
}

/// The cases of the clients whose opening handshake is wrong.
const BENT_REQUEST_CASES: &str = "1.1.1,14.5.1";

/// The cases of the client that masks every frame with one key: two that send fewer than three
/// frames, two that send more.
const REPEATED_KEY_CASES: &str = "1.1.1,2.1,2.10,5.6";

/// The cases of a client that offers permessage-deflate (from the scaled suite): where its defect
/// shows, and a case of compressed echo that it passes. `None`: it is not one of those clients, or
/// its defect is in the request (see [`BENT_REQUEST_CASES`]).
fn deflate_client_cases(defect: ClientDefect) -> Option<&'static str> {
    match defect {
        ClientDefect::DeflateAcceptsInvalidResponse => Some("12.1.4,17.7.*"),
        ClientDefect::DeflateKeepsContext => Some("12.1.4,13.1.5,13.2.4,13.2.5,13.5.5,13.6.5"),
        ClientDefect::DeflateForgetsContext => Some("12.1.4,12.1.5,12.4.5,13.2.5"),
        ClientDefect::DeflateRefusesNoContextTakeover => Some("12.1.4,13.1.5,13.2.4,13.5.4"),
        // Uncompressed cases, where the response accepts no extension, and one it passes.
        ClientDefect::DeflateCompressesUnaccepted => Some("1.1.1,5.6,12.1.4"),
        ClientDefect::DeflateAcceptsConflictingExtension => Some("12.1.4,17.7.7"),
        _ => None,
    }
}

/// The cases of the client that sends unmasked frames.
const UNMASKED_CASES: &str = "1.1.1,2.1,3.1,4.1.1,5.1,6.1.1,6.4.1,7.1.1,7.9.1,9.1.1,10.1.1,12.1.1,\
                              13.1.1,14.5.1,15.1,16.1,16.2,17.2.2,17.6.1";

/// The costly sections that a mutant server skips: section 9 (hundreds of MiB, one case at a time)
/// runs against the correct mutant and the one that truncates long messages, and sections 12 and 13
/// (zlib on every message) against the correct mutant and the four that break compression, as in
/// `mutants.rs`; the other defects show in those sections only as they show everywhere else.
fn skipped_sections(defect: Defect) -> Option<&'static str> {
    match defect {
        Defect::None => None,
        Defect::TruncatesLongMessages => Some("12.*,13.*"),
        Defect::DeflateUnofferedParameter
        | Defect::DeflateKeepsContext
        | Defect::DeflateForgetsContext
        | Defect::DeflateRsv1OnPong
        | Defect::DeflateStripsFragmentTails
        | Defect::DeflatePadsWithOnes => Some("9.*"),
        _ => Some("9.*,12.*,13.*"),
    }
}

/// Runs `wsspec server` and returns its results.json.
fn server_results(name: &str, url: Option<&str>, args: &[String]) -> Value {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, results, stderr) = run_server(name, url, &args);
    assert!(results.is_object(), "{name}: no results: {stderr}");
    results
}

/// The case id and `VERDICT CLOSE-VERDICT [BROKEN]` of every case in a results.json (BROKEN: the
/// requirement ids the verdict turned on, with commas between them, when there are any).
fn outcomes(results: &Value) -> Outcomes {
    let cases = results["cases"].as_array().unwrap();
    cases
        .iter()
        .map(|case| {
            let id = case["id"].as_str().unwrap().to_owned();
            let verdict = verdict_name(case["verdict"].as_str().unwrap());
            let close = close_name(case["behavior_close"].as_str().unwrap());
            let broken: Vec<&str> = case["broken"]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match broken.as_slice() {
                [] => (id, format!("{verdict} {close}")),
                ids => (id, format!("{verdict} {close} {}", ids.join(","))),
            }
        })
        .collect()
}

/// A verdict's Autobahn name, from its results.json name.
fn verdict_name(json: &str) -> &'static str {
    match json {
        "pass" => "OK",
        "informational" => "INFORMATIONAL",
        "unimplemented" => "UNIMPLEMENTED",
        "non-strict" => "NON-STRICT",
        "fail" => "FAILED",
        "error" => "ERROR",
        other => panic!("unknown verdict {other:?} in results.json"),
    }
}

/// A close verdict's Autobahn name, from its results.json name, in one word.
fn close_name(json: &str) -> &'static str {
    match json {
        "ok" => "OK",
        "unclean" => "UNCLEAN",
        "wrong-code" => "WRONG-CODE",
        "failed" => "FAILED",
        "failed-by-client" => "FAILED-BY-CLIENT",
        "informational" => "INFORMATIONAL",
        other => panic!("unknown close verdict {other:?} in results.json"),
    }
}

/// A folder of the compression sections (12, 13 and 17) of the scaled suite in `scaled`.
fn deflate_cases(scaled: &str) -> String {
    let dir = out_dir("snapshot-deflate-cases");
    std::fs::create_dir_all(&dir).unwrap();
    for file in [
        "12-deflate-echo.toml",
        "13-deflate-params.toml",
        "17-deflate-negotiation.toml",
    ] {
        std::fs::copy(Path::new(scaled).join(file), dir.join(file)).unwrap();
    }
    dir.to_string_lossy().into_owned()
}

/// A fuzzer run with a fixed seed and scenario count.
#[derive(Clone, Copy, Debug)]
struct FuzzRun {
    /// `None`: the built-in reference server (or client, with `client`).
    mutant: Option<Defect>,
    client: bool,
    seed: u64,
    runs: u64,
}

const FUZZ_RUNS: [FuzzRun; 5] = [
    FuzzRun {
        mutant: None,
        client: false,
        seed: 1,
        runs: 1000,
    },
    FuzzRun {
        mutant: Some(Defect::EmptyPong),
        client: false,
        seed: 7,
        runs: 300,
    },
    FuzzRun {
        mutant: Some(Defect::AcceptsRsv),
        client: false,
        seed: 7,
        runs: 300,
    },
    FuzzRun {
        mutant: Some(Defect::AcceptsInvalidUtf8),
        client: false,
        seed: 7,
        runs: 300,
    },
    FuzzRun {
        mutant: None,
        client: true,
        seed: 3,
        runs: 400,
    },
];

impl FuzzRun {
    /// The run's name in the snapshot, such as `fuzz server mutant-empty-pong --seed 7 --runs 300`.
    fn label(self) -> String {
        let role = if self.client { "client" } else { "server" };
        let peer = match self.mutant {
            Some(defect) => format!("mutant-{defect}"),
            None => "reference".to_owned(),
        };
        format!(
            "fuzz {role} {peer} --seed {} --runs {}",
            self.seed, self.runs
        )
    }

    /// The run's lines: the number of findings, then each finding's verdict and title, sorted (the
    /// order in which concurrent scenarios find them is not fixed).
    fn run(self) -> Vec<String> {
        let label = self.label();
        let out = out_dir("snapshot-fuzz");
        let out_str = out.to_string_lossy().into_owned();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let url = self.mutant.map(|defect| {
            format!(
                "ws://{}/",
                runtime.block_on(wsspec_mutants::spawn(defect)).unwrap()
            )
        });
        let (seed, runs) = (self.seed.to_string(), self.runs.to_string());
        let mut args = vec!["fuzz"];
        if self.client {
            args.extend(["--client", "--reference"]);
        }
        args.extend(url.as_deref());
        args.extend(["--seed", &seed, "--runs", &runs, "--out", &out_str]);
        if self.mutant.is_some() {
            // The first finding, one scenario at a time: which scenario fails first, and so what
            // is minimized, does not depend on timing.
            args.extend(["--max-findings", "1", "--jobs", "1", "--wait", "500"]);
        }
        let output = wsspec(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{label}: {stdout}\n{}",
            common::stderr_of(&output)
        );
        let mut findings: Vec<String> = stdout
            .lines()
            .filter(|line| line.starts_with("99."))
            .map(|line| {
                // `99.N     VERDICT title`: the number depends on the order of discovery.
                let (_, rest) = line.split_once(' ').unwrap_or_default();
                let (verdict, title) = rest.trim_start().split_once(' ').unwrap_or_default();
                format!("{label} finding {verdict} {}", title.trim_start())
            })
            .collect();
        findings.sort();
        let count = findings.len();
        findings.extend(
            minimized_steps(&out)
                .into_iter()
                .map(|steps| format!("{label} steps {steps}")),
        );
        let _ = std::fs::remove_dir_all(out);
        let mut lines = vec![format!("{label} findings {count}")];
        lines.extend(findings);
        lines
    }
}

/// The `steps` of each finding saved in `dir`, one line each, sorted.
fn minimized_steps(dir: &Path) -> Vec<String> {
    // Without findings, the fuzzer makes no folder.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut all: Vec<String> = entries
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .map(|text| {
            let steps: Vec<&str> = text
                .lines()
                .skip_while(|line| !line.starts_with("steps = ["))
                .skip(1)
                .take_while(|line| *line != "]")
                .map(str::trim)
                .collect();
            steps.join(" ")
        })
        .collect();
    all.sort();
    all
}

/// A case id's sort key: its numbers, so that 2.10 follows 2.9.
fn id_key(id: &str) -> Vec<u64> {
    id.split('.')
        .map(|part| part.parse().unwrap_or(u64::MAX))
        .collect()
}

/// The snapshot's lines: `ROLE PEER CASE VERDICT CLOSE [BROKEN]`, by role, peer and case.
fn render(runs: &BTreeMap<(String, String), Outcomes>) -> String {
    let mut text = String::from(
        "# The verdict snapshot (crates/cli/tests/snapshot.rs): ROLE PEER CASE VERDICT CLOSE-VERDICT\n\
         # [BROKEN], BROKEN being the requirement ids a FAILED or NON-STRICT verdict turned on.\n\
         # Regenerate with WSSPEC_UPDATE_SNAPSHOT=1 cargo test -p wsspec --test snapshot, and say in the\n\
         # commit which verdicts changed and why.\n",
    );
    for ((role, peer), outcomes) in runs {
        let mut ids: Vec<&String> = outcomes.keys().collect();
        ids.sort_by_key(|id| id_key(id));
        for id in ids {
            text.push_str(&format!("{role} {peer} {id} {}\n", outcomes[id]));
        }
    }
    text
}

/// Parses the snapshot's lines back into outcomes by (role, peer).
fn parse(text: &str) -> BTreeMap<(String, String), Outcomes> {
    let mut runs: BTreeMap<(String, String), Outcomes> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split(' ').collect();
        assert!(
            matches!(fields.len(), 5 | 6),
            "{VERDICTS}: not ROLE PEER CASE VERDICT CLOSE [BROKEN]: {line}"
        );
        runs.entry((fields[0].to_owned(), fields[1].to_owned()))
            .or_default()
            .insert(fields[2].to_owned(), fields[3..].join(" "));
    }
    runs
}

/// The ids whose outcome differs between `expected` and `actual` (missing on one side included).
fn differing(expected: &Outcomes, actual: &Outcomes) -> Vec<String> {
    let mut ids: Vec<String> = expected
        .keys()
        .chain(actual.keys())
        .filter(|id| expected.get(*id) != actual.get(*id))
        .cloned()
        .collect();
    ids.sort_by_key(|id| id_key(id));
    ids.dedup();
    ids
}

/// Compares a subject's fresh outcomes with the snapshot, running mismatching cases again (and
/// keeping in `actual` what the last run gave); returns the mismatches that persisted, one readable
/// line each.
fn confirm(
    subject: Subject,
    scaled: &Path,
    expected: &Outcomes,
    actual: &mut Outcomes,
) -> Vec<String> {
    let label = format!("{} {}", subject.role(), subject.peer());
    let first = differing(expected, actual);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut remaining = first.clone();
    for _ in 0..RETRIES {
        if remaining.is_empty() {
            break;
        }
        for id in &remaining {
            seen.entry(id.clone())
                .or_default()
                .push(shown(actual.get(id)));
        }
        // A case that is gone from the fresh run was removed: there is nothing to run again.
        let rerun: Vec<String> = remaining
            .iter()
            .filter(|id| actual.contains_key(*id))
            .cloned()
            .collect();
        if rerun.is_empty() {
            break;
        }
        let again = subject.run(scaled, Part::Only(&rerun));
        for id in &rerun {
            match again.get(id) {
                Some(outcome) => actual.insert(id.clone(), outcome.clone()),
                None => actual.remove(id),
            };
        }
        remaining.retain(|id| expected.get(id) != actual.get(id));
    }
    for id in first.iter().filter(|id| !remaining.contains(id)) {
        eprintln!(
            "note: {label} {id} matched the snapshot only when run again (first {})",
            seen.get(id).cloned().unwrap_or_default().join(", then ")
        );
    }
    remaining
        .iter()
        .map(|id| {
            let mut tries = seen.get(id).cloned().unwrap_or_default();
            tries.push(shown(actual.get(id)));
            format!(
                "{label} {id}: {} in the snapshot, now {}",
                shown(expected.get(id)),
                tries.join(", then ")
            )
        })
        .collect()
}

fn shown(outcome: Option<&String>) -> String {
    outcome.cloned().unwrap_or_else(|| "(no case)".to_owned())
}

/// Whether a subject's peer is installed; says so when it is not, and fails then when
/// `WSSPEC_REQUIRE_PEERS` is set (as in CI).
fn available(subject: Subject) -> bool {
    let Some(installed) = subject.installed() else {
        return true;
    };
    if root().join(installed).exists() {
        return true;
    }
    assert!(
        std::env::var_os("WSSPEC_REQUIRE_PEERS").is_none(),
        "{installed} is missing: run scripts/install-peers"
    );
    eprintln!(
        "skipped: {} {}: {installed} is not installed (run scripts/install-peers)",
        subject.role(),
        subject.peer()
    );
    false
}

#[test]
fn verdicts_match_the_snapshot() {
    let started = Instant::now();
    let update = std::env::var_os("WSSPEC_UPDATE_SNAPSHOT").is_some();
    let scaled = common::scaled_suite("snapshot", 20);
    let (subjects, skipped): (Vec<Subject>, Vec<Subject>) =
        Subject::all().into_iter().partition(|s| available(*s));
    assert!(
        !update || skipped.is_empty(),
        "the snapshot cannot be updated without every peer: run scripts/install-peers"
    );
    let mut jobs: Vec<Job> = Vec::new();
    for subject in &subjects {
        jobs.extend((1..=subject.shards()).map(|shard| Job::Cases(*subject, shard)));
    }
    jobs.extend(FUZZ_RUNS.map(Job::Fuzz));
    let mut fresh: Vec<(Subject, Outcomes)> =
        subjects.iter().map(|s| (*s, Outcomes::new())).collect();
    let mut fuzzed: Vec<(FuzzRun, Vec<String>)> = Vec::new();
    for done in in_parallel(jobs, |job| job.run(&scaled)) {
        match done {
            Done::Cases(subject, outcomes) => {
                let peer = subject.peer();
                let (_, all) = fresh
                    .iter_mut()
                    .find(|(s, _)| s.role() == subject.role() && s.peer() == peer)
                    .unwrap();
                all.extend(outcomes);
            }
            Done::Fuzz(run, lines) => fuzzed.push((run, lines)),
        }
    }
    eprintln!("fresh run: {:.1} s", started.elapsed().as_secs_f64());

    let verdicts_path = root().join(VERDICTS);
    let findings_path = root().join(FINDINGS);
    let snapshot = std::fs::read_to_string(&verdicts_path)
        .map(|text| parse(&text))
        .unwrap_or_default();
    let expected_findings = std::fs::read_to_string(&findings_path).unwrap_or_default();
    let none = Outcomes::new();
    let settled: Vec<(Subject, Outcomes, Vec<String>)> =
        in_parallel(fresh, |(subject, mut actual)| {
            let key = (subject.role().to_owned(), subject.peer());
            let expected = snapshot.get(&key).unwrap_or(&none);
            let failures = confirm(subject, &scaled, expected, &mut actual);
            (subject, actual, failures)
        });
    if update {
        let runs = settled
            .iter()
            .map(|(s, outcomes, _)| ((s.role().to_owned(), s.peer()), outcomes.clone()))
            .collect();
        std::fs::create_dir_all(verdicts_path.parent().unwrap()).unwrap();
        std::fs::write(&verdicts_path, render(&runs)).unwrap();
        let mut text = String::from(
            "# The fuzzer's findings for fixed seeds (crates/cli/tests/snapshot.rs): per run, the\n\
             # number of findings, each finding's verdict and title, and each one's minimized steps.\n",
        );
        for (_, lines) in &fuzzed {
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
        }
        std::fs::write(&findings_path, text).unwrap();
        let changed: Vec<String> = settled.into_iter().flat_map(|(_, _, f)| f).collect();
        eprintln!(
            "wrote {VERDICTS} and {FINDINGS}; {} verdicts changed:\n{}",
            changed.len(),
            changed.join("\n")
        );
        return;
    }

    let mut failures: Vec<String> = settled.into_iter().flat_map(|(_, _, f)| f).collect();
    failures.extend(
        in_parallel(fuzzed, |(run, lines)| {
            confirm_fuzz(run, &expected_findings, lines)
        })
        .concat(),
    );
    // A peer that the snapshot has and this run never ran (and did not skip) is a mismatch too.
    for (role, peer) in snapshot.keys() {
        let known = Subject::all()
            .into_iter()
            .any(|s| s.role() == role && s.peer() == *peer);
        if !known {
            failures.push(format!("{role} {peer}: in the snapshot, but no longer run"));
        }
    }
    eprintln!("snapshot test: {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "{} verdicts differ from {VERDICTS} / {FINDINGS} (each ran {} more times alone; \
         WSSPEC_UPDATE_SNAPSHOT=1 rewrites the snapshot if the change is meant):\n{}",
        failures.len(),
        RETRIES,
        failures.join("\n")
    );
}

/// Compares a fuzzer run's lines with the snapshot's, running it again on a mismatch.
fn confirm_fuzz(run: FuzzRun, snapshot: &str, mut lines: Vec<String>) -> Vec<String> {
    let label = run.label();
    let expected: Vec<String> = snapshot
        .lines()
        .filter(|line| {
            line.strip_prefix(label.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .map(str::to_owned)
        .collect();
    let mut tries = Vec::new();
    for _ in 0..RETRIES {
        if lines == expected {
            break;
        }
        tries.push(lines);
        lines = run.run();
    }
    if lines == expected {
        if !tries.is_empty() {
            eprintln!("note: {label} matched the snapshot only when run again: {tries:?}");
        }
        return vec![];
    }
    tries.push(lines);
    vec![format!(
        "{label}: the snapshot has\n  {}\nand the runs gave\n{}",
        expected.join("\n  "),
        tries
            .iter()
            .map(|lines| format!("  {}", lines.join("\n  ")))
            .collect::<Vec<_>>()
            .join("\n  --\n")
    )]
}
