//! `wsspec client`: testing a WebSocket client. wsspec listens, and the client connects to it, driven
//! by an Autobahn-style runCase loop, by the browser page at `/`, or by `--exec`.

use std::{
    io::IsTerminal,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use clap::Args;
use tokio::net::TcpListener;
use wsspec_report::{RunResults, json, junit, terminal};
use wsspec_runner::{
    Quiet, RunConfig,
    clients::{ClientOptions, Driver, Reports, serve_clients},
};
use wsspec_suite::{Case, Role, results::SelectionInfo, select};

use crate::cli::{CaseSelection, Exit, exit, load_suite, print_out, write_pages};

#[derive(Args, Debug)]
pub(crate) struct ClientArgs {
    /// Address to listen on; drivers connect to ws://ADDRESS/runCase?case=N&agent=NAME.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Run this command once per case instead of waiting for a driver; `{url}` becomes the case's
    /// URL, e.g. `--exec "python3 my_client.py {url}"` (run through `sh -c`).
    #[arg(long, value_name = "COMMAND")]
    exec: Option<String>,
    #[command(flatten)]
    selection: CaseSelection,
    /// The client's name in the reports, for --exec (drivers name themselves with agent=NAME).
    #[arg(long, default_value = "client")]
    agent: String,
    /// Where to write the reports.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    out: PathBuf,
    /// How many --exec commands run at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Each case's deadline in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// End the run when no client has connected for this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    idle: u64,
    /// End the run after this many seconds whatever happens, with the results so far.
    #[arg(long, default_value_t = 3600, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    deadline: u64,
    /// Keep serving after a driver's /updateReports (until idle or the deadline).
    #[arg(long)]
    keep_serving: bool,
    /// Count NON-STRICT verdicts as failures.
    #[arg(long)]
    strict: bool,
    /// Also write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Seed for masking keys, so that a run can be replayed byte for byte.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
}

/// Writes the reports whenever a driver asks, and at the end.
struct FileReports {
    out: PathBuf,
    junit: Option<PathBuf>,
}

impl FileReports {
    /// One agent's files go straight into `out`; with several agents, each gets `out/AGENT/`, and the
    /// HTML report in `out` compares them.
    fn write(&self, runs: &[RunResults]) -> Result<PathBuf, Exit> {
        for run in runs {
            let dir = if runs.len() == 1 {
                self.out.clone()
            } else {
                self.out.join(json::file_stem(&run.agent))
            };
            json::write_all(&dir, run).map_err(|err| Exit::usage(err.to_string()))?;
        }
        if let (Some(path), [run]) = (&self.junit, runs) {
            junit::write_junit(path, run).map_err(|err| Exit::usage(err.to_string()))?;
        }
        write_pages(&self.out, runs)
    }
}

impl Reports for FileReports {
    fn update(&self, runs: &[RunResults]) {
        if let Err(exit) = self.write(runs) {
            eprintln!("wsspec: error: {}", exit.message);
        }
    }
}

pub(crate) async fn client(args: ClientArgs) -> Result<u8, Exit> {
    let suite = load_suite(args.selection.cases_dir.as_ref())?;
    let client_cases: Vec<Case> = suite
        .cases
        .into_iter()
        .filter(|case| case.roles.contains(&Role::Client) && case.needs().is_empty())
        .collect();
    let selected = select::select(
        &client_cases,
        &args.selection.cases,
        &args.selection.exclude,
    )
    .map_err(|err| Exit::usage(err.to_string()))?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|err| Exit::usage(format!("cannot listen on {}: {err}", args.listen)))?;
    let base = listener
        .local_addr()
        .map_err(|err| Exit::usage(format!("cannot listen on {}: {err}", args.listen)))?;

    let mut config = RunConfig {
        agent: args.agent.clone(),
        jobs: usize::from(args.jobs),
        strict: args.strict,
        selection: SelectionInfo {
            cases: args.selection.cases.clone(),
            exclude: args.selection.exclude.clone(),
            excluded: selected.excluded,
            shard: None,
        },
        ..RunConfig::default()
    };
    config.settings.seed = args.seed;
    config.settings.case_timeout = Duration::from_secs(args.timeout);
    let driver = match &args.exec {
        Some(command) => Driver::Exec {
            command: command.clone(),
        },
        None => Driver::Loop {
            keep_serving: args.keep_serving,
        },
    };
    let options = ClientOptions {
        driver,
        idle: Duration::from_secs(args.idle),
        deadline: Duration::from_secs(args.deadline),
    };
    let reports = Arc::new(FileReports {
        out: args.out.clone(),
        junit: args.junit.clone(),
    });
    match &args.exec {
        Some(command) => eprintln!(
            "wsspec: running {} cases, `{command}` once per case",
            selected.cases.len()
        ),
        None => eprintln!(
            "wsspec: serving {} cases on ws://{base}/ : point a driver at it (getCaseCount, runCase?case=N&agent=NAME, updateReports), or open http://{base}/ in a browser",
            selected.cases.len()
        ),
    }
    let runs = serve_clients(
        listener,
        &selected.cases,
        &config,
        &options,
        Arc::new(Quiet),
        reports.clone(),
    )
    .await;
    if runs.is_empty() {
        return Err(Exit {
            code: exit::UNREACHABLE,
            message: format!("no client connected to ws://{base}/ within {} s", args.idle),
        });
    }
    let page = reports.write(&runs)?;
    summarize(&runs, &page);
    Ok(if runs.iter().any(RunResults::has_failures) {
        exit::FAILED
    } else {
        exit::OK
    })
}

fn summarize(runs: &[RunResults], page: &Path) {
    let stdout_tty = std::io::stdout().is_terminal();
    let style = terminal::Style {
        color: stdout_tty && std::env::var_os("NO_COLOR").is_none(),
        width: None,
    };
    for run in runs {
        print_out(&terminal::summary(run, style));
    }
    eprintln!("wsspec: wrote {}", page.display());
}
