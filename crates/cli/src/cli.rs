//! Argument parsing (clap) and the subcommands.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use clap::{Args, Parser, Subcommand};
use wsspec_reference::{EchoConfig, EchoServer, ServerPolicy, TlsIdentity, tls::SELF_SIGNED_NAMES};
use wsspec_report::{RunResults, badge, html, json, merge, terminal};
use wsspec_suite::{Role, Suite, select};

/// The documented exit codes.
pub mod exit {
    /// No case failed.
    pub const OK: u8 = 0;
    /// At least one case failed.
    pub const FAILED: u8 = 1;
    /// Usage, configuration or case-file error.
    pub const USAGE: u8 = 2;
    /// The target could not be reached.
    pub const UNREACHABLE: u8 = 3;
    /// Interrupted by Ctrl-C (SIGINT) or SIGTERM; the results so far were still written, marked
    /// incomplete.
    pub const INTERRUPTED: u8 = 130;
}

/// Conformance tests for WebSocket implementations (RFC 6455).
#[derive(Parser, Debug)]
#[command(name = "wsspec", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Test a WebSocket server (wsspec is the client). With no URL, test the built-in reference server.
    Server(crate::server::ServerArgs),
    /// List the cases: id, level, RFC section and title.
    List(ListArgs),
    /// Render one or more results.json files into one report (index.html and badge.svg): the matrix
    /// of agents × cases. Runs of the same agent (e.g. shards) merge; a later file wins on a case.
    Report(ReportArgs),
    /// Test a WebSocket client (wsspec is the server it connects to, on Autobahn's fuzzingserver protocol).
    Client(crate::client::ClientArgs),
    /// Run the built-in reference echo server (tokio-tungstenite) until interrupted.
    Echo(EchoArgs),
    /// Run the built-in client (tokio-tungstenite) against a fuzzing server: every case of
    /// BASE_URL/getCaseCount, then /updateReports. Verdicts are the server's to give.
    Drive(DriveArgs),
    /// Fuzz a WebSocket server (or, with --client, a client): random scenarios judged by what RFC
    /// 6455 requires; each finding is minimized and saved as a case file. With no URL and no
    /// --client, fuzz the built-in reference server.
    Fuzz(crate::fuzz::FuzzArgs),
}

#[derive(Args, Debug)]
struct ListArgs {
    /// Only cases matching these patterns (same syntax as --cases).
    patterns: Vec<String>,
    /// Only the cases that run against this kind of target.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Load case files from this folder instead of the built-in cases.
    #[arg(long = "cases-dir", value_name = "DIR")]
    cases_dir: Option<PathBuf>,
}

/// A kind of target, for `list --role`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum RoleArg {
    /// Cases that test servers.
    Server,
    /// Cases that test clients.
    Client,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// The results.json files of the runs to compare.
    #[arg(required = true, value_name = "RESULTS_JSON")]
    files: Vec<PathBuf>,
    /// Where to write the merged reports: index.html, badge.svg, results.json and index.json (with
    /// several agents, a folder per agent and one index.json).
    #[arg(long, default_value = "reports", value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    outcome: crate::outcome::OutcomeArgs,
}

#[derive(Args, Debug)]
struct EchoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// The largest message accepted, in bytes (larger ones are refused with 1009).
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// A subprotocol to support (repeatable): the first one a client offers is selected.
    #[arg(long = "subprotocol", value_name = "NAME")]
    subprotocols: Vec<String>,
    /// An Origin to refuse with 403 (repeatable); every other origin is accepted.
    #[arg(long = "forbidden-origin", value_name = "ORIGIN")]
    forbidden_origins: Vec<String>,
    #[command(flatten)]
    tls: ServeTlsArgs,
}

/// How a listening command serves TLS.
#[derive(Args, Debug)]
pub(crate) struct ServeTlsArgs {
    /// Serve TLS (wss://) with a fresh self-signed certificate for localhost, 127.0.0.1 and ::1.
    #[arg(long)]
    tls: bool,
    /// Serve TLS with this certificate chain (PEM, leaf first) instead; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Save the served certificate chain as PEM here, for a client's --ca.
    #[arg(long, value_name = "FILE")]
    write_cert: Option<PathBuf>,
}

