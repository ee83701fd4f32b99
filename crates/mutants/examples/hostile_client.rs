//! Runs one hostile client against a harness in the client role, for tests and for trying one by
//! hand:
//!
//! ```text
//! cargo run -p wsspec-mutants --example hostile_client -- BEHAVIOR URL
//! ```
//!
//! BEHAVIOR is a [`ClientBehavior`] name such as `silent`; URL the `ws://` URL of one case, such as
//! `ws://127.0.0.1:9001/runCase?case=3&agent=NAME`, so that
//! `wsspec client --exec "PATH/hostile_client silent {url}"` attacks every case. Attacks once, and
//! exits 0 when the attack ends (after `HOSTILE_LIFETIME` at the latest), 3 when it cannot begin
//! (no connection, or a failed opening handshake), 2 on bad arguments.

use std::process::ExitCode;

use url::Url;
use wsspec_mutants::hostile_client::{self, ClientBehavior};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (behavior, url) = match &args[..] {
        [name, url] => (
            ClientBehavior::ALL.into_iter().find(|b| b.name() == name),
            Url::parse(url).ok(),
        ),
        _ => (None, None),
    };
    let (Some(behavior), Some(url)) = (behavior, url) else {
        let names: Vec<&str> = ClientBehavior::ALL.iter().map(|b| b.name()).collect();
        eprintln!(
            "usage: hostile_client BEHAVIOR URL; behaviours: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    match hostile_client::attack(&url, behavior).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hostile_client: cannot attack {url}: {err}");
            ExitCode::from(3)
        }
    }
}
