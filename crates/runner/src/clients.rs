//! Testing clients: wsspec as the server a client connects to.
//!
//! The listener speaks Autobahn's fuzzingserver protocol, so that existing client drivers work
//! unchanged. Every request is a WebSocket handshake to one of these paths:
//!
//! | path | what happens |
//! |---|---|
//! | `/getCaseCount` | one text message, the number of cases, then a close |
//! | `/getCaseInfo?case=I` | one text message, `{"id": "1.1.1", "description": "..."}` |
//! | `/getCaseStatus?case=I&agent=A` | one text message, `{"behavior": "OK"}`, once case I has a result |
//! | `/runCase?case=I&agent=A` (or `casetuple=1.1.1`) | runs case I (1-based, in run order) on this connection |
//! | `/reportObservation?case=I&agent=A&code=C&reason=R&clean=B` | the close the driver's application saw for case I (wsspec only) |
//! | `/updateReports?agent=A` | the reports are written; a run that waits for drivers then ends |
//!
//! A plain `GET /` (no upgrade) serves the browser driver page, which runs every case in the browser
//! through the standard WebSocket API. With [`Driver::Exec`], wsspec instead starts a command once per
//! case with that case's `runCase` URL, as h2spec's client mode does, and no driver loop is needed.
//!
//! Autobahn's `exclude-agent-cases` ([`ClientOptions::exclude_agent_cases`]) work as in Autobahn: a
//! `runCase` for a case excluded for its agent is upgraded and closed at once with 1000, and the case
//! has no result for that agent (and is not counted as missing).
//!
//! [`ClientConnections`] serves the same `runCase` URLs one connection at a time, for cases that are
//! made up as the run goes (the client fuzzer), and [`run_client_command`] runs one `--exec` command.
//!
//! Nothing here can hang a run: request heads have a deadline, every case has its own, a run that
//! waits for drivers ends when none has connected for [`ClientOptions::idle`], and every run ends at
//! [`ClientOptions::deadline`] with what it has.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::Notify,
};
use wsspec_suite::{
    Case, Role,
    autobahn::AgentExclusions,
    results::{CaseResult, Observation, RunResults, SCHEMA_VERSION, Target},
};
use wsspec_wire::{CloseCode, FrameSpec, Request, Response, encode_frame};

use tokio_rustls::TlsAcceptor;

mod broken_request;
mod commands;
mod listener;
mod on_demand;
mod route;
mod run_end;

use route::{Query, Route, agent, observation};

pub use run_end::RunEnd;

pub use commands::run_client_command;
use commands::run_commands;
use listener::{Arrived, ConnectionHandler, Read, accept_loop, http_error, read_request};

pub use on_demand::{ClientConnections, PendingConnection};

use crate::{
    Observer, RunConfig, drive,
    judge::{self, HandshakeProblem},
    transport::{Channel, Reader, Writer},
};

/// The browser driver page, served at `/`.
const BROWSER_PAGE: &str = include_str!("clients/browser.html");

/// How long a driver's control connection (case count, info, status, reports) may take.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// How clients are brought to the listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Driver {
    /// Drivers connect by themselves (a runCase loop, or the browser page). The run ends after the first
    /// `/updateReports`, or, with `keep_serving`, only at the deadline or when idle.
    Loop {
        /// Go on serving after `/updateReports`.
        keep_serving: bool,
    },
    /// wsspec runs this command once per case, `{url}` replaced by the case's `runCase` URL (in single
    /// quotes), through `sh -c`. Cases run `jobs` at a time, in the order of [`crate::schedule`].
    Exec {
        /// The command template.
        command: String,
    },
}

/// Options of a client run beyond [`RunConfig`].
#[derive(Clone)]
pub struct ClientOptions {
    /// Serve TLS (`wss://`) with this acceptor instead of plain TCP.
    pub tls: Option<TlsAcceptor>,
    /// How drivers arrive.
    pub driver: Driver,
    /// A run that waits for drivers ends when no connection has arrived for this long.
    pub idle: Duration,
    /// Every run ends by this deadline, with the results it has.
    pub deadline: Duration,
    /// Cases that some agents skip.
    pub exclude_agent_cases: AgentExclusions,
}

/// Receives the results of an agent whenever a driver asks for the reports (`/updateReports`).
pub trait Reports: Send + Sync {
    /// Writes the reports of these runs (one per agent seen so far).
    fn update(&self, runs: &[RunResults]);
}

