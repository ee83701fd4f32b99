//! The built-in client driver: a tokio-tungstenite WebSocket client that runs every case of a
//! fuzzing server (Autobahn's `fuzzingserver`, or `wsspec client`) as an echo peer.
//!
//! # The protocol
//!
//! Every request is an ordinary WebSocket connection to a path under the base URL:
//!
//! 1. `/getCaseCount`: the server sends one text message, a JSON integer N, and closes.
//! 2. For each case I in 1..=N:
//!    - `/getCaseInfo?case=I` (optional, [`DriveOptions::case_ids`]): the server sends
//!      `{"id": "1.1.1", ...}` and closes;
//!    - `/runCase?case=I&agent=A`: the client echoes every text and binary message with the same
//!      type and payload, answers pings, follows RFC 6455 on errors, and waits for the server to
//!      close;
//!    - `/reportObservation?case=I&agent=A&code=C&reason=R&clean=true|false`: tells the server
//!      what the client's *application* saw when the case's connection ended (wsspec's addition
//!      to the protocol; the server accepts the connection and closes it at once with 1000).
//! 3. `/updateReports?agent=A`: the server writes its reports and closes.
//!
//! The loop lives in [`drive_client`] and is generic over a [`CaseClient`], the WebSocket
//! implementation that opens each connection; [`drive`] runs it with [`TungsteniteClient`]. Other
//! clients (such as the deliberately broken ones of `wsspec-mutants`) reuse the loop, the URLs of
//! [`Endpoints`] and the [`Observation`] type.
//!
//! # `reportObservation` against a server that does not know it
//!
//! The real Autobahn has no `reportObservation`: there an unknown path opens a "direct command"
//! session that stays open. A report therefore gets [`DriveOptions::report_timeout`] (3 s) to be
//! closed by the server, and errors are ignored. When the server leaves a report open that long,
//! it does not support the endpoint, and the driver stops calling it for the rest of the run
//! instead of losing 3 s on every case.
//!
//! # What the tungstenite client observes
//!
//! A close frame with a status code is observed as that code and reason, cleanly; a close frame
//! without a payload as 1005, cleanly; an error or the end of the stream before any close frame as
//! 1006, not cleanly (the WebSocket API's `CloseEvent` semantics). tungstenite replaces a close
//! code that may not be sent on the wire (such as 999 or 1005) with 1002 before the application
//! sees it, and answers with 1002. When tungstenite reports a protocol violation, the driver fails
//! the connection as RFC 6455 §7.1.7 recommends: a close frame with 1002, 1007 (invalid UTF-8) or
//! 1009 (message too big), then it waits briefly for the server to close.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};
use url::Url;

/// The agent name the built-in client driver reports under by default.
pub const CLIENT_AGENT: &str = "wsspec-reference-client";

/// The largest message and frame the tungstenite driver accepts: section 9 sends up to 16 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Any error a [`CaseClient`] reports; the driver only shows it.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// How the driver runs.
#[derive(Clone, Debug)]
pub struct DriveOptions {
    /// The longest a case's connection may stay open; then it is dropped and observed as 1006.
    pub case_timeout: Duration,
    /// The longest `/getCaseCount`, `/getCaseInfo` and `/updateReports` may take each.
    pub command_timeout: Duration,
    /// The longest a `/reportObservation` connection may take before the driver gives up on it.
    pub report_timeout: Duration,
    /// How long the client waits for the server to close TCP after the close handshake (or after
    /// failing the connection) before closing it itself.
    pub close_timeout: Duration,
    /// Ask `/getCaseInfo` for each case's dotted id (only shown; a failure costs nothing).
    pub case_ids: bool,
}

impl Default for DriveOptions {
    fn default() -> Self {
        DriveOptions {
            case_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(60),
            report_timeout: Duration::from_secs(3),
            close_timeout: Duration::from_secs(2),
            case_ids: true,
        }
    }
}

/// How a WebSocket connection ended, as the client's application saw it: the `code`, `reason`
/// and `wasClean` of the WebSocket API's `CloseEvent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The close code the application was given; `None` when the API gives none at all.
    pub code: Option<u16>,
    /// The close reason (empty when there was none).
    pub reason: String,
    /// Whether the close handshake took place.
    pub clean: bool,
}

impl Observation {
    /// A close frame arrived: with a status code, or (`None`) without a payload, which an
    /// application sees as 1005.
    pub fn closed(code: Option<u16>, reason: impl Into<String>) -> Self {
        Observation {
            code: Some(code.unwrap_or(wsspec_wire::CloseCode::NO_STATUS_RECEIVED.0)),
            reason: reason.into(),
            clean: true,
        }
    }

