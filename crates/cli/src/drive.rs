//! `wsspec drive`: the built-in client (tokio-tungstenite) run against a fuzzing server, every case of
//! BASE_URL/getCaseCount, then /updateReports. Verdicts are the server's to give.

use std::time::{Duration, Instant};

use clap::Args;
use wsspec_reference::client::{self, CLIENT_AGENT, DriveError, DriveOptions};

use crate::exit::{self, Exit};

#[derive(Args, Debug)]
pub(crate) struct DriveArgs {
    /// The fuzzing server's base URL, such as ws://127.0.0.1:9001 (`wsspec client` or Autobahn's
    /// fuzzingserver).
    base_url: String,
    /// The client's name in the server's reports.
    #[arg(long, default_value = CLIENT_AGENT)]
    agent: String,
    /// Each case's deadline in seconds; a case still open then is dropped.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

/// Runs the built-in client driver; one line per case and a summary on stderr. Exit 0 once every
/// case ran, 3 when the server cannot be used, 2 for a bad URL.
pub(crate) async fn drive(args: DriveArgs) -> Result<u8, Exit> {
    let options = DriveOptions {
        case_timeout: Duration::from_secs(args.timeout),
        ..DriveOptions::default()
    };
    let started = Instant::now();
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
