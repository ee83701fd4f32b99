//! Executing one case on one connection: the steps in order, then the close, then the result.
//!
//! The harness behaves as an RFC 6455 endpoint wherever the case does not say otherwise: it answers the
//! peer's pings, answers a close frame with a close frame, and closes the connection properly at the end
//! of the steps. Every wait has a deadline, so a silent or hostile peer costs time, never a hang.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, tcp::OwnedWriteHalf},
    sync::mpsc,
};
use wsspec_suite::{
    Case, Role,
    case::{
        ClosePayloadSpec, Expect, FrameSpec as CaseFrame, LengthFormSpec, MaskSpec, OnTimeout,
        Step, WritePlan,
    },
    results::{
        CaseResult, CloseBehavior, CloseInfo, Direction, HandshakeRecord, Side, Throughput, Verdict,
    },
};
use wsspec_wire::{
    ClosePayload, FrameHeader, FrameSpec, LengthForm, Opcode, Parsed, Request,
    encode_close_payload, encode_frame, generate_key, parse_response,
};

use crate::{
    Target,
    body::{BodyBuilder, fill, for_each_block, pattern_of},
    conn::{Incoming, PREVIEW_BYTES, Queued, Recorder, read_frames},
    judge::{self, Ending, MatchOutcome, Matcher, Observed, Outbox, PeerStream},
    outgoing::Outgoing,
};

/// Timing and size settings for one case.
#[derive(Clone, Debug)]
pub struct CaseSettings {
    /// The seed for masks and keys (combined with the case id).
    pub seed: u64,
    /// How long to wait for TCP connect and the opening handshake.
    pub handshake_timeout: Duration,
    /// How long to wait for each part of the closing (the peer's close frame, then its TCP close).
    pub close_wait: Duration,
    /// The whole case's deadline when the case sets none.
    pub case_timeout: Duration,
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
    let start = Instant::now();
    let recorder = Recorder::new(start);
    let deadline = case
        .timeout_ms
        .map_or(settings.case_timeout, Duration::from_millis);
    let mut state = CaseState::new(case, Role::Server, settings, recorder.clone());
    let outcome = tokio::time::timeout(deadline, state.run(target)).await;
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
    handshake: Option<HandshakeRecord>,
    established: bool,
    steps: Vec<Step>,
    io: Option<Io>,
}