    /// The connection ended without a close handshake: 1006, not clean.
    pub fn abnormal() -> Self {
        Observation {
            code: Some(wsspec_wire::CloseCode::ABNORMAL_CLOSURE.0),
            reason: String::new(),
            clean: false,
        }
    }
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{code}")?,
            None => f.write_str("no code")?,
        }
        if !self.reason.is_empty() {
            write!(f, " {:?}", self.reason)?;
        }
        f.write_str(if self.clean { ", clean" } else { ", not clean" })
    }
}

/// The URLs of a fuzzing server's endpoints, built from its base URL.
#[derive(Clone, Debug)]
pub struct Endpoints {
    base: Url,
}

impl Endpoints {
    /// Parses the base URL, such as `ws://127.0.0.1:9001`. A path is kept as a prefix of every
    /// endpoint; a query or fragment is dropped.
    ///
    /// # Errors
    ///
    /// When the URL does not parse, or its scheme is not `ws` or `wss`.
    pub fn new(base_url: &str) -> Result<Self, DriveError> {
        let bad = |reason: String| DriveError::BadUrl {
            url: base_url.to_owned(),
            reason,
        };
        let mut base = Url::parse(base_url).map_err(|err| bad(err.to_string()))?;
        if !matches!(base.scheme(), "ws" | "wss") || !base.has_host() {
            return Err(bad("expected ws://HOST:PORT or wss://HOST:PORT".into()));
        }
        base.set_query(None);
        base.set_fragment(None);
        Ok(Endpoints { base })
    }

    /// `BASE/getCaseCount`.
    pub fn case_count(&self) -> Url {
        self.endpoint("getCaseCount", &[])
    }

    /// `BASE/getCaseInfo?case=I`.
    pub fn case_info(&self, case: u32) -> Url {
        self.endpoint("getCaseInfo", &[("case", &case.to_string())])
    }

    /// `BASE/runCase?case=I&agent=A`.
    pub fn run_case(&self, case: u32, agent: &str) -> Url {
        self.endpoint("runCase", &[("case", &case.to_string()), ("agent", agent)])
    }

    /// `BASE/reportObservation?case=I&agent=A&code=C&reason=R&clean=true|false` (no `code` when
    /// the observation has none).
    pub fn report_observation(&self, case: u32, agent: &str, observation: &Observation) -> Url {
        let case = case.to_string();
        let code = observation.code.map(|code| code.to_string());
        let mut pairs = vec![("case", case.as_str()), ("agent", agent)];
        if let Some(code) = &code {
            pairs.push(("code", code));
        }
        pairs.push(("reason", &observation.reason));
        pairs.push(("clean", if observation.clean { "true" } else { "false" }));
        self.endpoint("reportObservation", &pairs)
    }

    /// `BASE/updateReports?agent=A`.
    pub fn update_reports(&self, agent: &str) -> Url {
        self.endpoint("updateReports", &[("agent", agent)])
    }

    /// The base path, then `/name`, then the pairs percent-encoded as a query.
    fn endpoint(&self, name: &str, pairs: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/{name}", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url
    }
}

/// Why a run could not be completed.
#[derive(Debug)]
pub enum DriveError {
    /// The base URL is not a usable `ws://` or `wss://` URL.
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A connection the run depends on (`/getCaseCount` or `/updateReports`) failed.
    Unreachable {
        /// The URL that could not be used.
        url: String,
        /// What went wrong.
        source: BoxError,
    },
    /// `/getCaseCount` did not answer with a case count.
    BadCaseCount {
        /// The URL asked.
        url: String,
        /// What it sent instead (`None` for no text message at all).
        answer: Option<String>,
    },
}

impl fmt::Display for DriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriveError::BadUrl { url, reason } => write!(f, "bad base URL {url}: {reason}"),
            DriveError::Unreachable { url, source } => write!(f, "cannot use {url}: {source}"),
            DriveError::BadCaseCount { url, answer: None } => {
                write!(f, "{url} sent no case count")
            }
            DriveError::BadCaseCount {
                url,
                answer: Some(text),
            } => write!(f, "{url} sent {text:?}, not a case count"),
        }
    }
}

impl StdError for DriveError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            DriveError::Unreachable { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// What happened in one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The case's 1-based position, as `/runCase?case=` takes it.
    pub case: u32,
    /// The case's dotted id from `/getCaseInfo`, when asked for and given.
    pub id: Option<String>,
    /// What the application saw when the connection ended.
    pub observation: Observation,
    /// Whether the case hit [`DriveOptions::case_timeout`] (the observation is then 1006).
    pub timed_out: bool,
    /// From the start of `/runCase` to the end of its connection.
    pub duration: Duration,
}

