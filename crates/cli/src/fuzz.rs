//! `wsspec fuzz`: network fuzzing of a server, or with `--client` of a client, with the RFC 6455
//! oracle. The work is `wsspec_fuzzer`'s; this module parses the options, starts the built-in
//! server when no URL is given (or listens for the client, which `--exec` or `--reference`
//! starts once per scenario), draws the progress line, and saves each finding as a case file.

use std::{
    io::IsTerminal,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use clap::Args;
use wsspec_fuzzer::{
    ClientLauncher, ClientTestee, FINDINGS_SECTION, FINDINGS_TITLE, Finding, FindingStatus,
    FuzzConfig, FuzzObserver, Progress, StopReason, Summary, Testee, client::ClientRun, fuzz,
};
use wsspec_reference::{
    EchoConfig, EchoServer, TlsIdentity,
    client::{CaseClient, TungsteniteClient},
};
use wsspec_runner::{
    CaseSettings, RunConfig, Target, TlsClient, TlsOptions, clients::ClientConnections,
    transport::read_ca_file,
};
use wsspec_suite::Suite;

use crate::{
    exit::{self, Exit},
    interruption::interruption,
    serve_tls::ServeTlsArgs,
    stdout::print_out,
};

#[derive(Args, Debug)]
pub(crate) struct FuzzArgs {
    /// The server's ws:// or wss:// URL. Leave it out to fuzz the built-in reference server.
    #[arg(conflicts_with = "client")]
    url: Option<String>,
    /// Fuzz a client instead: wsspec listens, and the client (--exec or --reference) connects
    /// once per scenario. Findings replay with `wsspec client --cases-dir DIR`.
    #[arg(long)]
    client: bool,
    /// With --client: run this command once per scenario; `{url}` becomes the scenario's URL, e.g.
    /// `--exec "python3 my_client.py {url}"` (run through `sh -c`). It must open that URL once and
    /// echo every message until the connection ends.
    #[arg(long, value_name = "COMMAND", requires = "client")]
    exec: Option<String>,
    /// With --client: fuzz the built-in client (tokio-tungstenite), driven in this process.
    #[arg(long, requires = "client", conflicts_with = "exec")]
    reference: bool,
    /// With --client: the address to listen on.
    #[arg(long, default_value = "127.0.0.1:0", requires = "client")]
    listen: SocketAddr,
    /// The run's seed: scenario N of a seed is always the same scenario (default: random, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// The index of the first scenario (with --runs 1: replay one scenario of a seed).
    #[arg(long, default_value_t = 0, value_name = "N")]
    first: u64,
    /// Stop after this many scenarios.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Stop after this many seconds (default: 60 unless --runs is given). A finding being
    /// minimized then is finished first (at most 60 s more).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    time: Option<u64>,
    /// How many scenarios run at once, each on its own connection [default: 64; with --client, 16]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// How long the target has to answer each expectation, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    wait: u64,
    /// Each scenario's deadline in seconds.
    #[arg(long, default_value_t = 15, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Stop after this many findings.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_findings: Option<u64>,
    /// Where to write the findings, one case file each (replay: `wsspec server URL --cases-dir DIR`,
    /// or `wsspec client --cases-dir DIR` for a client's).
    #[arg(long, default_value = "reports/fuzz", value_name = "DIR")]
    out: PathBuf,
    /// Count NON-STRICT verdicts (a SHOULD broken) as findings too.
    #[arg(long)]
    strict: bool,
    /// The largest message the server accepts: larger ones must then be refused with 1009.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_message_size: Option<u64>,
    /// Accept any TLS certificate.
    #[arg(long)]
    insecure: bool,
    /// Also trust the certificates in this PEM file; repeatable.
    #[arg(long = "ca", value_name = "FILE")]
    ca: Vec<PathBuf>,
    #[command(flatten)]
    tls: ServeTlsArgs,
}

/// How often the progress line is redrawn on a terminal, and written otherwise.
const PROGRESS_TTY: Duration = Duration::from_millis(500);
const PROGRESS_PLAIN: Duration = Duration::from_secs(10);

pub(crate) async fn fuzz_command(args: FuzzArgs) -> Result<u8, Exit> {
    let interrupted = interruption()?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let first_finding = next_finding_number(&args.out)?;

    let mut settings = RunConfig::default().settings;
    settings.max_message_size = args.max_message_size;
    settings.close_wait = Duration::from_millis(args.wait);
    settings.case_timeout = Duration::from_secs(args.timeout);
    let identity = args.tls.identity()?;
    let (testee, label) = if args.client {
        client_testee(&args, identity.as_ref(), &settings).await?
    } else {
        if identity.is_some() {
            return Err(Exit::usage(
                "--tls and --cert serve TLS to a client: they need --client",
            ));
        }
        server_testee(&args, &mut settings).await?
    };
    let mut config = FuzzConfig::new(seed, settings);
    config.first = args.first;
    config.runs = args.runs;
    config.time = match (args.time, args.runs) {
        (Some(secs), _) => Some(Duration::from_secs(secs)),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(60)),
    };
    config.jobs = usize::from(args.jobs.unwrap_or(if args.client { 16 } else { 64 }));
    config.wait_ms = args.wait;
    config.case_timeout_ms = args.timeout.saturating_mul(1000);
    config.max_findings = args
        .max_findings
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    config.first_finding = first_finding;
    config.strict = args.strict;

    let bound = match (config.runs, config.time) {
        (Some(runs), Some(time)) => format!("{runs} scenarios or {} s", time.as_secs()),
        (Some(runs), None) => format!("{runs} scenarios"),
        (None, Some(time)) => format!("{} s", time.as_secs()),
        (None, None) => "ever".into(),
    };
    eprintln!(
        "wsspec: fuzzing {label} with --seed {seed} for {bound}, {} at a time; findings go to {}",
        config.jobs,
        args.out.display()
    );

    let progress = Arc::new(Progress::default());
    let saver = Saver {
        out: args.out.clone(),
        errors: Mutex::new(Vec::new()),
    };
    let line = tokio::spawn(progress_line(progress.clone(), Instant::now()));
    let summary = fuzz(&testee, &config, &progress, &saver, interrupted).await;
    line.abort();
    let _ = line.await;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    if let Some(err) = saver
        .errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .first()
    {
        return Err(Exit::usage(err.clone()));
    }
    if summary.stopped == StopReason::NoClient {
        return Err(Exit {
            code: exit::UNREACHABLE,
            message: format!(
                "the client never connected to {label}: {}",
                summary.stop_detail.as_deref().unwrap_or("no reason given")
            ),
        });
    }
    print_out(&report(
        &summary,
        &label,
        &replay_command(&args, &label),
        seed,
    ));
    Ok(match summary.stopped {
        StopReason::Interrupted => exit::INTERRUPTED,
        _ if summary.findings.is_empty() => exit::OK,
        _ => exit::FAILED,
    })
}

