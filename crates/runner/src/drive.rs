//! The tokio driver of the case interpreter: it opens (or is handed) the connection, moves bytes
//! between the socket and [`Interpreter`], sleeps when it asks, and bounds the whole case by its
//! deadline. It decides nothing: the interpreter records, the judge judges.
//!
//! A driver for another transport (an HTTP/2 stream, a proxy) does the same with its own byte stream.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use wsspec_suite::{
    Case,
    handshake::{HandshakePolicy, RequestSpec},
    results::CaseResult,
};
use wsspec_wire::{HeadReader, Request};

pub use crate::judge::harness_error;
use crate::{
    Target,
    compression_cache::CompressionCache,
    conn::Recorder,
    interpret::{
        Action, ClientHello, Fact, Input, Interpreter, READ_CHUNK, Record, request_for,
        response_cut_short, response_invalid, response_too_slow,
    },
    judge::{self, HandshakeProblem, Timing},
    liveness::Liveness,
    outgoing::Outgoing,
    read_pool::ReadPool,
    transport::{self, Channel, Reader, TlsClient, Writer},
    write_progress::{Watched, WriteProgress},
};

/// Timing and size settings for one case.
#[derive(Clone, Debug)]
pub struct CaseSettings {
    /// The seed for masks and keys (combined with the case id).
    pub seed: u64,
    /// How long to wait for TCP connect (with the TLS handshake), and then for the opening handshake.
    pub handshake_timeout: Duration,
    /// How long to wait for each part of the closing (the peer's close frame, then its TCP close).
    pub close_wait: Duration,
    /// The whole case's deadline when the case sets none.
    pub case_timeout: Duration,
    /// How long the peer may make no progress while the case waits on it (sends nothing while an
    /// expectation waits, takes none of a write): then the wait fails, whatever the deadlines.
    pub progress_timeout: Duration,
    /// What the user declared about the server's handshake (subprotocols, origins).
    pub policy: HandshakePolicy,
    /// The TLS client for `wss://` targets: which certificates it trusts.
    pub tls: TlsClient,
    /// The largest message the target declares it accepts (`--max-message-size`): a larger message
    /// must make it fail the connection with 1009 instead of echoing.
    pub max_message_size: Option<u64>,
    /// The run's budget for the peers' input not handled yet, shared by every case of the run.
    pub read_pool: ReadPool,
    /// Whether the target still answers, shared by every case of the run.
    pub liveness: Liveness,
    /// The messages compressed so far, shared by every case of the run.
    pub compression: CompressionCache,
}

/// A client that has connected and sent its opening handshake.
#[derive(Debug)]
pub struct Accepted {
    /// The connection's read half (TCP or TLS).
    pub reader: Reader,
    /// The connection's write half.
    pub writer: Writer,
    /// The request head, parsed.
    pub request: Request,
    /// The request head as it arrived.
    pub head: Vec<u8>,
    /// What followed the head in the same reads (frames the client sent early).
    pub leftover: Vec<u8>,
    /// How the connection carries its bytes (TLS, and the client's SNI).
    pub channel: Channel,
}

/// Runs one case against a server and returns its result. Never fails: problems become verdicts.
pub async fn run_server_case(
    case: &Case,
    target: &Target,
    settings: &CaseSettings,
    run_start: Instant,
) -> CaseResult {
    let start = Instant::now();
    let recorder = Recorder::new(start);
    let mut interpreter = Interpreter::server(case, settings, recorder.clone(), start);
    let run = async {
        match connect(target, &settings.tls, interpreter.connect_timeout()).await {
            Ok((reader, writer)) => {
                interpreter.connected(Instant::now(), target);
                drive(&mut interpreter, reader, writer).await;
            }
            Err(reason) => interpreter.connect_failed(reason),
        }
        if interpreter.then_connects() {
            recorder.note("one more connection, with the standard handshake");
            let upgraded = standard_upgrade(target, settings, interpreter.rng(), &recorder).await;
            if let Err(reason) = upgraded {
                interpreter.upgrade_failed(reason);
            }
        }
    };
    let timed_out = deadline_passed(case, settings, run).await;
    let timing = Timing { run_start, start };
    judged(case, settings, interpreter, timed_out, &recorder, timing)
}

/// Runs one case with a client that connected for it, and returns its result. `seen_before` tells
/// whether the client already used this request's key on another connection. Never fails.
pub async fn run_client_case(
    case: &Case,
    accepted: Accepted,
    seen_before: bool,
    settings: &CaseSettings,
    run_start: Instant,
) -> CaseResult {
    let start = Instant::now();
    let recorder = Recorder::new(start);
    let Accepted {
        reader,
        writer,
        request,
        head,
        leftover,
        channel,
    } = accepted;
    let hello = ClientHello {
        request: &request,
        head: &head,
        leftover,
        seen_before,
        channel: &channel,
    };
    let mut interpreter = Interpreter::client(case, settings, recorder.clone(), start, hello);
    let run = drive(&mut interpreter, reader, writer);
    let timed_out = deadline_passed(case, settings, run).await;
    let timing = Timing { run_start, start };
    judged(case, settings, interpreter, timed_out, &recorder, timing)
}

