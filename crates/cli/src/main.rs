//! `wsspec`: the command line. Flags, wiring and exit codes only; the work happens in the library crates.
//!
//! Exit codes: 0 no failure; 1 at least one case failed (with `--baseline`: a verdict differs from the
//! baseline); 2 usage, configuration, spec-file or case-file error;
//! 3 the target is unreachable; 130 interrupted (Ctrl-C or SIGTERM), after writing the results so far.

mod annotations;
mod cli;
mod client;
mod fuzz;
mod outcome;
mod progress;
mod run_options;
mod selection;
mod server;
mod spec;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