/// The server to fuzz (the built-in one when no URL is given), checked to be reachable, with the
/// TLS settings that reach it; and its URL.
async fn server_testee(
    args: &FuzzArgs,
    settings: &mut CaseSettings,
) -> Result<(Testee, String), Exit> {
    let mut roots = Vec::new();
    for path in &args.ca {
        roots.extend(read_ca_file(path).map_err(|err| Exit::usage(err.to_string()))?);
    }
    let url = match &args.url {
        Some(url) => url.clone(),
        None => start_reference_server()?,
    };
    let target = Target::parse(&url).map_err(|err| Exit::usage(err.to_string()))?;
    settings.tls = TlsClient::new(TlsOptions {
        insecure: args.insecure,
        mozilla_roots: true,
        system_roots: true,
        extra_roots: roots,
    });
    wsspec_runner::probe(&target, &settings.tls, Duration::from_secs(5))
        .await
        .map_err(|err| Exit {
            code: exit::UNREACHABLE,
            message: err.to_string(),
        })?;
    Ok((Testee::Server(target), url))
}

/// The agent name in a client's URLs.
const CLIENT_AGENT: &str = "wsspec-fuzz";

/// The client to fuzz: the listener it connects to, and how it is started; and what to call it.
async fn client_testee(
    args: &FuzzArgs,
    identity: Option<&TlsIdentity>,
    settings: &CaseSettings,
) -> Result<(Testee, String), Exit> {
    let launcher = match (&args.exec, args.reference) {
        (Some(command), _) => ClientLauncher::Exec(command.clone()),
        (None, true) if identity.is_some() => {
            return Err(Exit::usage(
                "--reference speaks ws:// only: leave out --tls and --cert",
            ));
        }
        (None, true) => reference_client(settings.close_wait),
        (None, false) => {
            return Err(Exit::usage(
                "--client needs the client: --exec \"COMMAND {url}\" or --reference",
            ));
        }
    };
    let listen = args.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| Exit::usage(format!("cannot listen on {listen}: {err}")))?;
    let connections = ClientConnections::start(
        listener,
        identity.map(TlsIdentity::acceptor),
        settings.handshake_timeout,
    )
    .map_err(|err| Exit::usage(format!("cannot listen on {listen}: {err}")))?;
    let name = match &args.exec {
        Some(command) => format!("the client `{command}`"),
        None => "the built-in client".to_owned(),
    };
    let label = format!("{name} on {}", connections.base_url());
    let client = ClientTestee::new(connections, launcher, CLIENT_AGENT);
    Ok((Testee::Client(Arc::new(client)), label))
}

