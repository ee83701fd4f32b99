//! Executing one case on one connection: the steps in order, then the close, then the result.
//!
//! The harness behaves as an RFC 6455 endpoint wherever the case does not say otherwise: it answers the
//! peer's pings, answers a close frame with a close frame, and closes the connection properly at the end
//! of the steps. Every wait has a deadline, so a silent or hostile peer costs time, never a hang.

use std::{
    borrow::Cow,
    collections::VecDeque,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    sync::mpsc,
};
use wsspec_suite::{
    Case, Role,
    case::{
        ClosePayloadSpec, Expect, FrameSpec as CaseFrame, LengthFormSpec, MaskSpec, OnTimeout,
        Payload, Step, WritePlan,
    },
    handshake::{DeflateSpec, Handshake, HandshakeExpect, HandshakePolicy, RequestSpec},
    results::{
        CaseResult, CloseBehavior, CloseInfo, Direction, HandshakeRecord, Side, Throughput, Verdict,
    },
};
use wsspec_wire::{
    ClosePayload, FrameHeader, FrameSpec, LengthForm, Opcode, Parsed, Request, Response,
    deflate::{Compressor, Direction as DeflateDirection},
    encode_close_payload, encode_frame, generate_key, parse_response,
};

use crate::{
    Target,
    body::{BodyBuilder, Source},
    conn::{Incoming, PREVIEW_BYTES, Queued, Recorder, read_frames},
    deflate::{self, LEVEL, MAX_INFLATED, Settled},
    handshake::{Offer, RequestContext, build_request, build_response},
    judge::{self, Answer, Ending, MatchOutcome, Matcher, Observed, Outbox, PeerStream},
    outgoing::Outgoing,
    transport::{self, Reader, TlsClient, Writer},
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
    /// What the user declared about the server's handshake (subprotocols, origins).
    pub policy: HandshakePolicy,
    /// The TLS client for `wss://` targets: which certificates it trusts.
    pub tls: TlsClient,
    /// The largest message the target declares it accepts (`--max-message-size`): a larger message
    /// must make it fail the connection with 1009 instead of echoing.
    pub max_message_size: Option<u64>,
}

/// Runs one case against a server and returns its result. Never fails: problems become verdicts.
pub async fn run_server_case(
    case: &Case,
    target: &Target,
    settings: &CaseSettings,
    run_start: Instant,
) -> CaseResult {
    run_case(case, Role::Server, settings, run_start, async |state| {
        state.run(target).await
    })
    .await
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
    run_case(case, Role::Client, settings, run_start, async |state| {
        state.run_accepted(accepted, seen_before).await
    })
    .await
}

/// The result of a client case that no client ever connected for.
pub fn missing_client_case(
    case: &Case,
    settings: &CaseSettings,
    run_start: Instant,
    reason: String,
) -> CaseResult {
    let start = Instant::now();
    let recorder = Recorder::new(start);
    let mut state = CaseState::new(case, Role::Client, settings, recorder.clone());
    recorder.note(reason.clone());
    state.fail(reason);
    state.into_result(case, start, run_start, recorder)
}

/// The result of a case that wsspec itself failed to run (ERROR, never blamed on the target), which
/// started `started` into the run and took `took`.
pub fn harness_error(case: &Case, actual: String, started: Duration, took: Duration) -> CaseResult {
    CaseResult {
        started_ms: started.as_millis() as u64,
        duration_ms: took.as_millis() as u64,
        ..result_of(case, Verdict::Error, actual)
    }
}

/// A case's result with its verdict and what happened, and nothing else recorded yet.
fn result_of(case: &Case, verdict: Verdict, actual: String) -> CaseResult {
    CaseResult {
        id: case.id.to_string(),
        title: case.title.clone(),
        section_title: case.section_title.clone(),
        rfc: case.rfc.clone(),
        level: case.level,
        requirement: case.requirement.clone(),
        verdict,
        behavior: verdict,
        behavior_close: CloseBehavior::Informational,
        expected: case.expectation(),
        actual,
        notes: Vec::new(),
        close: CloseInfo::default(),
        started_ms: 0,
        duration_ms: 0,
        throughput: None,
        handshake: None,
        observation: None,
        transcript: Default::default(),
    }
}

/// Runs a case's state machine within the case's deadline, then judges it.
async fn run_case(
    case: &Case,
    role: Role,
    settings: &CaseSettings,
    run_start: Instant,
    run: impl AsyncFnOnce(&mut CaseState),
) -> CaseResult {
    let start = Instant::now();
    let recorder = Recorder::new(start);
    let deadline = case
        .timeout_ms
        .map_or(settings.case_timeout, Duration::from_millis);
    let mut state = CaseState::new(case, role, settings, recorder.clone());
    let outcome = tokio::time::timeout(deadline, run(&mut state)).await;
    if outcome.is_err() {
        let phase = if state.established {
            ""
        } else {
            ", still in the opening handshake"
        };
        state.fail(format!(
            "the case did not finish within its deadline of {} ms{phase}",
            deadline.as_millis()
        ));
        recorder.note("case deadline reached");
    }
    state.into_result(case, start, run_start, recorder)
}

