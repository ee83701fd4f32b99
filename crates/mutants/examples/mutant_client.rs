//! Runs a mutant client against a fuzzing server, for trying one by hand (against Autobahn's
//! fuzzingserver or `wsspec client`):
//!
//! ```text
//! cargo run -p wsspec-mutants --example mutant_client -- ws://127.0.0.1:9001 AGENT [DEFECT]
//! ```
//!
//! DEFECT is a [`ClientDefect`] name such as `sends-unmasked` (default `none`). Prints one line
//! per case and exits 0 once every case ran, 3 when the server cannot be used, 2 on bad arguments.

use std::process::ExitCode;

use wsspec_mutants::ClientDefect;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base_url, agent, defect) = match &args[..] {
        [base_url, agent] => (base_url, agent, Some(ClientDefect::None)),
        [base_url, agent, name] => (
            base_url,
            agent,
            ClientDefect::ALL.into_iter().find(|d| d.name() == name),
        ),
        _ => (&String::new(), &String::new(), None),
    };
    let Some(defect) = defect else {
        let names: Vec<&str> = ClientDefect::ALL.iter().map(|d| d.name()).collect();
        eprintln!(
            "usage: mutant_client BASE_URL AGENT [DEFECT]; defects: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    match wsspec_mutants::drive(base_url, agent, defect).await {
        Ok(summary) => {
            for case in &summary.cases {
                eprintln!("case {:>4} {}", case.case, case.observation);
            }
            eprintln!("ran {} cases with defect {defect}", summary.case_count);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mutant_client: {err}");
            ExitCode::from(3)
        }
    }
}
