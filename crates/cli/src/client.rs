//! `wsspec client`: testing a WebSocket client. wsspec listens, and the client connects to it, driven
//! by an Autobahn-style runCase loop, by the browser page at `/`, or by `--exec`. `--spec` reads an
//! Autobahn `fuzzingserver.json` as it is: `url` (where to listen), `cases`, `exclude-cases`,
//! `exclude-agent-cases`, `outdir` and `options`.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::Args;
use tokio::net::TcpListener;
use wsspec_reference::TlsIdentity;
use wsspec_report::{RunResults, json};
use wsspec_runner::clients::{ClientOptions, Driver, Reports, RunEnd, serve_clients};
use wsspec_suite::{Case, Role, autobahn::SpecMode};

use crate::{
    cases::load_suite,
    exit::{self, Exit},
    interruption::interruption,
    outcome::{self, OutcomeArgs},
    progress::{Progress, ProgressMode},
    run_options::RunOptions,
    selection::CaseSelection,
    serve_tls::ServeTlsArgs,
    spec,
};

#[derive(Args, Debug)]
pub(crate) struct ClientArgs {
    /// Address to listen on; drivers connect to ws://ADDRESS/runCase?case=N&agent=NAME [default: the
    /// spec's url, else 127.0.0.1:9001]
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Read an Autobahn fuzzingserver.json, as it is: `url` (where to listen), `cases`,
    /// `exclude-cases`, `exclude-agent-cases`, `outdir`, `options`.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Run this command once per case instead of waiting for a driver; `{url}` becomes the case's
    /// URL, e.g. `--exec "python3 my_client.py {url}"` (run through `sh -c`).
    #[arg(long, value_name = "COMMAND")]
    exec: Option<String>,
    #[command(flatten)]
    selection: CaseSelection,
    /// The client's name in the reports, for --exec (drivers name themselves with agent=NAME).
    #[arg(long, default_value = "client")]
    agent: String,
    #[command(flatten)]
    run: RunOptions,
    /// End the run when no client has connected for this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    idle: u64,
    /// Keep serving after a driver's /updateReports (until idle or the deadline).
    #[arg(long)]
    keep_serving: bool,
    /// Test the built-in client (tokio-tungstenite), driven in this process.
    #[arg(long, conflicts_with_all = ["exec", "keep_serving", "tls", "cert"])]
    reference: bool,
    #[command(flatten)]
    outcome: OutcomeArgs,
    #[command(flatten)]
    tls: ServeTlsArgs,
}

/// Writes the reports whenever a driver asks, and at the end.
struct FileReports {
    out: PathBuf,
    junit: Option<PathBuf>,
}

impl Reports for FileReports {
    /// One agent's files go straight into `out`; with several agents, each gets `out/AGENT/`, and
    /// `index.json` and the HTML report in `out` hold them all.
    fn update(&self, runs: &[RunResults]) {
        if let Err(exit) = outcome::write_reports(
            &self.out,
            runs,
            json::JsonOptions::RUN,
            self.junit.as_deref(),
        ) {
            eprintln!("wsspec: error: {}", exit.message);
        }
    }
}