/// The state of a case while it runs.
struct CaseState {
    role: Role,
    settings: CaseSettings,
    recorder: Recorder,
    rng: StdRng,
    behavior: Verdict,
    failure: Option<String>,
    observed: Vec<String>,
    notes: Vec<String>,
    info: CloseInfo,
    fail_codes: Option<Vec<u16>>,
    close_timed_out: bool,
    tcp_timed_out: bool,
    harness_dropped: bool,
    close_frame_sent: bool,
    answered_harness_close: bool,
    peer_failed: bool,
    steps_took: Option<Duration>,
    received_messages: u64,
    received_bytes: u64,
    handshake_record: Option<HandshakeRecord>,
    /// The case's opening handshake.
    handshake: Handshake,
    /// What the server answered to a request it had to refuse, in one sentence.
    answer: Option<String>,
    established: bool,
    steps: Vec<Step>,
    /// Complete data messages sent and not yet echoed, oldest first.
    outbox: Outbox,
    /// The data message being sent in fragments, if one is open.
    outgoing_fragment: Option<(u8, BodyBuilder)>,
    io: Option<Io>,
    /// What the case asks of permessage-deflate.
    deflate: Option<DeflateSpec>,
    /// What the handshake settled, when permessage-deflate was agreed.
    settled: Option<Settled>,
    /// Compresses the harness's messages, when permessage-deflate was agreed.
    compressor: Option<Compressor>,
    /// Where the next corpus slice starts (one cursor per case, as in Autobahn).
    corpus_cursor: u64,
    /// Why the case is UNIMPLEMENTED (the peer declined what it needs); its steps are skipped.
    unimplemented: Option<String>,
}

/// The RSV1 bit: "Per-Message Compressed" under permessage-deflate (RFC 7692 §6).
const RSV1: u8 = 0b100;

/// The live connection.
struct Io {
    writer: Writer,
    rx: mpsc::UnboundedReceiver<Queued>,
    /// What arrived while the harness was writing, not yet looked at (bounded by the read budget its
    /// events hold).
    backlog: VecDeque<Queued>,
    peer: PeerStream,
    pending: VecDeque<Observed>,
    sent_close: bool,
    tcp_closed: bool,
    write_failed: bool,
}

/// How many of the peer's events a result lists in `actual`.
const MAX_OBSERVED: usize = 40;

/// How many events a `wait` step keeps for the steps after it; past that, the peer is not read until
/// the wait ends.
const MAX_PENDING: usize = 4096;

/// How many notes a result keeps; a peer that repeats itself (a pong flood) adds no more.
const MAX_NOTES: usize = 20;

impl CaseState {
    fn new(case: &Case, role: Role, settings: &CaseSettings, recorder: Recorder) -> Self {
        let seed = case
            .id
            .as_str()
            .bytes()
            .fold(settings.seed, |h, b| h.rotate_left(5) ^ u64::from(b));
        CaseState {
            role,
            settings: settings.clone(),
            recorder,
            rng: StdRng::seed_from_u64(seed),
            behavior: Verdict::Pass,
            failure: None,
            observed: Vec::new(),
            notes: Vec::new(),
            info: CloseInfo::default(),
            fail_codes: None,
            close_timed_out: false,
            tcp_timed_out: false,
            harness_dropped: false,
            close_frame_sent: false,
            answered_harness_close: false,
            peer_failed: false,
            steps_took: None,
            received_messages: 0,
            received_bytes: 0,
            handshake_record: None,
            handshake: case.handshake.clone(),
            answer: None,
            established: false,
            steps: case.steps.clone(),
            outbox: Outbox::new(),
            outgoing_fragment: None,
            io: None,
            deflate: case.deflate.clone(),
            settled: None,
            compressor: None,
            corpus_cursor: 0,
            unimplemented: None,
        }
    }

    /// Takes what the handshake settled about permessage-deflate: the codec when it was agreed, and
    /// UNIMPLEMENTED when the case needs it and it was not.
    fn settle(&mut self, settled: Option<Settled>) {
        match settled {
            Some(settled) => {
                self.recorder.note(format!(
                    "permessage-deflate agreed: `{}`; the harness compresses with a 2^{} window{}",
                    settled.response,
                    settled.own.max_window_bits,
                    if settled.own.no_context_takeover {
                        ", without context takeover"
                    } else {
                        ""
                    }
                ));
                self.compressor = Some(Compressor::new(settled.own, LEVEL));
                self.settled = Some(settled);
            }
            None if self.deflate.as_ref().is_some_and(|spec| spec.required) => {
                let peer = match self.role {
                    Role::Server => {
                        "the server declined permessage-deflate: its response accepts none of the offers"
                    }
                    Role::Client => {
                        "the client offered no permessage-deflate that the case can answer"
                    }
                };
                self.recorder.note(peer);
                self.unimplemented = Some(peer.to_owned());
            }
            None => {}
        }
    }

    fn fail(&mut self, reason: String) {
        if self.failure.is_none() {
            self.failure = Some(reason);
        }
        self.behavior = Verdict::Fail;
    }

