//! `wsspec`: the command line. Flags, wiring and exit codes only; the work happens in the library crates.
//! This file parses the arguments and dispatches to the subcommand's module (one file each); the
//! helpers they share (exit codes, stdout, signals, case loading and selection, TLS serving, the
//! reports at the end of a run) have modules of their own.
//!
//! Exit codes: 0 no failure; 1 at least one case failed (with `--baseline`: a verdict differs from the
//! baseline); 2 usage, configuration, spec-file or case-file error;
//! 3 the target is unreachable; 4 the run's `--deadline` passed before every case ran, after writing
//! the results so far; 130 interrupted (Ctrl-C or SIGTERM), after writing the results so far.

mod annotations;
mod cases;
mod client;
mod completions;
mod drive;
mod echo;
mod exit;
mod fuzz;
mod interruption;
mod list;
mod man;
mod outcome;
mod progress;
mod report;
mod requirements;
mod run_options;
mod selection;
mod serve_tls;
mod server;
mod spec;
mod stdout;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
    Server(server::ServerArgs),
    /// List the cases: id, level, RFC section and title.
    List(list::ListArgs),
    /// List the requirements of RFC 6455, RFC 7692 and the HTTP rules of the handshake: each with its
    /// keyword, whom it binds, the cases that check it and a test peer that fails them.
    Requirements(requirements::RequirementsArgs),
    /// Render one or more results.json files into one report (index.html and badge.svg): the matrix
    /// of agents × cases. Runs of the same agent (e.g. shards) merge; a later file wins on a case.
    Report(report::ReportArgs),
    /// Test a WebSocket client (wsspec is the server it connects to, on Autobahn's fuzzingserver protocol).
    Client(client::ClientArgs),
    /// Run the built-in reference echo server (tokio-tungstenite) until interrupted.
    Echo(echo::EchoArgs),
    /// Run the built-in client (tokio-tungstenite) against a fuzzing server: every case of
    /// BASE_URL/getCaseCount, then /updateReports. Verdicts are the server's to give.
    Drive(drive::DriveArgs),
    /// Fuzz a WebSocket server (or, with --client, a client): random scenarios judged by what RFC
    /// 6455 requires; each finding is minimized and saved as a case file. With no URL and no
    /// --client, fuzz the built-in reference server.
    Fuzz(fuzz::FuzzArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(completions::CompletionsArgs),
    /// Print the manual page, or write one per command into a folder.
    Man(man::ManArgs),
}

/// Parses the arguments and runs the command.
fn main() -> ExitCode {
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
            Command::Server(args) => server::server(args).await,
            Command::Client(args) => client::client(args).await,
            Command::List(args) => list::list(args),
            Command::Requirements(args) => requirements::requirements(args),
            Command::Report(args) => report::report(args),
            Command::Echo(args) => echo::echo(args).await,
            Command::Drive(args) => drive::drive(args).await,
            Command::Fuzz(args) => fuzz::fuzz_command(args).await,
            Command::Completions(args) => completions::completions(args, Cli::command()),
            Command::Man(args) => man::man(args, Cli::command()),
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