pub(crate) async fn client(args: ClientArgs) -> Result<u8, Exit> {
    let interrupted = interruption()?;
    let spec = args
        .spec
        .as_deref()
        .map(|path| spec::load(path, SpecMode::FuzzingServer))
        .transpose()?;
    let suite = load_suite(args.selection.cases_dir.as_ref())?;
    let client_cases: Vec<Case> = suite
        .cases
        .into_iter()
        .filter(|case| case.roles.contains(&Role::Client) && case.needs().is_empty())
        .collect();
    let selected = args.selection.choose(&client_cases, spec.as_ref())?;
    let listen = match (args.listen, &spec) {
        (Some(listen), _) => listen,
        (None, Some(spec)) => spec::listen_address(spec)?.unwrap_or(DEFAULT_LISTEN),
        (None, None) => DEFAULT_LISTEN,
    };
    let identity = args.tls.identity()?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|err| Exit::usage(format!("cannot listen on {listen}: {err}")))?;
    let base = listener
        .local_addr()
        .map_err(|err| Exit::usage(format!("cannot listen on {listen}: {err}")))?;

    let mut config = args.run.config(args.agent.clone(), selected.info);
    if let Some(spec) = &spec {
        spec::apply_options(spec.options, &mut config.settings);
    }
    let driver = match &args.exec {
        Some(command) => Driver::Exec {
            command: command.clone(),
        },
        None => Driver::Loop {
            keep_serving: args.keep_serving,
        },
    };
    let options = ClientOptions {
        tls: identity.as_ref().map(TlsIdentity::acceptor),
        driver,
        idle: Duration::from_secs(args.idle),
        deadline: args.run.deadline.unwrap_or(DEFAULT_DEADLINE),
        exclude_agent_cases: spec
            .as_ref()
            .map(|spec| spec.exclude_agent_cases.clone())
            .unwrap_or_default(),
    };
    let out = spec::out_dir(args.run.out.as_deref(), spec.as_ref());
    outcome::check_writable(&out)?;
    let reports = Arc::new(FileReports {
        out: out.clone(),
        junit: args.run.junit.clone(),
    });
    let scheme = if identity.is_some() { "wss" } else { "ws" };
    match &args.exec {
        Some(command) => eprintln!(
            "wsspec: running {} cases, `{command}` once per case",
            selected.cases.len()
        ),
        None => eprintln!(
            "wsspec: serving {} cases on {scheme}://{base}/ : point a driver at it (getCaseCount, runCase?case=N&agent=NAME, updateReports), or open {}://{base}/ in a browser",
            selected.cases.len(),
            if identity.is_some() { "https" } else { "http" },
        ),
    }
    if args.reference {
        let (base, agent) = (
            format!("ws://{base}"),
            wsspec_reference::client::CLIENT_AGENT,
        );
        tokio::spawn(async move {
            let options = wsspec_reference::client::DriveOptions::default();
            // The run's results say what happened; a driver error leaves cases out of them.
            let _ = wsspec_reference::client::drive(&base, agent, &options).await;
        });
    }
    let label = match &args.exec {
        Some(_) => args.agent.clone(),
        None => "client".to_owned(),
    };
    let progress = Arc::new(Progress::new(
        ProgressMode::detect(),
        &label,
        args.run.strict,
    ));
    let (runs, end) = serve_clients(
        listener,
        &selected.cases,
        &config,
        &options,
        progress.clone(),
        reports.clone(),
        interrupted,
    )
    .await;
    progress.finish();
    if runs.is_empty() {
        if end == RunEnd::Stopped {
            return Ok(exit::INTERRUPTED);
        }
        let why = match end {
            RunEnd::Deadline => format!(
                "the --deadline of {} passed",
                humantime::format_duration(options.deadline)
            ),
            _ => format!("none connected within the --idle time of {} s", args.idle),
        };
        return Err(Exit {
            code: exit::UNREACHABLE,
            message: format!("no client ran a case on {scheme}://{base}/: {why}"),
        });
    }
    let (_, page) = outcome::write_reports(
        &out,
        &runs,
        json::JsonOptions::RUN,
        args.run.junit.as_deref(),
    )?;
    outcome::print_summaries(&runs);
    eprintln!("wsspec: wrote {}", page.display());
    // A run that ended idle is not an interruption: its missing cases show as not run.
    let stopped = match end {
        RunEnd::Stopped => Some(exit::INTERRUPTED),
        RunEnd::Deadline => Some(exit::DEADLINE),
        RunEnd::ReportsRequested | RunEnd::CommandsDone | RunEnd::Idle => None,
    };
    outcome::conclude(&args.outcome, &runs, stopped)
}

/// How long a `wsspec client` run may take unless `--deadline` says otherwise.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(3600);

/// Where `wsspec client` listens unless told otherwise (Autobahn's fuzzingserver default).
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9001);