/// The built-in tokio-tungstenite client, run in this process as an echo peer on each URL.
fn reference_client(close_wait: Duration) -> ClientLauncher {
    ClientLauncher::InProcess(Arc::new(move |url: String| -> ClientRun {
        Box::pin(async move {
            // The URL is wsspec's own; one that does not parse leaves the scenario without a client.
            if let Ok(url) = url::Url::parse(&url) {
                // What the client's application saw is not judged by the fuzzer's cases.
                let _ = TungsteniteClient::new(close_wait).echo(&url).await;
            }
        })
    }))
}

/// The command that replays the findings saved in `--out`.
fn replay_command(args: &FuzzArgs, label: &str) -> String {
    let out = args.out.display();
    match (&args.exec, args.reference) {
        (Some(command), _) => format!("wsspec client --cases-dir {out} --exec {command:?}"),
        (None, true) => format!("wsspec client --cases-dir {out} --reference"),
        (None, false) => format!("wsspec server {label} --cases-dir {out}"),
    }
}

/// A seed from the clock and the process id, for runs that name none.
fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    wsspec_fuzzer::scenario::scenario_seed(nanos, u64::from(std::process::id()))
}

/// One past the highest finding number already saved in `out`, so that a second run into the same
/// folder adds findings instead of clashing with the ids there.
fn next_finding_number(out: &Path) -> Result<u32, Exit> {
    let has_cases = std::fs::read_dir(out).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|entry| entry.path().extension().is_some_and(|ext| ext == "toml"))
    });
    if !has_cases {
        return Ok(1);
    }
    let suite = Suite::from_dir(out).map_err(|err| {
        Exit::usage(format!(
            "{err} (--out must be a folder of case files, such as the findings of an earlier run)"
        ))
    })?;
    Ok(suite
        .cases
        .iter()
        .filter(|case| case.id.section() == FINDINGS_SECTION)
        .filter_map(|case| case.id.parts().get(1).copied())
        .max()
        .map_or(1, |n| n.saturating_add(1)))
}

/// Starts the built-in reference server on a thread of its own (so that it and the fuzzer each
/// have a core) and returns its URL.
fn start_reference_server() -> Result<String, Exit> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("reference-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = sender.send(Err(err.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let address = SocketAddr::from(([127, 0, 0, 1], 0));
                match EchoServer::bind(address, EchoConfig::default()).await {
                    Ok(server) => {
                        let _ = sender.send(Ok(server.url()));
                        let _ = server.serve().await;
                    }
                    Err(err) => {
                        let _ = sender.send(Err(err.to_string()));
                    }
                }
            });
        })
        .map_err(|err| Exit::usage(format!("cannot start the built-in reference server: {err}")))?;
    receiver
        .recv()
        .map_err(|err| err.to_string())
        .and_then(|started| started)
        .map_err(|err| Exit::usage(format!("cannot start the built-in reference server: {err}")))
}