impl ServeTlsArgs {
    /// The identity to serve (none: plain TCP), with the certificate saved if asked; a self-signed
    /// one is announced with what clients need to trust it.
    pub(crate) fn identity(&self) -> Result<Option<TlsIdentity>, Exit> {
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(TlsIdentity::from_pem_files(cert, key)),
            _ if self.tls => Some(TlsIdentity::self_signed()),
            _ => None,
        }
        .transpose()
        .map_err(|err| Exit::usage(err.to_string()))?;
        if let Some(path) = &self.write_cert {
            let Some(identity) = &identity else {
                return Err(Exit::usage("--write-cert needs --tls or --cert"));
            };
            std::fs::write(path, identity.chain_pem()).map_err(|err| {
                Exit::usage(format!(
                    "cannot write the certificate to {}: {err}",
                    path.display()
                ))
            })?;
        }
        if self.cert.is_none() && identity.is_some() {
            let trust = match &self.write_cert {
                Some(path) => format!("--ca {}", path.display()),
                None => {
                    "--insecure (or save it with --write-cert FILE and use --ca FILE)".to_owned()
                }
            };
            eprintln!(
                "wsspec: serving a self-signed certificate for {}; clients need {trust}",
                SELF_SIGNED_NAMES.join(", ")
            );
        }
        Ok(identity)
    }
}

#[derive(Args, Debug)]
struct DriveArgs {
    /// The fuzzing server's base URL, such as ws://127.0.0.1:9001 (`wsspec client` or Autobahn's
    /// fuzzingserver).
    base_url: String,
    /// The client's name in the server's reports.
    #[arg(long, default_value = wsspec_reference::client::CLIENT_AGENT)]
    agent: String,
    /// Each case's deadline in seconds; a case still open then is dropped.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

/// A failure that ends the command with an exit code and a one-line message.
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Exit {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Exit {
            code: exit::USAGE,
            message: message.into(),
        }
    }
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    // One thread: the harness's work per byte is small, and keeping a case's reader and executor on
    // the same thread saves a cross-thread wake-up per chunk (measured: less CPU and a faster run than
    // with a worker per core, even when the built-in server shares the thread).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("wsspec: error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => crate::server::server(args).await,
            Command::Client(args) => crate::client::client(args).await,
            Command::List(args) => list(args),
            Command::Report(args) => report(args),
            Command::Echo(args) => echo(args).await,
            Command::Drive(args) => drive(args).await,
            Command::Fuzz(args) => crate::fuzz::fuzz_command(args).await,
        }
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(exit) => {
            eprintln!("wsspec: error: {}", exit.message);
            ExitCode::from(exit.code)
        }
    }
}

pub(crate) fn load_suite(cases_dir: Option<&PathBuf>) -> Result<Suite, Exit> {
    match cases_dir {
        Some(dir) => Suite::from_dir(dir),
        None => Suite::builtin(),
    }
    .map_err(|err| Exit::usage(err.to_string()))
}

/// Writes `index.html` and `badge.svg` into `dir` and returns the page's path.
pub(crate) fn write_pages(dir: &Path, runs: &[RunResults]) -> Result<PathBuf, Exit> {
    std::fs::create_dir_all(dir)
        .map_err(|err| Exit::usage(format!("cannot create {}: {err}", dir.display())))?;
    let page = html::write(dir, runs).map_err(|err| Exit::usage(err.to_string()))?;
    badge::write(dir, runs).map_err(|err| Exit::usage(err.to_string()))?;
    Ok(page)
}

fn report(args: ReportArgs) -> Result<u8, Exit> {
    let runs = args
        .files
        .iter()
        .map(|path| json::read_results(path).map_err(Exit::usage))
        .collect::<Result<Vec<_>, _>>()?;
    let gaps = merge::shard_gaps(&runs);
    for gap in &gaps {
        let missing: Vec<String> = gap
            .missing
            .iter()
            .map(|k| format!("{k}/{}", gap.count))
            .collect();
        eprintln!(
            "wsspec: warning: {} ({}) is missing shard {}: the merged report is incomplete",
            gap.agent,
            match gap.role {
                Role::Server => "server",
                Role::Client => "client",
            },
            missing.join(", ")
        );
    }
    let runs = merge::merge(runs);
    let (index, page) = crate::outcome::write_reports(&args.out, &runs, None)?;
    let mut text = String::new();
    for run in &runs {
        text.push_str(&format!(
            "{}\n  {}\n",
            terminal::closing_line(run),
            terminal::score_line(run)
        ));
    }
    print_out(&text);
    eprintln!(
        "wsspec: wrote {}, {} and badge.svg ({} runs, {} agents)",
        page.display(),
        index.display(),
        args.files.len(),
        runs.len()
    );
    // A merge with a shard missing is incomplete; a missing part of a CI run is a failure.
    let code = crate::outcome::conclude(&args.outcome, &runs, false)?;
    Ok(if gaps.is_empty() { code } else { exit::FAILED })
}