/// Serves clients on `listener` until the run ends (or `stop` completes), and returns one run per
/// agent, in name order, and why it ended.
pub async fn serve_clients(
    listener: TcpListener,
    cases: &[&Case],
    config: &RunConfig,
    options: &ClientOptions,
    observer: Arc<dyn Observer>,
    reports: Arc<dyn Reports>,
    stop: impl Future<Output = ()>,
) -> (Vec<RunResults>, RunEnd) {
    let scheme = if options.tls.is_some() { "wss" } else { "ws" };
    let base_url = listener
        .local_addr()
        .map(|addr| format!("{scheme}://{addr}"))
        .unwrap_or_default();
    let shared = Arc::new(Shared {
        cases: cases.iter().map(|case| (*case).clone()).collect(),
        config: config.clone(),
        base_url,
        started: SystemTime::now(),
        run_start: Instant::now(),
        agents: Mutex::new(BTreeMap::new()),
        activity: Notify::new(),
        updated: Notify::new(),
        observer,
        reports,
        exclusions: options.exclude_agent_cases.clone(),
    });
    shared.observer.started(shared.cases.len());
    let accepting = accept_loop(listener, shared.clone(), options.tls.clone());
    let deadline = tokio::time::sleep(options.deadline);
    let end = match &options.driver {
        Driver::Exec { command } => {
            tokio::select! {
                () = run_commands(&shared, command) => RunEnd::CommandsDone,
                () = accepting => RunEnd::Stopped,
                () = deadline => RunEnd::Deadline,
                () = stop => RunEnd::Stopped,
            }
        }
        Driver::Loop { .. } => {
            tokio::select! {
                end = accepting_until_updated(&shared, accepting, options) => end,
                () = deadline => RunEnd::Deadline,
                () = stop => RunEnd::Stopped,
            }
        }
    };
    (shared.runs(end.stopped(options)), end)
}

