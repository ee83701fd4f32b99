//! The wsspec runner: executes cases against a target and judges what it does.
//!
//! The runner never prints. It takes the selected cases and a [`RunConfig`], runs the cases concurrently
//! (each on its own connection, `jobs` at a time, in the order of [`schedule`]), reports progress to an [`Observer`], and returns
//! [`RunResults`], which the reporters render; [`run_server_until`] also stops early on request and then
//! returns what finished. Every verdict comes from bytes exchanged with the peer.
//!
//! A case runs in three layers. [`interpret`] is the case interpreter, a sans-IO state machine: it is
//! fed the peer's bytes, the end of its side, finished writes and timers, and asks for writes,
//! shutdowns and the end; it records what happened and decides nothing. [`drive`] is its tokio driver:
//! it connects (or takes an accepted client), moves bytes and sleeps when asked, within the case's
//! deadline. [`judge`] turns the interpreter's record into the verdict, the close verdict and the
//! notes: every rule that turns bytes into verdicts lives there. Connections run over TCP for `ws://`
//! targets and over TLS for `wss://` ones ([`transport`]); nothing above the driver knows which.
//! [`clients`] serves client targets: wsspec is then the server.

pub mod body;
pub mod clients;
pub mod compression_cache;
pub mod conn;
pub mod deflate;
pub mod drive;
pub mod handshake;
pub mod interpret;
pub mod judge;
pub mod liveness;
pub mod outgoing;
pub mod read_pool;
pub mod schedule;
pub mod tls_tap;
pub mod transport;
pub mod write_progress;

use std::{
    collections::{HashMap, HashSet},
    pin::Pin,
    sync::{Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant, SystemTime},
};

use wsspec_suite::{
    Case, Role,
    results::{CaseResult, RunResults, SCHEMA_VERSION, SelectionInfo},
};

pub use drive::CaseSettings;
pub use transport::{TlsClient, TlsOptions};

/// A server to test, from a `ws://` or `wss://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// The host to connect to.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The value of the Host header (the host, and the port when the URL names one).
    pub host_header: String,
    /// The request target: path and query.
    pub resource: String,
    /// Whether the connection runs over TLS (`wss://`).
    pub tls: bool,
}

/// Why a URL cannot be tested.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL at all.
    #[error("`{0}` is not a URL: {1}")]
    Malformed(String, String),
    /// A scheme other than ws or wss.
    #[error("`{0}`: the scheme must be ws:// or wss://")]
    Scheme(String),
    /// No host.
    #[error("`{0}` has no host")]
    NoHost(String),
}

impl Target {
    /// Parses `ws://host[:port][/path][?query]`, or the same with `wss://` (port 443 by default).
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let url = url::Url::parse(text)
            .map_err(|err| TargetError::Malformed(text.to_owned(), err.to_string()))?;
        let tls = match url.scheme() {
            "ws" => false,
            "wss" => true,
            _ => return Err(TargetError::Scheme(text.to_owned())),
        };
        let host = url
            .host_str()
            .ok_or_else(|| TargetError::NoHost(text.to_owned()))?
            .to_owned();
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let mut resource = url.path().to_owned();
        if let Some(query) = url.query() {
            resource.push('?');
            resource.push_str(query);
        }
        // The URL crate keeps IPv6 brackets in host_str; TCP connect wants them gone.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Target {
            url: text.to_owned(),
            host,
            port,
            host_header,
            resource,
            tls,
        })
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The name of the implementation under test.
    pub agent: String,
    /// How many cases run at once (the paced ones take at most half of the slots; see [`schedule`]).
    pub jobs: usize,
    /// Whether NON-STRICT fails the run.
    pub strict: bool,
    /// The patterns that chose the cases (recorded in the results).
    pub selection: SelectionInfo,
    /// Per-case settings.
    pub settings: CaseSettings,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            agent: "target".into(),
            jobs: 16,
            strict: false,
            selection: SelectionInfo::default(),
            settings: CaseSettings {
                seed: 0x5eed,
                handshake_timeout: Duration::from_secs(5),
                close_wait: Duration::from_secs(2),
                case_timeout: Duration::from_secs(30),
                progress_timeout: Duration::from_secs(5),
                max_message_size: None,
                policy: Default::default(),
                tls: TlsClient::default(),
                read_pool: read_pool::ReadPool::default(),
                liveness: liveness::Liveness::default(),
                compression: compression_cache::CompressionCache::default(),
            },
        }
    }
}