/// What a whole run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveSummary {
    /// The number of cases the server announced (all of them were run).
    pub case_count: u32,
    /// One outcome per case, in order.
    pub cases: Vec<CaseOutcome>,
    /// Whether the server took the observations: false when it left a `/reportObservation`
    /// connection open (it does not know the endpoint, like Autobahn) and the driver stopped
    /// reporting.
    pub observations_reported: bool,
}

/// A WebSocket client implementation the driver loop runs: it opens each kind of connection.
///
/// The loop puts the deadlines around these futures and drops them when a deadline passes, which
/// must close the connection.
pub trait CaseClient {
    /// Opens `url`, sends nothing, and returns the first text message (`None` if there was none)
    /// once the server has closed the connection. For every endpoint but `/runCase`. Once the
    /// connection is open, how it ends is not an error.
    fn fetch_text(
        &mut self,
        url: &Url,
    ) -> impl Future<Output = Result<Option<String>, BoxError>> + Send;

    /// Opens `url` and acts as an echo peer until the connection ends: every text and binary
    /// message goes back with the same type and payload, pings are answered, errors and the
    /// close handshake are handled as the implementation does. Returns what its application saw.
    fn echo(&mut self, url: &Url) -> impl Future<Output = Observation> + Send;
}

/// Runs every case of the server at `base_url` for `agent` with tokio-tungstenite.
///
/// # Errors
///
/// When the base URL is bad, `/getCaseCount` cannot be reached or gives no count, or
/// `/updateReports` fails. A case whose connection fails is not an error: it is observed as such.
pub async fn drive(
    base_url: &str,
    agent: &str,
    options: &DriveOptions,
) -> Result<DriveSummary, DriveError> {
    let mut client = TungsteniteClient::new(options.close_timeout);
    drive_client(&mut client, base_url, agent, options, |_| {}).await
}

/// The driver loop over any [`CaseClient`]: `/getCaseCount`, then for each case `/getCaseInfo`
/// (if [`DriveOptions::case_ids`]), `/runCase` and `/reportObservation`, then `/updateReports`.
/// `on_case` is called after each case, for progress output.
///
/// # Errors
///
/// As for [`drive`].
pub async fn drive_client<C: CaseClient>(
    client: &mut C,
    base_url: &str,
    agent: &str,
    options: &DriveOptions,
    mut on_case: impl FnMut(&CaseOutcome),
) -> Result<DriveSummary, DriveError> {
    let endpoints = Endpoints::new(base_url)?;
    let case_count = fetch_case_count(client, &endpoints, options).await?;
    let mut cases = Vec::new();
    let mut observations_reported = true;
    let mut ask_ids = options.case_ids;
    for case in 1..=case_count {
        let id = match ask_ids {
            true => fetch_case_id(client, &endpoints, case, options).await,
            false => None,
        };
        // The ids are only shown: a server that cannot give one is not asked again.
        ask_ids &= id.is_some();
        let started = Instant::now();
        let url = endpoints.run_case(case, agent);
        let (observation, timed_out) =
            match tokio::time::timeout(options.case_timeout, client.echo(&url)).await {
                Ok(observation) => (observation, false),
                Err(_elapsed) => (Observation::abnormal(), true),
            };
        let outcome = CaseOutcome {
            case,
            id,
            observation,
            timed_out,
            duration: started.elapsed(),
        };
        if observations_reported {
            let url = endpoints.report_observation(case, agent, &outcome.observation);
            // Errors are ignored: the endpoint is optional. A server that keeps the connection
            // open does not know it at all (Autobahn), so it is not asked again.
            observations_reported =
                tokio::time::timeout(options.report_timeout, client.fetch_text(&url))
                    .await
                    .is_ok();
        }
        on_case(&outcome);
        cases.push(outcome);
    }
    command(client, &endpoints.update_reports(agent), options).await?;
    Ok(DriveSummary {
        case_count,
        cases,
        observations_reported,
    })
}

/// Fetches a connection the run depends on (`/getCaseCount`, `/updateReports`) within the
/// command timeout.
async fn command<C: CaseClient>(
    client: &mut C,
    url: &Url,
    options: &DriveOptions,
) -> Result<Option<String>, DriveError> {
    let unreachable = |source: BoxError| DriveError::Unreachable {
        url: url.to_string(),
        source,
    };
    match tokio::time::timeout(options.command_timeout, client.fetch_text(url)).await {
        Ok(result) => result.map_err(unreachable),
        Err(_elapsed) => Err(unreachable("timed out".into())),
    }
}