/// The live connection.
struct Io {
    writer: OwnedWriteHalf,
    rx: mpsc::UnboundedReceiver<Queued>,
    /// What arrived while the harness was writing, not yet looked at (bounded by the read budget its
    /// events hold).
    backlog: VecDeque<Queued>,
    peer: PeerStream,
    pending: VecDeque<Observed>,
    outbox: Outbox,
    outgoing_fragment: Option<(u8, BodyBuilder)>,
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
            handshake: None,
            established: false,
            steps: case.steps.clone(),
            io: None,
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
        match self.connect(target).await {
            Ok(io) => {
                self.io = Some(io);
                self.established = true;
            }
            Err(reason) => {
                self.fail(reason);
                return;
            }
        }
        let steps = std::mem::take(&mut self.steps);
        let started = Instant::now();
        self.steps_in_order(&steps).await;
        self.steps_took = Some(started.elapsed());
        self.finish().await;
    }

    /// TCP connect and the opening handshake.
    async fn connect(&mut self, target: &Target) -> Result<Io, String> {
        let timeout = self.settings.handshake_timeout;
        let stream = tokio::time::timeout(
            timeout,
            TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| {
            format!(
                "cannot connect to {}: no answer within {} ms",
                target.url,
                timeout.as_millis()
            )
        })?
        .map_err(|err| format!("cannot connect to {}: {err}", target.url))?;
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();

        let key = generate_key(self.rng.random());
        let request = Request::websocket(&target.host_header, &target.resource, &key);
        let request_bytes = request.to_bytes();
        self.recorder.note("opening handshake");
        let mut out = Outgoing::default();
        out.push_bytes(request_bytes.clone());
        out.write_to(&mut writer, None, Duration::ZERO, &self.recorder)
            .await
            .map_err(|err| format!("cannot send the opening handshake: {err}"))?;

        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let read_head = async {
            loop {
                match parse_response(&buf) {
                    Ok(Parsed::Complete { value, len }) => return Ok((value, len)),
                    Ok(Parsed::Incomplete) => {}
                    Err(err) => {
                        return Err(format!("the handshake response is not valid HTTP: {err}"));
                    }
                }
                match reader.read(&mut chunk).await {
                    Ok(0) => {
                        return Err(if buf.is_empty() {
                            "the server closed the connection without answering the opening handshake".to_owned()
                        } else {
                            "the server closed the connection in the middle of its handshake response".to_owned()
                        });
                    }
                    Ok(n) => {
                        self.recorder.bytes(Direction::Received, &chunk[..n]);
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    Err(err) => {
                        return Err(format!("reading the handshake response failed: {err}"));
                    }
                }
            }
        };
        let (response, head_len) =
            tokio::time::timeout(timeout, read_head)
                .await
                .map_err(|_| {
                    format!(
                        "no complete handshake response within {} ms",
                        timeout.as_millis()
                    )
                })??;
        self.handshake = Some(HandshakeRecord {
            request: String::from_utf8_lossy(&request_bytes).into_owned(),
            response: String::from_utf8_lossy(&buf[..head_len]).into_owned(),
        });
        let problems = judge::check_upgrade_response(&response, &key);
        if !problems.is_empty() {
            return Err(format!("opening handshake failed: {}", problems.join("; ")));
        }
        let leftover = buf.split_off(head_len);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(reader, leftover, self.recorder.clone(), tx));
        Ok(Io {
            writer,
            rx,
            backlog: VecDeque::new(),
            peer: PeerStream::new(self.role),
            pending: VecDeque::new(),
            outbox: Outbox::new(),
            outgoing_fragment: None,
            sent_close: false,
            tcp_closed: false,
            write_failed: false,
        })
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
                    let (header, pattern, len) = self.frame(frame);
                    self.close_frame_sent |= header.opcode == Opcode::Close;
                    self.send_frame(&mut out, &header, &pattern, 0, len);
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
                write,
            } => {
                let (pattern, len) = pattern_of(payload, self.settings.max_message_size);
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
                    self.send_frame(&mut out, &header, &pattern, start, n);
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
            let outbox = self
                .io
                .as_ref()
                .map(|io| io.outbox.clone())
                .unwrap_or_default();
            if let Some(outcome) = matcher.feed(&event, &outbox) {
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
                if let Some(io) = self.io.as_mut() {
                    io.outbox.drain(..echoes.min(io.outbox.len()));
                }
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
            MaskSpec::Auto | MaskSpec::None => None,
            MaskSpec::Random => Some(self.rng.random()),
            MaskSpec::Key(key) => Some(key),
        }
    }

    /// The header of the frame a case describes, and its payload as a pattern and a length.
    fn frame(&mut self, frame: &CaseFrame) -> (FrameHeader, Vec<u8>, u64) {
        let (pattern, len) = pattern_of(&frame.payload, self.settings.max_message_size);
        let declared = frame.declared_len.unwrap_or(len);
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
        (header, pattern, len)
    }

    /// Adds a frame to `out`, records it, and remembers complete data messages for `echo`.
    fn send_frame(
        &mut self,
        out: &mut Outgoing,
        header: &FrameHeader,
        pattern: &[u8],
        start: u64,
        len: u64,
    ) {
        let mut preview = vec![
            0u8;
            usize::try_from(len)
                .unwrap_or(usize::MAX)
                .min(PREVIEW_BYTES)
        ];
        fill(pattern, start, &mut preview);
        self.recorder.frame(Direction::Sent, header, &preview);
        out.push_frame(header, pattern, start, len);
        let Some(io) = self.io.as_mut() else { return };
        let feed =
            |body: &mut BodyBuilder| for_each_block(pattern, start, len, |block| body.push(block));
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                let mut body = BodyBuilder::default();
                feed(&mut body);
                io.outgoing_fragment = Some((header.opcode.as_u8(), body));
            }
            Opcode::Continuation => {
                if let Some((_, body)) = io.outgoing_fragment.as_mut() {
                    feed(body);
                }
            }
            _ => return,
        }
        if header.fin {
            if let Some((opcode, body)) = io.outgoing_fragment.take() {
                io.outbox.push_back((opcode, body.finish()));
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
        let (behavior_close, close_verdict) = if !self.established {
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
        let mut actual = if self.observed.is_empty() {
            "the peer sent nothing".to_owned()
        } else {
            format!("the peer sent: {}", self.observed.join(", "))
        };
        if let Some(failure) = &self.failure {
            actual = format!("{failure}. {actual}");
        }
        CaseResult {
            id: case.id.to_string(),
            title: case.title.clone(),
            rfc: case.rfc.clone(),
            level: case.level,
            requirement: case.requirement.clone(),
            verdict,
            behavior: self.behavior,
            behavior_close,
            expected: case.expectation(),
            actual,
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
            handshake: self.handshake,
            transcript: recorder.snapshot(),
        }
    }
}