/// A future that completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed by this call, so
/// a signal that comes any time later is caught, even before the future is first polled.
pub(crate) fn interruption() -> Result<impl Future<Output = ()> + Send + 'static, Exit> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handler = |kind: SignalKind| {
            signal(kind)
                .map_err(|err| Exit::usage(format!("cannot install a signal handler: {err}")))
        };
        let mut interrupt = handler(SignalKind::interrupt())?;
        let mut terminate = handler(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

fn list(args: ListArgs) -> Result<u8, Exit> {
    let mut suite = load_suite(args.cases_dir.as_ref())?;
    if let Some(role) = args.role {
        let role = match role {
            RoleArg::Server => wsspec_suite::Role::Server,
            RoleArg::Client => wsspec_suite::Role::Client,
        };
        suite.cases.retain(|case| case.roles.contains(&role));
    }
    let selected = select::select(&suite.cases, &args.patterns, &[])
        .map_err(|err| Exit::usage(err.to_string()))?;
    if args.json {
        let cases: Vec<serde_json::Value> = selected
            .cases
            .iter()
            .map(|case| {
                serde_json::json!({
                    "id": case.id.as_str(),
                    "title": case.title,
                    "section": case.section_title,
                    "rfc": case.rfc,
                    "level": case.level.name(),
                    "requirement": case.requirement,
                    "roles": case.roles,
                    "expected": case.expectation(),
                    "source": case.source.to_string(),
                })
            })
            .collect();
        let text =
            serde_json::to_string_pretty(&cases).map_err(|err| Exit::usage(err.to_string()))?;
        print_out(&format!("{text}\n"));
    } else {
        let mut text = String::new();
        for case in &selected.cases {
            text.push_str(&format!(
                "{:<10} {:<6} {:<28} {}\n",
                case.id.as_str(),
                case.level.name(),
                case.rfc,
                case.title
            ));
        }
        print_out(&text);
        eprintln!("{} cases", selected.cases.len());
    }
    Ok(exit::OK)
}

/// Writes to stdout; a closed pipe (`wsspec list | head`) is not an error worth a panic.
pub(crate) fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

async fn echo(args: EchoArgs) -> Result<u8, Exit> {
    let identity = args.tls.identity()?;
    let config = EchoConfig {
        max_message_size: args.max_message_size,
        policy: ServerPolicy {
            subprotocols: args.subprotocols,
            forbidden_origins: args.forbidden_origins,
        },
        tls: identity,
    };
    let server = EchoServer::bind(args.listen, config)
        .await
        .map_err(|err| Exit::usage(format!("cannot listen on {}: {err}", args.listen)))?;
    eprintln!(
        "wsspec: reference echo server listening on {} (Ctrl-C to stop)",
        server.url()
    );
    tokio::select! {
        result = server.serve() => result.map(|()| exit::OK).map_err(|err| Exit::usage(err.to_string())),
        _ = tokio::signal::ctrl_c() => Ok(exit::OK),
    }
}

/// Runs the built-in client driver; one line per case and a summary on stderr. Exit 0 once every
/// case ran, 3 when the server cannot be used, 2 for a bad URL.
async fn drive(args: DriveArgs) -> Result<u8, Exit> {
    use wsspec_reference::client::{self, DriveError, DriveOptions};

    let options = DriveOptions {
        case_timeout: Duration::from_secs(args.timeout),
        ..DriveOptions::default()
    };
    let started = std::time::Instant::now();
    let summary = client::drive_client(
        &mut client::TungsteniteClient::new(options.close_timeout),
        &args.base_url,
        &args.agent,
        &options,
        |case| {
            let id = case.id.as_deref().unwrap_or("");
            let timed_out = if case.timed_out { " (timed out)" } else { "" };
            eprintln!(
                "case {:>4} {id:<10} {}{timed_out} in {:.3} s",
                case.case,
                case.observation,
                case.duration.as_secs_f64()
            );
        },
    )
    .await
    .map_err(|err| Exit {
        code: match err {
            DriveError::BadUrl { .. } => exit::USAGE,
            _ => exit::UNREACHABLE,
        },
        message: err.to_string(),
    })?;
    let clean = summary.cases.iter().filter(|c| c.observation.clean).count();
    let timed_out = summary.cases.iter().filter(|c| c.timed_out).count();
    let reported = if summary.observations_reported {
        "observations reported"
    } else {
        "the server took no observations"
    };
    eprintln!(
        "wsspec: ran {} cases against {} as {:?} in {:.1} s: {clean} closed cleanly, {} not, {timed_out} timed out; {reported}; reports updated",
        summary.case_count,
        args.base_url,
        args.agent,
        started.elapsed().as_secs_f64(),
        summary.cases.len() - clean,
    );
    Ok(exit::OK)
}