/// The case's deadline.
fn deadline(case: &Case, settings: &CaseSettings) -> Duration {
    case.timeout_ms
        .map_or(settings.case_timeout, Duration::from_millis)
}

/// Runs `run` within the case's deadline; true if the deadline passed first (`run` is then dropped).
async fn deadline_passed(
    case: &Case,
    settings: &CaseSettings,
    run: impl Future<Output = ()>,
) -> bool {
    tokio::time::timeout(deadline(case, settings), run)
        .await
        .is_err()
}

/// Judges what the interpreter recorded.
fn judged(
    case: &Case,
    settings: &CaseSettings,
    mut interpreter: Interpreter,
    timed_out: bool,
    recorder: &Recorder,
    timing: Timing,
) -> CaseResult {
    if timed_out {
        interpreter.deadline_reached(deadline(case, settings));
    }
    settings.liveness.case_ended(interpreter.silent());
    judge::judge_case(case, interpreter.into_record(), timing, recorder.snapshot())
}

/// The result of a client case that no client ever connected for.
pub fn missing_client_case(case: &Case, run_start: Instant, reason: String) -> CaseResult {
    let note = reason.clone();
    client_case_of(case, run_start, note, Fact::Unmet(reason))
}

/// The result of a client case whose opening handshake never arrived whole: it was no HTTP, or
/// the client stopped sending it (`problem`).
pub fn unfinished_client_case(
    case: &Case,
    run_start: Instant,
    problem: HandshakeProblem,
) -> CaseResult {
    let note = problem.text.clone();
    client_case_of(case, run_start, note, Fact::BadClientRequest(vec![problem]))
}

/// The result of a client case that ended before it began, with `fact`.
fn client_case_of(case: &Case, run_start: Instant, note: String, fact: Fact) -> CaseResult {
    let start = Instant::now();
    let recorder = Recorder::new(start);
    recorder.note(note);
    let mut record = Record::new(wsspec_suite::Role::Client);
    record.push(fact);
    let timing = Timing { run_start, start };
    judge::judge_case(case, record, timing, recorder.snapshot())
}

/// Carries out the interpreter's actions on one connection until it has finished.
async fn drive(interpreter: &mut Interpreter, reader: Reader, writer: Writer) {
    let mut reader = Some(reader);
    let mut writer = Some(writer);
    let mut buf = vec![0; READ_CHUNK];
    loop {
        while let Some(action) = interpreter.poll_action() {
            match action {
                Action::Write { out, plan } => {
                    write(interpreter, &out, plan, &mut reader, &mut writer, &mut buf).await
                }
                Action::Shutdown => {
                    if let Some(writer) = writer.as_mut() {
                        // TLS writes its close_notify first, which a peer that stopped reading blocks.
                        let patience = interpreter.progress_timeout();
                        let _ = tokio::time::timeout(patience, writer.shutdown()).await;
                    }
                    interpreter.handle(Instant::now(), Input::Written(Ok(())));
                }
                Action::Drop => {
                    reader = None;
                    writer = None;
                }
                Action::Finished => return,
            }
        }
        if interpreter.has_more() {
            tokio::task::yield_now().await;
            interpreter.handle(Instant::now(), Input::Timer);
            continue;
        }
        let size = interpreter.read_size();
        let reading = reader.is_some() && size > 0;
        let wake = interpreter.wake();
        tokio::select! {
            read = read_some(&mut reader, &mut buf[..size]), if reading => {
                feed(interpreter, read, &mut reader, &buf);
            }
            () = sleep_until(wake), if wake.is_some() => {
                interpreter.handle(Instant::now(), Input::Timer);
            }
            else => {
                // Nothing to read and no time to wait for: look again shortly rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                interpreter.handle(Instant::now(), Input::Timer);
            }
        }
    }
}