    /// Adds a note, unless the result already has [`MAX_NOTES`] of them.
    fn note(&mut self, text: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(text);
        }
    }

    fn degrade(&mut self, verdict: Verdict) {
        self.behavior = self.behavior.max(verdict);
    }

    async fn run(&mut self, target: &Target) {
        match self.open(target).await {
            Ok(Some(io)) => self.established(io).await,
            // A refusal the case asked for, already judged.
            Ok(None) => {}
            Err(reason) => self.fail(reason),
        }
        if self.handshake.then_connect {
            self.recorder
                .note("one more connection, with the standard handshake");
            if let Err(reason) = self.standard_upgrade(target).await {
                self.fail(format!(
                    "after this case the server no longer accepts a standard handshake: {reason}"
                ));
            }
        }
    }

    /// The connection is open: the steps, then the closing.
    async fn established(&mut self, io: Io) {
        self.io = Some(io);
        self.established = true;
        let steps = std::mem::take(&mut self.steps);
        let started = Instant::now();
        if let Some(reason) = self.unimplemented.clone() {
            // As Autobahn does: no steps, a normal close at once.
            self.note(format!("UNIMPLEMENTED: {reason}"));
            self.degrade(Verdict::Unimplemented);
        } else {
            self.steps_in_order(&steps).await;
        }
        self.steps_took = Some(started.elapsed());
        self.finish().await;
    }

    /// A client's case: check its request, answer it as the case says, then run the steps.
    async fn run_accepted(&mut self, accepted: Accepted, seen_before: bool) {
        let Accepted {
            reader,
            mut writer,
            request,
            head,
            leftover,
        } = accepted;
        self.recorder.bytes(Direction::Received, &head);
        let problems = judge::check_client_request(&request, seen_before);
        if !problems.is_empty() {
            self.fail(format!(
                "the client's opening handshake is wrong: {}",
                problems.join("; ")
            ));
        }
        let key = request
            .header("sec-websocket-key")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let settled = self
            .deflate
            .as_ref()
            .and_then(|spec| deflate::answer_client(spec, &request));
        let extensions = settled.as_ref().map(|settled| settled.response.clone());
        let response = build_response(&self.handshake.response, &key, extensions.as_deref());
        self.settle(settled);
        self.handshake_record = Some(HandshakeRecord {
            request: head_text(&head),
            response: head_text(&response),
        });
        let mut out = Outgoing::default();
        out.push_bytes(response);
        if let Err(err) = out
            .write_to(&mut writer, None, Duration::ZERO, &self.recorder)
            .await
        {
            self.fail(format!("cannot send the handshake response: {err}"));
            return;
        }
        let io = self.start_reading(reader, writer, leftover);
        self.established(io).await;
    }

    /// Starts the reader task on an upgraded connection.
    fn start_reading(&self, reader: Reader, writer: Writer, leftover: Vec<u8>) -> Io {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(reader, leftover, self.recorder.clone(), tx));
        let peer = match &self.settled {
            Some(settled) => PeerStream::new(self.role).with_deflate(settled.peer),
            None => PeerStream::new(self.role),
        };
        Io {
            writer,
            rx,
            backlog: VecDeque::new(),
            peer,
            pending: VecDeque::new(),
            sent_close: false,
            tcp_closed: false,
            write_failed: false,
        }
    }

    /// TCP connect and the case's opening handshake. `Ok(None)`: the case expects a refusal, and the
    /// answer has been judged.
    async fn open(&mut self, target: &Target) -> Result<Option<Io>, String> {
        let timeout = self.settings.handshake_timeout;
        let (mut reader, mut writer) = connect(target, &self.settings.tls, timeout).await?;

        let spec = match &self.deflate {
            Some(spec) => with_extensions(&self.handshake.request, deflate::offer_header(spec)),
            None => self.handshake.request.clone(),
        };
        let (head, offer) = self.request(target, &spec);
        self.recorder.note("opening handshake");
        let mut out = Outgoing::default();
        out.push_bytes(head.clone());
        for frame in self.handshake.pipelined.clone() {
            self.recorder
                .note("a frame sent before the response, behind the request");
            let (header, wire, plain) = self.frame(&frame);
            self.send_frame(&mut out, &header, &wire, &plain);
        }
        let plan = self.handshake.write;
        let written = out
            .write_to(
                &mut writer,
                plan.chop,
                Duration::from_millis(plan.delay_ms),
                &self.recorder,
            )
            .await;
        let refusal = match &self.handshake.expect {
            HandshakeExpect::Upgrade => None,
            HandshakeExpect::Refuse(refusal) => Some(refusal.clone()),
        };
        if let Err(err) = written {
            // A server may refuse a request before it has read all of it; its answer still counts.
            if refusal.is_none() {
                return Err(format!("cannot send the opening handshake: {err}"));
            }
            self.recorder
                .note(format!("the request could not be sent in full: {err}"));
        }

        let mut buf = Vec::new();
        let answer = read_response_head(&mut reader, &mut buf, timeout, &self.recorder).await;
        self.handshake_record = Some(HandshakeRecord {
            request: head_text(&head),
            response: match &answer {
                Ok((_, len)) => head_text(&buf[..*len]),
                Err(_) => head_text(&buf),
            },
        });
        let Some(refusal) = refusal else {
            let (response, head_len) = answer?;
            let problems = judge::check_upgrade_response(&response, &offer, &self.settings.policy);
            if !problems.is_empty() {
                return Err(format!("opening handshake failed: {}", problems.join("; ")));
            }
            let leftover = buf.split_off(head_len);
            self.settle(deflate::settled_by_server(&offer, &response));
            return Ok(Some(self.start_reading(reader, writer, leftover)));
        };
        let judgement = match &answer {
            Ok((response, _)) => {
                let problems =
                    judge::check_upgrade_response(response, &offer, &self.settings.policy);
                judge::judge_refusal(
                    &refusal,
                    Answer::Response {
                        response,
                        upgrade_problems: &problems,
                    },
                )
            }
            Err(reason) => judge::judge_refusal(&refusal, Answer::Nothing(reason)),
        };
        self.recorder.note(format!("judged: {}", judgement.what));
        match judgement.verdict {
            Verdict::Fail | Verdict::Error => self.fail(judgement.what.clone()),
            verdict => {
                if verdict != Verdict::Pass {
                    self.notes.push(judgement.what.clone());
                }
                self.degrade(verdict);
            }
        }
        self.notes.extend(judgement.note);
        self.answer = Some(judgement.what);
        let _ = writer.shutdown().await;
        Ok(None)
    }

    /// The request head `spec` describes, with a fresh key, and what it offers.
    fn request(&mut self, target: &Target, spec: &RequestSpec) -> (Vec<u8>, Offer) {
        let key = generate_key(self.rng.random());
        let context = RequestContext {
            host: &target.host_header,
            hostname: &target.host,
            port: target.port,
            resource: &target.resource,
            key: &key,
            policy: &self.settings.policy,
        };
        build_request(spec, &context)
    }

    /// A fresh connection with the standard handshake, which must be upgraded; then TCP is closed.
    async fn standard_upgrade(&mut self, target: &Target) -> Result<(), String> {
        standard_upgrade(target, &self.settings, &mut self.rng, &self.recorder).await
    }

    /// Runs steps in order until one fails, the peer fails the connection, or the harness drops it.
    async fn steps_in_order(&mut self, steps: &[Step]) {
        for step in steps {
            if self.failure.is_some() || self.harness_dropped || self.peer_failed {
                break;
            }
            self.step(step).await;
        }
    }

    async fn step(&mut self, step: &Step) {
        match step {
            Step::Repeat { times, steps } => {
                for _ in 0..*times {
                    Box::pin(self.steps_in_order(steps)).await;
                }
            }
            Step::Send { frames, write } => {
                let mut out = Outgoing::default();
                for frame in frames {
                    let (header, wire, plain) = self.frame(frame);
                    self.close_frame_sent |= header.opcode == Opcode::Close;
                    self.send_frame(&mut out, &header, &wire, &plain);
                    if write.per_frame {
                        self.write(&std::mem::take(&mut out), *write).await;
                    }
                }
                self.write(&out, *write).await;
            }
            Step::SendMessage {
                opcode,
                payload,
                fragment,
                compress,
                write,
            } => {
                let source = self.source(payload);
                let len = source.len;
                if self.compressor.is_some() && *compress != Some(false) && len <= MAX_INFLATED {
                    self.send_compressed(*opcode, &source, *fragment, *write)
                        .await;
                    return;
                }
                let size = fragment.unwrap_or(len).max(1);
                let count = len.div_ceil(size).max(1);
                let mut out = Outgoing::default();
                for i in 0..count {
                    let start = i * size;
                    let n = size.min(len - start);
                    let header = FrameHeader {
                        fin: i + 1 == count,
                        rsv: 0,
                        opcode: if i == 0 {
                            Opcode::from_u8(*opcode)
                        } else {
                            Opcode::Continuation
                        },
                        mask: self.mask(MaskSpec::Auto),
                        payload_len: n,
                        length_form: LengthForm::minimal(n),
                    };
                    let piece = Source {
                        start: source.start + start,
                        len: n,
                        ..source.clone()
                    };
                    self.send_frame(&mut out, &header, &piece, &piece);
                }
                self.write(&out, *write).await;
            }
            Step::SendRaw { bytes, write } => self.write_bytes(bytes.clone(), *write).await,
            Step::Wait { ms } => {
                self.recorder.note(format!("waiting {ms} ms"));
                let until = Instant::now() + Duration::from_millis(*ms);
                loop {
                    if self
                        .io
                        .as_ref()
                        .is_some_and(|io| io.pending.len() >= MAX_PENDING)
                    {
                        // A peer that floods the wait is left unread (TCP pushes back) for the rest.
                        tokio::time::sleep_until(until.into()).await;
                        break;
                    }
                    let Some(event) = self.receive(until).await else {
                        break;
                    };
                    if let Some(io) = self.io.as_mut() {
                        io.pending.push_back(event);
                    }
                }
            }
            Step::Close { payload, write } => {
                let bytes = match payload {
                    ClosePayloadSpec::Code { code, reason } => {
                        encode_close_payload(*code, &reason.to_bytes())
                    }
                    ClosePayloadSpec::Raw(raw) => raw.to_bytes(),
                };
                self.send_close(bytes, *write).await;
            }
            Step::Drop => {
                self.recorder.note("dropping TCP without a close frame");
                self.harness_dropped = true;
                self.info.tcp_closed_by.get_or_insert(Side::Harness);
                self.io = None;
            }
            Step::HalfClose => {
                if let Some(io) = self.io.as_mut() {
                    self.recorder.note("shutting down the sending half of TCP");
                    let _ = io.writer.shutdown().await;
                }
            }
            Step::Expect {
                expect,
                within_ms,
                on_timeout,
            } => self.expect(expect, *within_ms, *on_timeout).await,
        }
    }

    async fn expect(&mut self, expect: &Expect, within_ms: u64, on_timeout: OnTimeout) {
        let mut matcher = Matcher::new(expect).with_limit(self.settings.max_message_size);
        let silence = Matcher::waits_for_silence(expect);
        let until = Instant::now() + Duration::from_millis(silence.unwrap_or(within_ms));
        let outcome = loop {
            let Some(event) = self.next_event(until).await else {
                break match silence {
                    Some(ms) => MatchOutcome::Matched {
                        verdict: Verdict::Pass,
                        echoes: 0,
                        what: format!("nothing for {ms} ms"),
                        fail_codes: None,
                    },
                    None if on_timeout == OnTimeout::Pass => {
                        self.recorder
                            .note(format!("nothing within {within_ms} ms, which is fine here"));
                        return;
                    }
                    None if on_timeout == OnTimeout::NonStrict => {
                        let MatchOutcome::Failed(reason) = matcher.timed_out(within_ms) else {
                            return;
                        };
                        self.recorder.note(format!("late, going on: {reason}"));
                        self.note(format!("NON-STRICT: {reason}; the peer reacted only later"));
                        self.degrade(Verdict::NonStrict);
                        return;
                    }
                    None => matcher.timed_out(within_ms),
                };
            };
            if let Some(outcome) = matcher.feed(&event, &self.outbox) {
                break outcome;
            }
        };
        match outcome {
            MatchOutcome::Matched {
                verdict,
                echoes,
                what,
                fail_codes,
            } => {
                self.recorder.note(format!("expectation met: {what}"));
                if verdict == Verdict::NonStrict {
                    self.note(format!("matched a less preferred alternative: {what}"));
                }
                self.degrade(verdict);
                self.outbox.drain(..echoes.min(self.outbox.len()));
                if fail_codes.is_some() {
                    // The peer failed the connection: the remaining steps have nothing to act on.
                    self.fail_codes = fail_codes;
                    self.peer_failed = true;
                }
            }
            MatchOutcome::Failed(reason) => {
                self.recorder.note(format!("expectation failed: {reason}"));
                self.fail(reason);
            }
        }
    }

    /// The next event: one kept by a `wait` step, or else the next from the peer.
    async fn next_event(&mut self, until: Instant) -> Option<Observed> {
        match self.io.as_mut()?.pending.pop_front() {
            Some(event) => Some(event),
            None => self.receive(until).await,
        }
    }

    /// The next event from the peer, answering pings and close frames on the way; None at `until` or
    /// when the connection is gone.
    async fn receive(&mut self, until: Instant) -> Option<Observed> {
        loop {
            let io = self.io.as_mut()?;
            if io.tcp_closed {
                tokio::time::sleep_until(until.into()).await;
                return None;
            }
            // A peer that never stops sending must not keep the harness here past `until`.
            if Instant::now() >= until {
                return None;
            }
            let queued = match io.backlog.pop_front() {
                Some(queued) => queued,
                None => match tokio::time::timeout_at(until.into(), io.rx.recv()).await {
                    Err(_) => return None,
                    Ok(None) => Incoming::Error("the reader stopped".into()).into(),
                    Ok(Some(queued)) => queued,
                },
            };
            let event = match queued.incoming {
                Incoming::Header(header) => match io.peer.header(&header) {
                    Some(event) => event,
                    None => continue,
                },
                Incoming::Payload(chunk) => match io.peer.payload(&chunk) {
                    Some(event) => event,
                    None => continue,
                },
                Incoming::End => match io.peer.end() {
                    Some(event) => event,
                    None => continue,
                },
                Incoming::Eof => Observed::TcpClosed(None),
                Incoming::Error(err) => Observed::TcpClosed(Some(err)),
            };
            if let Observed::Message { body, .. } = &event {
                self.received_messages += 1;
                self.received_bytes += body.len;
            }
            self.react(&event).await;
            if self.observed.len() < MAX_OBSERVED {
                self.observed.push(event.to_string());
            }
            return Some(event);
        }
    }

    /// What an RFC 6455 endpoint does on its own: answer pings, answer a close frame, note TCP closing.
    async fn react(&mut self, event: &Observed) {
        match event {
            Observed::Ping(payload) => {
                let sent_close = self.io.as_ref().is_some_and(|io| io.sent_close);
                if !sent_close {
                    let spec = FrameSpec::new(Opcode::Pong, payload.clone())
                        .with_mask(self.mask(MaskSpec::Auto));
                    self.recorder
                        .frame(Direction::Sent, &spec.header(), &spec.payload);
                    self.write_bytes(encode_frame(&spec), WritePlan::default())
                        .await;
                }
            }
            Observed::Close(payload) => {
                self.answered_harness_close = self.close_frame_sent;
                self.info.initiated_by.get_or_insert(Side::Peer);
                if let ClosePayload::Code { code, reason } = ClosePayload::parse(payload) {
                    self.info.peer_code = Some(code.0);
                    self.info.peer_reason = Some(String::from_utf8_lossy(reason).into_owned());
                }
                let sent_close = self.io.as_ref().is_some_and(|io| io.sent_close);
                if sent_close {
                    self.info.clean = true;
                } else {
                    // Answer with the peer's code, as §5.5.1 suggests; an empty close is answered empty.
                    let reply = match ClosePayload::parse(payload) {
                        ClosePayload::Code { code, .. } => encode_close_payload(code.0, b""),
                        _ => Vec::new(),
                    };
                    self.send_close(reply, WritePlan::default()).await;
                    self.info.clean = true;
                }
            }
            Observed::TcpClosed(_) => {
                if let Some(io) = self.io.as_mut() {
                    io.tcp_closed = true;
                }
                self.info.tcp_closed_by.get_or_insert(Side::Peer);
            }
            _ => {}
        }
    }

    async fn send_close(&mut self, payload: Vec<u8>, write: WritePlan) {
        let Some(io) = self.io.as_mut() else { return };
        if io.sent_close {
            self.recorder
                .note("a second close frame, sent as the case asks");
        }
        io.sent_close = true;
        self.close_frame_sent = true;
        self.info.initiated_by.get_or_insert(Side::Harness);
        if let ClosePayload::Code { code, .. } = ClosePayload::parse(&payload) {
            self.info.harness_code.get_or_insert(code.0);
        }
        let spec = FrameSpec::new(Opcode::Close, payload).with_mask(self.mask(MaskSpec::Auto));
        self.recorder
            .frame(Direction::Sent, &spec.header(), &spec.payload);
        self.write_bytes(encode_frame(&spec), write).await;
    }

    /// Writes, while still reading: what the peer sends meanwhile is kept for later, and when the peer
    /// starts to close (a close frame or the end of TCP), the rest of the write is abandoned instead of
    /// blocking against a peer that no longer reads.
    async fn write(&mut self, out: &Outgoing, plan: WritePlan) {
        let Some(io) = self.io.as_mut() else { return };
        if io.write_failed || out.is_empty() {
            return;
        }
        let delay = Duration::from_millis(plan.delay_ms);
        let write = out.write_to(&mut io.writer, plan.chop, delay, &self.recorder);
        tokio::pin!(write);
        loop {
            tokio::select! {
                result = &mut write => {
                    if let Err(err) = result {
                        io.write_failed = true;
                        self.recorder.note(format!("write failed: {err}"));
                    }
                    return;
                }
                queued = io.rx.recv() => {
                    let queued = queued.unwrap_or_else(|| Incoming::Error("the reader stopped".into()).into());
                    let closing = match &queued.incoming {
                        Incoming::Header(header) => header.opcode == Opcode::Close,
                        Incoming::Eof | Incoming::Error(_) => true,
                        Incoming::Payload(_) | Incoming::End => false,
                    };
                    io.backlog.push_back(queued);
                    if closing {
                        io.write_failed = true;
                        self.recorder.note("stopped writing: the peer is closing the connection");
                        return;
                    }
                }
            }
        }
    }

    async fn write_bytes(&mut self, bytes: Vec<u8>, plan: WritePlan) {
        let mut out = Outgoing::default();
        out.push_bytes(bytes);
        self.write(&out, plan).await;
    }

    /// The closing: unless the connection is already gone, make sure both close frames were exchanged and
    /// give the peer a fair chance to close TCP first.
    async fn finish(&mut self) {
        if self.io.is_none() {
            return;
        }
        let wait = self.settings.close_wait;
        let sent_close = self.io.as_ref().is_some_and(|io| io.sent_close);
        let peer_closed = self.info.initiated_by == Some(Side::Peer) || self.info.clean;
        if !sent_close && !peer_closed && !self.tcp_closed() {
            self.send_close(encode_close_payload(1000, b""), WritePlan::default())
                .await;
        }
        // Wait for the peer's close frame (if still due), then for TCP to close.
        if !self
            .handle_until(wait, |case| case.info.clean || case.tcp_closed())
            .await
        {
            self.close_timed_out = true;
            self.recorder.note(format!(
                "no close frame from the peer within {} ms",
                wait.as_millis()
            ));
        }
        // The server closes TCP first (§7.1.1): when the harness is the server, it does so now.
        if self.role == Role::Client && !self.tcp_closed() {
            if let Some(io) = self.io.as_mut() {
                let _ = io.writer.shutdown().await;
                self.info.tcp_closed_by.get_or_insert(Side::Harness);
            }
        }
        if !self.handle_until(wait, CaseState::tcp_closed).await {
            self.tcp_timed_out = true;
            self.recorder.note(format!(
                "the peer did not close TCP within {} ms; closing it",
                wait.as_millis()
            ));
            self.info.tcp_closed_by.get_or_insert(Side::Harness);
        }
        // Anything left in the queue was never expected.
        while let Some(event) = self.io.as_mut().and_then(|io| io.pending.pop_front()) {
            self.unexpected(&event);
        }
        if let Some(mut io) = self.io.take() {
            let _ = io.writer.shutdown().await;
        }
    }

    /// Handles what the peer sends until `done` holds; false if `wait` runs out first.
    async fn handle_until(&mut self, wait: Duration, done: fn(&CaseState) -> bool) -> bool {
        let until = Instant::now() + wait;
        while !done(self) {
            match self.next_event(until).await {
                Some(event) => self.unexpected(&event),
                None => return false,
            }
        }
        true
    }

    fn tcp_closed(&self) -> bool {
        self.io.as_ref().is_none_or(|io| io.tcp_closed)
    }

    /// An event that no step asked for, seen while closing.
    fn unexpected(&mut self, event: &Observed) {
        match event {
            Observed::Message { .. } => {
                self.fail(format!("the peer sent a {event} that no step expected"))
            }
            Observed::Violation(what) => self.fail(format!("the peer broke the protocol: {what}")),
            Observed::Pong(_) => self.note(format!(
                "the peer sent an unsolicited {event}, which §5.5.3 allows"
            )),
            Observed::Ping(_) | Observed::Close(_) | Observed::TcpClosed(_) => {}
        }
    }

    fn mask(&mut self, spec: MaskSpec) -> Option<[u8; 4]> {
        match spec {
            MaskSpec::Auto if self.role == Role::Server => Some(self.rng.random()),
            MaskSpec::AutoZero if self.role == Role::Server => Some([0; 4]),
            MaskSpec::Auto | MaskSpec::AutoZero | MaskSpec::None => None,
            MaskSpec::Random => Some(self.rng.random()),
            MaskSpec::Key(key) => Some(key),
        }
    }

    /// The source of a payload: a corpus slice continues where the case's previous one ended.
    fn source(&mut self, payload: &Payload) -> Source {
        let mut source = Source::of(payload, self.settings.max_message_size);
        if let Payload::Corpus { corpus, count } = payload {
            let size = corpus.len() as u64;
            source.start = self.corpus_cursor;
            self.corpus_cursor = (self.corpus_cursor + count % size.max(1)) % size.max(1);
        }
        source
    }

    /// The header of the frame a case describes, its payload as it goes on the wire, and the payload
    /// as the peer's application sees it (they differ for a `deflate` payload).
    fn frame(&mut self, frame: &CaseFrame) -> (FrameHeader, Source, Source) {
        let plain = self.source(&frame.payload);
        let wire = if matches!(frame.payload, Payload::Deflated(_)) {
            let compressed = self.deflate_by_hand(&plain);
            Source {
                len: compressed.len() as u64,
                pattern: Cow::Owned(compressed),
                start: 0,
            }
        } else {
            plain.clone()
        };
        let declared = frame.declared_len.unwrap_or(wire.len);
        let header = FrameHeader {
            fin: frame.fin,
            rsv: frame.rsv,
            opcode: Opcode::from_u8(frame.opcode),
            mask: self.mask(frame.mask),
            payload_len: declared,
            length_form: match frame.length_form {
                Some(LengthFormSpec::Short) => LengthForm::Short,
                Some(LengthFormSpec::U16) => LengthForm::U16,
                Some(LengthFormSpec::U64) => LengthForm::U64,
                None => LengthForm::minimal(declared),
            },
        };
        (header, wire, plain)
    }

    /// A payload compressed for a frame the case builds by hand: with the connection's compressor when
    /// permessage-deflate was agreed (so that its window stays the peer's), else afresh.
    fn deflate_by_hand(&mut self, plain: &Source) -> Vec<u8> {
        let mut fresh;
        let compressor = match self.compressor.as_mut() {
            Some(compressor) => compressor,
            None => {
                fresh = Compressor::new(DeflateDirection::default(), LEVEL);
                &mut fresh
            }
        };
        let mut out = Vec::new();
        plain.for_each_block(|block| compressor.push(block, &mut out));
        compressor.finish(&mut out);
        out
    }

    /// Sends a data message compressed (RFC 7692 §7.2.1): RSV1 on its first frame, the compressed
    /// payload split into frames of `fragment` bytes. The outbox keeps the uncompressed message.
    async fn send_compressed(
        &mut self,
        opcode: u8,
        source: &Source,
        fragment: Option<u64>,
        write: WritePlan,
    ) {
        let Some(compressor) = self.compressor.as_mut() else {
            return;
        };
        let mut body = BodyBuilder::default();
        let mut compressed = Vec::new();
        source.for_each_block(|block| {
            body.push(block);
            compressor.push(block, &mut compressed);
        });
        compressor.finish(&mut compressed);
        let size = fragment
            .map_or(compressed.len(), |f| {
                usize::try_from(f).unwrap_or(usize::MAX)
            })
            .max(1);
        let pieces: Vec<&[u8]> = if compressed.is_empty() {
            vec![&[]]
        } else {
            compressed.chunks(size).collect()
        };
        let mut out = Outgoing::default();
        for (i, piece) in pieces.iter().enumerate() {
            let len = piece.len() as u64;
            let header = FrameHeader {
                fin: i + 1 == pieces.len(),
                rsv: if i == 0 { RSV1 } else { 0 },
                opcode: if i == 0 {
                    Opcode::from_u8(opcode)
                } else {
                    Opcode::Continuation
                },
                mask: self.mask(MaskSpec::Auto),
                payload_len: len,
                length_form: LengthForm::minimal(len),
            };
            self.recorder.frame(
                Direction::Sent,
                &header,
                &piece[..piece.len().min(PREVIEW_BYTES)],
            );
            out.push_payload(&header, piece);
        }
        self.outbox.push_back((opcode, body.finish()));
        self.write(&out, write).await;
    }

    /// Adds a frame to `out` (its payload as `wire` says), records it, and remembers complete data
    /// messages for `echo` (as `plain` says).
    fn send_frame(
        &mut self,
        out: &mut Outgoing,
        header: &FrameHeader,
        wire: &Source,
        plain: &Source,
    ) {
        let mut preview = [0; PREVIEW_BYTES];
        self.recorder
            .frame(Direction::Sent, header, wire.preview(&mut preview));
        out.push_frame(header, wire.pattern.clone(), wire.start, wire.len);
        let feed = |body: &mut BodyBuilder| plain.for_each_block(|block| body.push(block));
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                let mut body = BodyBuilder::default();
                feed(&mut body);
                self.outgoing_fragment = Some((header.opcode.as_u8(), body));
            }
            Opcode::Continuation => {
                if let Some((_, body)) = self.outgoing_fragment.as_mut() {
                    feed(body);
                }
            }
            _ => return,
        }
        if header.fin {
            if let Some((opcode, body)) = self.outgoing_fragment.take() {
                self.outbox.push_back((opcode, body.finish()));
            }
        }
    }

    fn into_result(
        mut self,
        case: &Case,
        start: Instant,
        run_start: Instant,
        recorder: Recorder,
    ) -> CaseResult {
        let (behavior_close, close_verdict) = if self.answer.is_some() {
            // A refused handshake has no WebSocket close to judge.
            (CloseBehavior::Ok, Verdict::Pass)
        } else if !self.established {
            (CloseBehavior::Failed, Verdict::Fail)
        } else if self.harness_dropped {
            (CloseBehavior::Ok, Verdict::Pass)
        } else {
            let ending = Ending {
                info: self.info.clone(),
                fail_codes: self.fail_codes.clone(),
                close_timed_out: self.close_timed_out,
                tcp_timed_out: self.tcp_timed_out,
                role: Some(self.role),
                answered_harness_close: self.answered_harness_close,
            };
            judge::judge_close(&ending, &mut self.notes)
        };
        let verdict = judge::overall(case.level, self.behavior, close_verdict);
        let mut actual = if let Some(answer) = self.answer.take() {
            answer
        } else if let Some(reason) = self.unimplemented.take() {
            reason
        } else if self.observed.is_empty() {
            "the peer sent nothing".to_owned()
        } else {
            format!("the peer sent: {}", self.observed.join(", "))
        };
        if let Some(failure) = self.failure.as_ref().filter(|failure| **failure != actual) {
            actual = format!("{failure}. {actual}");
        }
        CaseResult {
            behavior: self.behavior,
            behavior_close,
            notes: self.notes,
            close: self.info,
            started_ms: start.duration_since(run_start).as_millis() as u64,
            duration_ms: start.elapsed().as_millis() as u64,
            throughput: self
                .steps_took
                .filter(|_| case.performance)
                .map(|took| Throughput {
                    seconds: took.as_secs_f64(),
                    messages: self.received_messages,
                    bytes: self.received_bytes,
                }),
            handshake: self.handshake_record,
            transcript: recorder.snapshot(),
            ..result_of(case, verdict, actual)
        }
    }
}