/// Receives progress as the run goes. The CLI draws it; tests ignore it.
pub trait Observer: Send + Sync {
    /// The run is about to start `total` cases.
    fn started(&self, _total: usize) {}
    /// One case finished.
    fn finished(&self, _result: &CaseResult) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// The target could not be reached at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot reach {url}: {reason}")]
pub struct Unreachable {
    /// The URL.
    pub url: String,
    /// The connect error.
    pub reason: String,
}

/// Checks that something accepts connections at the target (and, for `wss://`, completes a TLS
/// handshake with a certificate `tls` trusts), so that an unreachable target is one clear error instead
/// of every case failing.
pub async fn probe(target: &Target, tls: &TlsClient, timeout: Duration) -> Result<(), Unreachable> {
    let (_reader, mut writer) = transport::connect(target, tls, timeout)
        .await
        .map_err(|err| Unreachable {
            url: target.url.clone(),
            reason: err.to_string(),
        })?;
    // Leave as a client should: close_notify on TLS, then FIN.
    let _ = tokio::time::timeout(timeout, tokio::io::AsyncWriteExt::shutdown(&mut writer)).await;
    Ok(())
}

/// Runs cases against a server and collects the results, in id order.
pub async fn run_server(
    target: &Target,
    cases: &[&Case],
    config: &RunConfig,
    observer: &dyn Observer,
) -> RunResults {
    run_server_until(target, cases, config, observer, std::future::pending()).await
}

/// Runs cases against a server like [`run_server`], until `stop` completes (Ctrl-C, or a deadline) with
/// the reason. Then the cases still running are abandoned, their connections dropped, and the results
/// are incomplete: they hold the cases that finished, `complete` is false, `stopped` says why, and
/// `not_run` lists the ids of the others.
pub async fn run_server_until(
    target: &Target,
    cases: &[&Case],
    config: &RunConfig,
    observer: &dyn Observer,
    stop: impl Future<Output = String>,
) -> RunResults {
    let started = SystemTime::now();
    let run_start = Instant::now();
    observer.started(cases.len());
    let finished = Mutex::new(Vec::with_capacity(cases.len()));
    let record = |result: CaseResult| {
        observer.finished(&result);
        finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(result);
    };
    let run = schedule::run_in_order(
        cases.iter().map(|case| (*case, *case)).collect(),
        config.jobs,
        |case| async {
            record(CaseTask::spawn(case, target, &config.settings, run_start).await);
        },
    );
    let stopped = tokio::select! {
        biased;
        () = run => None,
        reason = stop => Some(reason),
    };
    let mut results = finished
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let order: HashMap<&str, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| (case.id.as_str(), i))
        .collect();
    results.sort_by_key(|result| order.get(result.id.as_str()).copied().unwrap_or(usize::MAX));
    let done: HashSet<&str> = results.iter().map(|result| result.id.as_str()).collect();
    let not_run = cases
        .iter()
        .map(|case| case.id.to_string())
        .filter(|id| !done.contains(id.as_str()))
        .collect();
    RunResults {
        schema: SCHEMA_VERSION,
        tool: format!("wsspec {}", env!("CARGO_PKG_VERSION")),
        agent: config.agent.clone(),
        target: wsspec_suite::results::Target {
            url: target.url.clone(),
            role: Role::Server,
        },
        started: humantime::format_rfc3339_millis(started).to_string(),
        duration_ms: run_start.elapsed().as_millis() as u64,
        selection: config.selection.clone(),
        strict: config.strict,
        complete: stopped.is_none(),
        stopped,
        cases: results,
        not_run,
    }
}

