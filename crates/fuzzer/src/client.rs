//! Fuzzing clients: wsspec is the server, and the client connects once per scenario.
//!
//! A [`ClientTestee`] holds the listener of `wsspec client` in its one-case-at-a-time form
//! ([`ClientConnections`]) and a [`ClientLauncher`] that makes the client open a URL: an `--exec`
//! command run once per scenario with the scenario's `runCase` URL (as `wsspec client --exec`
//! does, through [`run_client_command`]), or a client in this process (the built-in
//! tokio-tungstenite client, or a test's). Each scenario waits for its connection, then runs as a
//! client case with [`run_client_case`], so the request is checked against RFC 6455 §4.1 and every
//! frame the client sends must be masked. A client that never connects is not judged at all: the
//! scenario ends with the reason, and the fuzzer decides what that means ([`crate::fuzz`]).

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use wsspec_runner::{
    CaseSettings,
    clients::{ClientConnections, run_client_command},
    drive::run_client_case,
};
use wsspec_suite::{Case, results::CaseResult};

/// After the client's command exits, how long its connection may still take to arrive.
const LATE_CONNECTION: Duration = Duration::from_millis(500);

/// A future that runs a client to its end; what an in-process launcher returns.
pub type ClientRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the client is made to open a scenario's URL.
#[derive(Clone)]
pub enum ClientLauncher {
    /// This command, run once per scenario through `sh -c`, `{url}` replaced by the scenario's URL
    /// in single quotes. It is killed when its scenario is over and it has not exited.
    Exec(String),
    /// This function, called with the scenario's URL; its future runs alongside the scenario and is
    /// dropped when the scenario is over.
    InProcess(Arc<dyn Fn(String) -> ClientRun + Send + Sync>),
}

/// A client under test, and the listener it connects to.
pub struct ClientTestee {
    connections: ClientConnections,
    launcher: ClientLauncher,
    agent: String,
}

impl ClientTestee {
    /// A client that `launcher` starts and that connects to `connections`, as `agent` in its URLs.
    pub fn new(connections: ClientConnections, launcher: ClientLauncher, agent: &str) -> Self {
        ClientTestee {
            connections,
            launcher,
            agent: agent.to_owned(),
        }
    }

    /// The listener's URL.
    pub fn base_url(&self) -> &str {
        self.connections.base_url()
    }

    /// Starts the client on `url`; the future ends when the client does, with how it ended.
    fn launch(
        &self,
        url: String,
        deadline: Duration,
    ) -> Pin<Box<dyn Future<Output = String> + Send>> {
        match &self.launcher {
            ClientLauncher::Exec(command) => {
                let command = command.clone();
                Box::pin(async move { run_client_command(&command, &url, deadline).await })
            }
            ClientLauncher::InProcess(start) => {
                let run = start(url);
                Box::pin(async move {
                    run.await;
                    "the in-process client returned".to_owned()
                })
            }
        }
    }

    /// Runs `case` on one connection from the client. `Err`: the client never connected, and why.
    pub async fn run_case(
        &self,
        case: &Case,
        settings: &CaseSettings,
    ) -> Result<CaseResult, String> {
        let deadline = case
            .timeout_ms
            .map_or(settings.case_timeout, Duration::from_millis);
        let mut pending = self.connections.expect(&self.agent);
        let mut client = self.launch(pending.url().to_owned(), deadline);
        let mut client_ended = false;
        let waited = tokio::select! {
            connection = pending.connection() => connection,
            ended = &mut client => {
                client_ended = true;
                match tokio::time::timeout(LATE_CONNECTION, pending.connection()).await {
                    Ok(connection) => connection,
                    Err(_) => return Err(format!("the client never connected: {ended}")),
                }
            }
            () = tokio::time::sleep(deadline) => {
                return Err(format!(
                    "the client did not connect within {} ms",
                    deadline.as_millis()
                ));
            }
        };
        let Some((accepted, seen_before)) = waited else {
            return Err("wsspec stopped listening".into());
        };
        let run = run_client_case(
            case,
            accepted,
            seen_before,
            settings,
            std::time::Instant::now(),
        );
        let mut run = std::pin::pin!(run);
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                _ = &mut client, if !client_ended => client_ended = true,
            }
        };
        if !client_ended {
            // The connection is over; a client that lingers is stopped after a moment.
            let _ = tokio::time::timeout(settings.close_wait, &mut client).await;
        }
        Ok(result)
    }
}