/// Checks that the target still upgrades a connection opened with the standard handshake (and a
/// fresh key from `seed`), then closes TCP. The fuzzer asks this after a failing scenario, to tell a
/// target that misbehaved from one that died.
pub async fn upgrades(target: &Target, settings: &CaseSettings, seed: u64) -> Result<(), String> {
    let recorder = Recorder::new(Instant::now());
    standard_upgrade(
        target,
        settings,
        &mut StdRng::seed_from_u64(seed),
        &recorder,
    )
    .await
}

/// A fresh connection with the standard handshake, which must be upgraded; then TCP is closed.
async fn standard_upgrade(
    target: &Target,
    settings: &CaseSettings,
    rng: &mut StdRng,
    recorder: &Recorder,
) -> Result<(), String> {
    let timeout = settings.handshake_timeout;
    let (mut reader, mut writer) = connect(target, &settings.tls, timeout).await?;
    let key = generate_key(rng.random());
    let context = RequestContext {
        host: &target.host_header,
        hostname: &target.host,
        port: target.port,
        resource: &target.resource,
        key: &key,
        policy: &settings.policy,
    };
    let (head, offer) = build_request(&RequestSpec::default(), &context);
    let mut out = Outgoing::default();
    out.push_bytes(head);
    out.write_to(&mut writer, None, Duration::ZERO, recorder)
        .await
        .map_err(|err| format!("cannot send the opening handshake: {err}"))?;
    let mut buf = Vec::new();
    let (response, _) = read_response_head(&mut reader, &mut buf, timeout, recorder).await?;
    let problems = judge::check_upgrade_response(&response, &offer, &settings.policy);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let _ = writer.shutdown().await;
    Ok(())
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

/// Reads until `buf` holds a complete response head (bounded by the parser), within `timeout`.
/// Returns the head and its length; what follows it in `buf` already belongs to the frames.
async fn read_response_head<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    timeout: Duration,
    recorder: &Recorder,
) -> Result<(Response, usize), String> {
    let mut chunk = [0u8; 4096];
    let read_head = async {
        loop {
            match parse_response(buf) {
                Ok(Parsed::Complete { value, len }) => return Ok((value, len)),
                Ok(Parsed::Incomplete) => {}
                Err(err) => {
                    return Err(format!("the handshake response is not valid HTTP: {err}"));
                }
            }
            match reader.read(&mut chunk).await {
                Ok(0) => {
                    return Err(if buf.is_empty() {
                        "the server closed the connection without answering the opening handshake"
                            .to_owned()
                    } else {
                        "the server closed the connection in the middle of its handshake response"
                            .to_owned()
                    });
                }
                Ok(n) => {
                    recorder.bytes(Direction::Received, &chunk[..n]);
                    buf.extend_from_slice(&chunk[..n]);
                }
                Err(err) => return Err(format!("reading the handshake response failed: {err}")),
            }
        }
    };
    tokio::time::timeout(timeout, read_head)
        .await
        .map_err(|_| {
            format!(
                "no complete handshake response within {} ms",
                timeout.as_millis()
            )
        })?
}

/// A request or response head as text for the results, cut short when it is huge.
fn head_text(head: &[u8]) -> String {
    const KEEP: usize = 8 * 1024;
    let text = String::from_utf8_lossy(&head[..head.len().min(KEEP)]).into_owned();
    if head.len() > KEEP {
        format!("{text}… ({} more bytes)", head.len() - KEEP)
    } else {
        text
    }
}

/// The request with a `Sec-WebSocket-Extensions` field offering `value`, unless the case writes that
/// field itself (or the whole head).
fn with_extensions(request: &RequestSpec, value: String) -> RequestSpec {
    match request {
        RequestSpec::Edit(edit) => {
            let mut edit = edit.clone();
            edit.set
                .insert(0, ("Sec-WebSocket-Extensions".to_owned(), value));
            RequestSpec::Edit(edit)
        }
        RequestSpec::Raw(_) => request.clone(),
    }
}
