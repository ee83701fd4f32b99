//! Runs a hostile server, for benchmarks and for trying one by hand:
//!
//! ```text
//! cargo run -p wsspec-mutants --example hostile_server -- BEHAVIOR [EVERY]
//! ```
//!
//! BEHAVIOR is a [`Behavior`] name such as `silent`; EVERY (default 1) attacks every EVERY-th
//! WebSocket request and serves the others as the correct echo server. Prints the server's URL on
//! the first line of stdout, then serves until killed; exits 2 on bad arguments.

use std::{io::Write, process::ExitCode};

use wsspec_mutants::hostile::{self, Behavior};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let behavior = args
        .first()
        .and_then(|name| Behavior::ALL.into_iter().find(|b| b.name() == name));
    let every = match args.get(1) {
        Some(every) => every.parse().ok(),
        None => Some(1),
    };
    let (Some(behavior), Some(every), true) = (behavior, every, args.len() <= 2) else {
        let names: Vec<&str> = Behavior::ALL.iter().map(|b| b.name()).collect();
        eprintln!(
            "usage: hostile_server BEHAVIOR [EVERY]; behaviours: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let server = match hostile::spawn(behavior, every).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("hostile_server: cannot listen: {err}");
            return ExitCode::from(3);
        }
    };
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