/// Saves each finding as a case file as soon as it is found, and says so on stderr.
struct Saver {
    out: PathBuf,
    errors: Mutex<Vec<String>>,
}

impl Saver {
    fn path(&self, finding: &Finding) -> PathBuf {
        self.out.join(format!("finding-{}.toml", finding.case.id))
    }

    fn save(&self, finding: &Finding) -> Result<PathBuf, String> {
        std::fs::create_dir_all(&self.out)
            .map_err(|err| format!("cannot create {}: {err}", self.out.display()))?;
        let text = wsspec_suite::write_file(
            FINDINGS_SECTION,
            FINDINGS_TITLE,
            std::slice::from_ref(&finding.case),
        );
        let path = self.path(finding);
        let partial = path.with_extension("toml.partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        Ok(path)
    }
}

impl FuzzObserver for Saver {
    fn found(&self, finding: &Finding) {
        match self.save(finding) {
            Ok(path) => eprintln!(
                "{}wsspec: finding {} ({} steps): {} -> {}",
                clear_line(),
                finding.case.id,
                finding.case.steps.len(),
                finding.case.title,
                path.display()
            ),
            Err(err) => self
                .errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(err),
        }
    }
}

/// On a terminal, the escape that clears the progress line before a message; else nothing.
fn clear_line() -> &'static str {
    if std::io::stderr().is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    }
}

/// Redraws the progress line (a terminal) or writes it every few seconds (a log), until aborted.
async fn progress_line(progress: Arc<Progress>, started: Instant) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty { PROGRESS_TTY } else { PROGRESS_PLAIN };
    let mut ticker = tokio::time::interval_at((Instant::now() + every).into(), every);
    let mut last = (Instant::now(), 0u64);
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let done = Progress::get(&progress.scenarios);
        let rate = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
        last = (now, done);
        let text = format!(
            "fuzz: {done} scenarios, {rate:.0}/s, {} findings, {} non-strict, {} duplicates, {:.0} s",
            Progress::get(&progress.findings),
            Progress::get(&progress.non_strict),
            Progress::get(&progress.duplicates),
            started.elapsed().as_secs_f64()
        );
        if tty {
            eprint!("\r\x1b[2K{text}");
        } else {
            eprintln!("{text}");
        }
    }
}

/// The closing report: the findings, then one line of totals.
fn report(summary: &Summary, label: &str, replay: &str, seed: u64) -> String {
    let mut text = String::new();
    for finding in &summary.findings {
        let status = match finding.status {
            FindingStatus::Minimized | FindingStatus::NeverUpgraded => "",
            FindingStatus::NotReproduced => " (did not fail again: not minimized)",
            FindingStatus::KilledTarget => " (the target died after it: not minimized)",
            FindingStatus::Interrupted => " (interrupted: not minimized)",
        };
        text.push_str(&format!(
            "{:<8} {:<7} {}{status}\n",
            finding.case.id.as_str(),
            finding.result.verdict.autobahn_name(),
            finding.case.title
        ));
    }
    let seconds = summary.elapsed.as_secs_f64();
    let why = match summary.stopped {
        StopReason::Runs => "all scenarios ran",
        StopReason::Time => "the time was up",
        StopReason::MaxFindings => "enough findings",
        StopReason::TargetDown => match &summary.stop_detail {
            Some(reason) => &format!("the client stopped connecting ({reason})"),
            None => "the target stopped accepting connections",
        },
        StopReason::NoUpgrade => "the target does not upgrade a standard handshake",
        StopReason::NoClient => "the client never connected",
        StopReason::Interrupted => "interrupted",
    };
    text.push_str(&format!(
        "{} scenarios in {seconds:.1} s ({:.0}/s) against {label} with --seed {seed}: {} findings{}, {} non-strict, {} repeats of a finding, {} harness errors; stopped: {why}.\n",
        summary.scenarios,
        summary.scenarios as f64 / seconds.max(1e-3),
        summary.findings.len(),
        if summary.findings.is_empty() {
            String::new()
        } else {
            format!(" (replay: {replay})")
        },
        summary.non_strict,
        summary.duplicates,
        summary.errors,
    ));
    text
}