/// One case running on a tokio task of its own. A task of its own has its own share of the runtime's
/// cooperative budget, so a peer that floods one case cannot starve the cases beside it (as it would if
/// they were all polled from one task). Dropping it (an interrupted run) aborts the case, which drops
/// its connection. A case that panics becomes an ERROR result instead of ending the run.
struct CaseTask<'a> {
    case: &'a Case,
    handle: tokio::task::JoinHandle<CaseResult>,
    started: Instant,
    run_start: Instant,
}

impl<'a> CaseTask<'a> {
    fn spawn(case: &'a Case, target: &Target, settings: &CaseSettings, run_start: Instant) -> Self {
        let (owned, target, settings) = (case.clone(), target.clone(), settings.clone());
        CaseTask {
            case,
            handle: tokio::spawn(async move {
                drive::run_server_case(&owned, &target, &settings, run_start).await
            }),
            started: Instant::now(),
            run_start,
        }
    }

    /// The result of a case whose task failed: wsspec's fault, never the target's.
    fn harness_error(&self, error: &tokio::task::JoinError) -> CaseResult {
        drive::harness_error(
            self.case,
            format!("wsspec failed while running this case: {error}"),
            self.started.duration_since(self.run_start),
            self.started.elapsed(),
        )
    }
}

impl Future for CaseTask<'_> {
    type Output = CaseResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CaseResult> {
        Pin::new(&mut self.handle)
            .poll(cx)
            .map(|joined| match joined {
                Ok(result) => result,
                Err(error) => self.harness_error(&error),
            })
    }
}

impl Drop for CaseTask<'_> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_defaults() {
        let t = Target::parse("ws://127.0.0.1:9001/chat?x=1").unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.host_header.as_str(),
                t.resource.as_str()
            ),
            ("127.0.0.1", 9001, "127.0.0.1:9001", "/chat?x=1")
        );
        let t = Target::parse("ws://example.org").unwrap();
        assert_eq!(
            (t.port, t.host_header.as_str(), t.resource.as_str()),
            (80, "example.org", "/")
        );
        let t = Target::parse("ws://[::1]:9/").unwrap();
        assert_eq!(t.host, "::1");
        assert!(!t.tls);
        let t = Target::parse("wss://example.org/x").unwrap();
        assert_eq!(
            (t.tls, t.port, t.host_header.as_str(), t.resource.as_str()),
            (true, 443, "example.org", "/x")
        );
        let t = Target::parse("wss://127.0.0.1:9443").unwrap();
        assert_eq!(
            (t.tls, t.port, t.host_header.as_str()),
            (true, 9443, "127.0.0.1:9443")
        );
        assert!(matches!(
            Target::parse("http://x"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("not a url"),
            Err(TargetError::Malformed(..))
        ));
    }

    #[tokio::test]
    async fn a_stopped_run_returns_what_finished_and_lists_the_rest() {
        // A target that accepts connections and never answers: every case would wait for its deadline.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let suite = wsspec_suite::Suite::builtin().unwrap();
        let picked = wsspec_suite::select::select(&suite.cases, &["1.1.*".into()], &[]).unwrap();
        let started = Instant::now();
        let results = run_server_until(
            &Target::parse(&url).unwrap(),
            &picked.cases,
            &RunConfig::default(),
            &Quiet,
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "stopped by the test".to_owned()
            },
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!results.complete);
        assert_eq!(results.stopped.as_deref(), Some("stopped by the test"));
        assert!(results.cases.is_empty());
        assert_eq!(results.not_run.len(), picked.cases.len());
        assert_eq!(results.not_run[0], "1.1.1");
    }
}