/// Writes `out` while still reading, until the write is done or the interpreter gives it up.
async fn write(
    interpreter: &mut Interpreter,
    out: &Outgoing,
    plan: wsspec_suite::case::WritePlan,
    reader: &mut Option<Reader>,
    writer: &mut Option<Writer>,
    buf: &mut [u8],
) {
    let Some(sink) = writer.as_mut() else {
        let gone = Err("the connection is closed".to_owned());
        return interpreter.handle(Instant::now(), Input::Written(gone));
    };
    let delay = Duration::from_millis(plan.delay_ms);
    let recorder = interpreter.recorder().clone();
    let progress = WriteProgress::new(Instant::now());
    let mut watched = Watched::new(sink, &progress);
    let write = out.write_to(&mut watched, plan.chop, delay, &recorder);
    tokio::pin!(write);
    // The pause between pieces is the harness's own: the peer has that much more time.
    let patience = interpreter.progress_timeout() + delay;
    loop {
        let size = interpreter.read_size();
        let reading = reader.is_some() && size > 0;
        let stalls_at = progress.last() + patience;
        tokio::select! {
            result = &mut write => {
                let result = result.map_err(|err| err.to_string());
                return interpreter.handle(Instant::now(), Input::Written(result));
            }
            read = read_some(reader, &mut buf[..size]), if reading => {
                feed(interpreter, read, reader, buf);
                if !interpreter.is_writing() {
                    return;
                }
            }
            () = tokio::time::sleep_until(stalls_at.into()) => {
                if progress.last() + patience <= Instant::now() {
                    let stalled = Input::WriteStalled {
                        silent: patience,
                        unsent: out.len().saturating_sub(progress.taken()),
                    };
                    return interpreter.handle(Instant::now(), stalled);
                }
            }
        }
    }
}

/// Reads what is there into `buf`, at most its length.
async fn read_some(reader: &mut Option<Reader>, buf: &mut [u8]) -> std::io::Result<usize> {
    match reader.as_mut() {
        Some(reader) => reader.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Hands what a read gave to the interpreter; at the end of the peer's side, reading stops.
fn feed(
    interpreter: &mut Interpreter,
    read: std::io::Result<usize>,
    reader: &mut Option<Reader>,
    buf: &[u8],
) {
    let cleartext = match &read {
        Err(_) => reader.as_ref().and_then(Reader::cleartext_after_tls),
        Ok(_) => None,
    };
    let input = match (&read, &cleartext) {
        (Err(_), Some(cleartext)) => Input::LeftTls(cleartext),
        (Ok(0), _) => Input::Closed(None),
        (Ok(n), _) => Input::Received(&buf[..*n]),
        (Err(err), None) => Input::Closed(Some(err.to_string())),
    };
    if !matches!(read, Ok(n) if n > 0) {
        *reader = None;
    }
    interpreter.handle(Instant::now(), input);
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Checks that the target still upgrades a connection opened with the standard handshake (and a
/// fresh key from `seed`), then closes TCP. The fuzzer asks this after a failing scenario, to tell a
/// target that misbehaved from one that died.
pub async fn upgrades(target: &Target, settings: &CaseSettings, seed: u64) -> Result<(), String> {
    use rand::SeedableRng;
    let recorder = Recorder::new(Instant::now());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    standard_upgrade(target, settings, &mut rng, &recorder).await
}

/// A fresh connection with the standard handshake, which must be upgraded; then TCP is closed.
async fn standard_upgrade(
    target: &Target,
    settings: &CaseSettings,
    rng: &mut rand::rngs::StdRng,
    recorder: &Recorder,
) -> Result<(), String> {
    let timeout = settings.handshake_timeout;
    let (mut reader, mut writer) = connect(target, &settings.tls, timeout).await?;
    let (head, offer) = request_for(target, settings, &RequestSpec::default(), rng);
    let mut out = Outgoing::default();
    out.push_bytes(head);
    out.write_to(&mut writer, None, Duration::ZERO, recorder)
        .await
        .map_err(|err| format!("cannot send the opening handshake: {err}"))?;
    let response = tokio::time::timeout(timeout, read_response(&mut reader, recorder))
        .await
        .map_err(|_| response_too_slow(timeout))??;
    let problems = judge::check_upgrade_response(&response, &offer, &settings.policy);
    if !problems.is_empty() {
        return Err(judge::HandshakeProblem::list(&problems));
    }
    let _ = writer.shutdown().await;
    Ok(())
}

/// Reads a response head (bounded by the parser).
async fn read_response<R: AsyncRead + Unpin>(
    reader: &mut R,
    recorder: &Recorder,
) -> Result<wsspec_wire::Response, String> {
    let mut head = HeadReader::response();
    loop {
        match head.head() {
            Ok(Some(response)) => return Ok(response.value),
            Ok(None) => {}
            Err(err) => return Err(response_invalid(&err)),
        }
        let before = head.received().len();
        match reader.read_buf(head.buffer()).await {
            Ok(0) => return Err(response_cut_short(before, None)),
            Ok(_) => recorder.bytes(
                wsspec_suite::results::Direction::Received,
                &head.received()[before..],
            ),
            Err(err) => return Err(response_cut_short(before, Some(&err.to_string()))),
        }
    }
}

/// Connects to the target (TCP, and TLS for `wss://`), within `timeout`.
async fn connect(
    target: &Target,
    tls: &TlsClient,
    timeout: Duration,
) -> Result<(Reader, Writer), String> {
    transport::connect(target, tls, timeout)
        .await
        .map_err(|err| format!("cannot connect to {}: {err}", target.url))
}