async fn fetch_case_count<C: CaseClient>(
    client: &mut C,
    endpoints: &Endpoints,
    options: &DriveOptions,
) -> Result<u32, DriveError> {
    let url = endpoints.case_count();
    let answer = command(client, &url, options).await?;
    match answer.as_deref().map(|text| text.trim().parse::<u32>()) {
        Some(Ok(count)) => Ok(count),
        _ => Err(DriveError::BadCaseCount {
            url: url.to_string(),
            answer,
        }),
    }
}

/// The dotted id `/getCaseInfo` gives for `case`, or `None` on any failure.
async fn fetch_case_id<C: CaseClient>(
    client: &mut C,
    endpoints: &Endpoints,
    case: u32,
    options: &DriveOptions,
) -> Option<String> {
    let url = endpoints.case_info(case);
    let text = tokio::time::timeout(options.report_timeout, client.fetch_text(&url))
        .await
        .ok()?
        .ok()??;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(info.get("id")?.as_str()?.to_owned())
}

/// The tokio-tungstenite client: masks its frames, checks the server's handshake answer, and
/// validates what it receives, all as tungstenite does by itself.
#[derive(Clone, Debug)]
pub struct TungsteniteClient {
    config: WebSocketConfig,
    close_timeout: Duration,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl TungsteniteClient {
    /// A client accepting messages and frames up to [`MAX_MESSAGE_SIZE`] that waits up to
    /// `close_timeout` for the server to close TCP at the end of a connection.
    pub fn new(close_timeout: Duration) -> Self {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_SIZE))
            .max_frame_size(Some(MAX_MESSAGE_SIZE));
        TungsteniteClient {
            config,
            close_timeout,
        }
    }

    /// Opens the connection. This client offers no extension, so a response that names one fails
    /// the connection (RFC 6455 §4.1; tungstenite does not check it): the socket is dropped.
    async fn connect(&self, url: &Url) -> Result<Socket, BoxError> {
        let (ws, response) = connect_async_with_config(url.as_str(), Some(self.config), true)
            .await
            .map_err(Box::new)?;
        if let Some(extensions) = response.headers().get("sec-websocket-extensions") {
            let named = String::from_utf8_lossy(extensions.as_bytes());
            return Err(
                format!("the server accepted extensions that were not offered: {named}").into(),
            );
        }
        Ok(ws)
    }

    /// Reads and drops whatever comes until the server closes, for at most the close timeout.
    async fn finish(&self, ws: &mut Socket) {
        let rest = async { while let Some(Ok(_)) = ws.next().await {} };
        let _ = tokio::time::timeout(self.close_timeout, rest).await;
    }

    /// _Fail the WebSocket Connection_ after tungstenite reported a protocol violation: a close
    /// frame with a fitting code, then wait briefly for the server's side of the closing.
    async fn fail(&self, ws: &mut Socket, code: CloseCode) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(super::failure_reason(code)),
        };
        let sent = tokio::time::timeout(self.close_timeout, ws.close(Some(frame))).await;
        if matches!(sent, Ok(Ok(()))) {
            self.finish(ws).await;
        }
    }
}

impl CaseClient for TungsteniteClient {
    async fn fetch_text(&mut self, url: &Url) -> Result<Option<String>, BoxError> {
        let mut ws = self.connect(url).await?;
        let mut text = None;
        // Once the connection is open the request has been made: how it ends does not matter.
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(body) if text.is_none() => text = Some(body.as_str().to_owned()),
                Message::Close(_) => {
                    // tungstenite answers the close on the next read, then sees the TCP close.
                    self.finish(&mut ws).await;
                    break;
                }
                _ => {}
            }
        }
        Ok(text)
    }

    async fn echo(&mut self, url: &Url) -> Observation {
        let Ok(mut ws) = self.connect(url).await else {
            return Observation::abnormal();
        };
        loop {
            match ws.next().await {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    // `send` flushes, so the echo is on the wire when it returns.
                    if ws.send(message).await.is_err() {
                        return Observation::abnormal();
                    }
                }
                Some(Ok(Message::Ping(_))) => {
                    // tungstenite queued the pong; push it out now rather than on the next read.
                    if ws.flush().await.is_err() {
                        return Observation::abnormal();
                    }
                }
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    let observation = match frame {
                        Some(frame) => {
                            Observation::closed(Some(frame.code.into()), frame.reason.as_str())
                        }
                        None => Observation::closed(None, ""),
                    };
                    self.finish(&mut ws).await;
                    return observation;
                }
                Some(Err(err)) => {
                    if let Some(code) = super::failure_code(&err) {
                        self.fail(&mut ws, code).await;
                    }
                    return Observation::abnormal();
                }
                None => return Observation::abnormal(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