/// Serves until a driver asks for the reports, or until no connection arrives for the idle time.
async fn accepting_until_updated(
    shared: &Arc<Shared>,
    accepting: impl Future<Output = ()>,
    options: &ClientOptions,
) -> RunEnd {
    let keep_serving = matches!(options.driver, Driver::Loop { keep_serving: true });
    let updated = async {
        if keep_serving {
            std::future::pending::<()>().await;
        }
        shared.updated.notified().await;
    };
    let idle = async {
        loop {
            let activity = shared.activity.notified();
            if tokio::time::timeout(options.idle, activity).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = updated => RunEnd::ReportsRequested,
        () = idle => RunEnd::Idle,
        () = accepting => RunEnd::Stopped,
    }
}

/// What the listener knows, shared by every connection.
struct Shared {
    cases: Vec<Case>,
    config: RunConfig,
    base_url: String,
    started: SystemTime,
    run_start: Instant,
    agents: Mutex<BTreeMap<String, Agent>>,
    /// Signalled on every connection, for the idle timeout.
    activity: Notify,
    /// Signalled after `/updateReports`.
    updated: Notify,
    observer: Arc<dyn Observer>,
    reports: Arc<dyn Reports>,
    /// Cases that some agents skip.
    exclusions: AgentExclusions,
}

/// One agent's progress.
#[derive(Default)]
struct Agent {
    /// Results by case index (0-based).
    results: BTreeMap<usize, CaseResult>,
    /// Cases whose connection is open.
    running: HashSet<usize>,
    /// What the driver reported, by case index.
    observations: HashMap<usize, Observation>,
    /// Every Sec-WebSocket-Key the agent has sent.
    keys: HashSet<String>,
}

impl Shared {
    fn with_agent<T>(&self, agent: &str, f: impl FnOnce(&mut Agent) -> T) -> T {
        let mut agents = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(agents.entry(agent.to_owned()).or_default())
    }

    /// The URL that runs case `index` (0-based) for `agent`.
    fn case_url(&self, index: usize, agent: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("case", &(index + 1).to_string())
            .append_pair("agent", agent)
            .finish();
        format!("{}/runCase?{query}", self.base_url)
    }

    /// One run per agent, observations judged.
    fn runs(&self, stopped: Option<String>) -> Vec<RunResults> {
        let agents = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        agents
            .iter()
            .map(|(name, agent)| self.run_of(name, agent, stopped.clone()))
            .collect()
    }

    /// Whether case `index` is excluded for `agent`.
    fn excluded(&self, agent: &str, index: usize) -> bool {
        self.cases
            .get(index)
            .is_some_and(|case| self.exclusions.excludes(agent, case.id.as_str()))
    }

    fn run_of(&self, name: &str, agent: &Agent, stopped: Option<String>) -> RunResults {
        let cases = agent
            .results
            .iter()
            .map(|(index, result)| {
                let mut result = result.clone();
                if let Some(case) = self.cases.get(*index) {
                    if let Some(expect) = &case.observe {
                        let seen = agent.observations.get(index);
                        let requirements = case.requirements.as_slice();
                        judge::add_observation(&mut result, case.level, requirements, expect, seen);
                    }
                }
                result
            })
            .collect();
        let not_run: Vec<String> = self
            .cases
            .iter()
            .enumerate()
            .filter(|(index, _)| !agent.results.contains_key(index) && !self.excluded(name, *index))
            .map(|(_, case)| case.id.to_string())
            .collect();
        let mut selection = self.config.selection.clone();
        selection.excluded += (0..self.cases.len())
            .filter(|index| self.excluded(name, *index))
            .count();
        RunResults {
            schema: SCHEMA_VERSION,
            tool: format!("wsspec {}", env!("CARGO_PKG_VERSION")),
            agent: name.to_owned(),
            target: Target {
                url: self.base_url.clone(),
                role: Role::Client,
            },
            started: humantime::format_rfc3339_millis(self.started).to_string(),
            duration_ms: self.run_start.elapsed().as_millis() as u64,
            selection,
            strict: self.config.strict,
            complete: stopped.is_none() && not_run.is_empty(),
            stopped,
            not_run,
            cases,
        }
    }
}

impl ConnectionHandler for Shared {
    fn handshake_timeout(&self) -> Duration {
        self.config.settings.handshake_timeout
    }

    fn arrived(&self) {
        self.activity.notify_waiters();
    }

    fn left_tls(&self, cleartext: &[u8]) {
        self.cleartext_request(cleartext);
    }

    async fn serve(self: Arc<Self>, reader: Reader, writer: Writer, channel: Channel) {
        serve_connection(reader, writer, channel, self).await;
    }
}

/// Reads a request head and routes it.
async fn serve_connection(
    mut reader: Reader,
    mut writer: Writer,
    channel: Channel,
    shared: Arc<Shared>,
) {
    let timeout = shared.config.settings.handshake_timeout;
    let Arrived {
        request,
        head,
        leftover,
    } = match read_request(&mut reader, &mut writer, timeout).await {
        Read::Arrived(arrived) => arrived,
        Read::Unfinished(unfinished) => return shared.unfinished_request(&unfinished),
        Read::LeftTls(cleartext) => return shared.cleartext_request(&cleartext),
        Read::Gone => return,
    };
    if channel == Channel::SkippedTls {
        let why = "this listener speaks TLS (wss://): the handshake must come through it";
        // The client may be gone already; nothing to report to.
        let _ = http_error(&mut writer, 400, "Bad Request", why).await;
        let problem = HandshakeProblem {
            text: format!(
                "the client sent its opening handshake in the clear to a wss:// listener (§4.1: if /secure/ is true, it MUST perform a TLS handshake before sending the handshake data): {} {}",
                request.method, request.target
            ),
            breaks: &["6455-4.1-13"],
        };
        return shared.fail_case_of(&request.target, problem);
    }
    let route = Route::of(&request);
    // A request that asks for a WebSocket in either way is an upgrade: one that misses the other
    // field still runs its case, which then fails on what it misses.
    let upgrade = request.header("sec-websocket-key").is_some()
        || request
            .header_values("upgrade")
            .any(|value| wsspec_wire::header_has_token(value, "websocket"));
    let result = match (route, upgrade) {
        (Route::Page, false) => http_page(&mut writer).await,
        (Route::Page, true) => http_error(&mut writer, 404, "Not Found", "no such path").await,
        (Route::Unknown(path), _) => {
            let why = format!("{path} is not a wsspec path (see /getCaseCount, /runCase)");
            http_error(&mut writer, 404, "Not Found", &why).await
        }
        (_, false) => {
            let why = "this path takes a WebSocket handshake";
            http_error(&mut writer, 426, "Upgrade Required", why).await
        }
        (Route::CaseCount, true) => {
            control_reply(
                (&mut reader, &mut writer),
                &request,
                Some(shared.cases.len().to_string()),
            )
            .await
        }
        (Route::CaseInfo(query), true) => match shared.case_index(&query) {
            Ok(index) => {
                let case = &shared.cases[index];
                let info = serde_json::json!({ "id": case.id.as_str(), "description": case.title });
                control_reply((&mut reader, &mut writer), &request, Some(info.to_string())).await
            }
            Err(why) => http_error(&mut writer, 400, "Bad Request", &why).await,
        },
        (Route::CaseStatus(query), true) => match (shared.case_index(&query), agent(&query)) {
            (Ok(index), Ok(agent)) => {
                let status = shared.wait_for_result(&agent, index).await;
                let text = serde_json::json!({ "behavior": status }).to_string();
                control_reply((&mut reader, &mut writer), &request, Some(text)).await
            }
            (Err(why), _) | (_, Err(why)) => {
                http_error(&mut writer, 400, "Bad Request", &why).await
            }
        },
        (Route::Observation(query), true) => match (shared.case_index(&query), agent(&query)) {
            (Ok(index), Ok(agent)) => {
                let observation = observation(&query);
                shared.with_agent(&agent, |a| a.observations.insert(index, observation));
                control_reply((&mut reader, &mut writer), &request, None).await
            }
            (Err(why), _) | (_, Err(why)) => {
                http_error(&mut writer, 400, "Bad Request", &why).await
            }
        },
        (Route::UpdateReports(query), true) => match agent(&query) {
            Ok(_) => {
                let runs = shared.runs(None);
                shared.reports.update(&runs);
                let sent = control_reply((&mut reader, &mut writer), &request, None).await;
                shared.updated.notify_waiters();
                sent
            }
            Err(why) => http_error(&mut writer, 400, "Bad Request", &why).await,
        },
        (Route::RunCase(query), true) => match (shared.case_index(&query), agent(&query)) {
            (Ok(index), Ok(agent)) if shared.excluded(&agent, index) => {
                // As Autobahn does: the connection opens and closes at once, and no result is kept.
                control_reply((&mut reader, &mut writer), &request, None).await
            }
            (Ok(index), Ok(agent)) => {
                let accepted = drive::Accepted {
                    reader,
                    writer,
                    request,
                    head,
                    leftover,
                    channel,
                };
                run_case(&shared, index, &agent, accepted).await;
                return;
            }
            (Err(why), _) | (_, Err(why)) => {
                http_error(&mut writer, 400, "Bad Request", &why).await
            }
        },
    };
    // The driver may be gone already; nothing to report to.
    let _ = result;
}

/// Runs one case for an agent on an accepted connection and stores its result.
async fn run_case(shared: &Shared, index: usize, agent: &str, accepted: drive::Accepted) {
    let key = accepted
        .request
        .header("sec-websocket-key")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let seen_before = shared.with_agent(agent, |a| {
        a.running.insert(index);
        !a.keys.insert(key)
    });
    let case = &shared.cases[index];
    let result = drive::run_client_case(
        case,
        accepted,
        seen_before,
        &shared.config.settings,
        shared.run_start,
    )
    .await;
    shared.observer.finished(&result);
    shared.with_agent(agent, |a| {
        a.running.remove(&index);
        a.results.insert(index, result);
    });
    shared.activity.notify_waiters();
}

impl Shared {
    /// The 0-based case index that `case=I` (1-based) or `casetuple=ID` names.
    fn case_index(&self, query: &Query) -> Result<usize, String> {
        if let Some(position) = query.get("case") {
            let number: usize = position
                .parse()
                .map_err(|_| format!("case={position} is not a case number"))?;
            return number
                .checked_sub(1)
                .filter(|index| *index < self.cases.len())
                .ok_or_else(|| {
                    format!(
                        "case={number} is out of range: there are {} cases, numbered from 1",
                        self.cases.len()
                    )
                });
        }
        if let Some(id) = query.get("casetuple") {
            return self
                .cases
                .iter()
                .position(|case| case.id.as_str() == id)
                .ok_or_else(|| format!("casetuple={id} is not a case of this run"));
        }
        Err("missing case=N or casetuple=ID".into())
    }

    /// The Autobahn behaviour name of a case's result, waiting (within limits) until it exists.
    async fn wait_for_result(&self, agent: &str, index: usize) -> String {
        let until = Instant::now() + self.config.settings.case_timeout;
        loop {
            let done = self.with_agent(agent, |a| {
                a.results.get(&index).map(|r| r.verdict.autobahn_name())
            });
            if let Some(name) = done {
                return name.to_owned();
            }
            if Instant::now() >= until {
                return "MISSING".to_owned();
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(200), self.activity.notified()).await;
        }
    }
}

/// Upgrades a driver's control connection, sends `message` (if any) as text, closes with 1000, and
/// waits briefly for the driver to close.
async fn control_reply(
    (reader, writer): (&mut Reader, &mut Writer),
    request: &Request,
    message: Option<String>,
) -> std::io::Result<()> {
    let key = request
        .header("sec-websocket-key")
        .unwrap_or_default()
        .trim();
    let mut bytes = Response::switching_protocols(key).to_bytes();
    if let Some(text) = message {
        bytes.extend(encode_frame(&FrameSpec::text(text.as_bytes())));
    }
    bytes.extend(encode_frame(&FrameSpec::close(
        Some(CloseCode::NORMAL),
        b"",
    )));
    writer.write_all(&bytes).await?;
    writer.shutdown().await?;
    let mut sink = [0u8; 1024];
    let drain = async { while let Ok(1..) = reader.read(&mut sink).await {} };
    let _ = tokio::time::timeout(CONTROL_TIMEOUT, drain).await;
    Ok(())
}

/// Serves the browser driver page.
async fn http_page(stream: &mut Writer) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        BROWSER_PAGE.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(BROWSER_PAGE.as_bytes()).await?;
    stream.shutdown().await
}
