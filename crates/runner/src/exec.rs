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
    results::{CaseResult, CloseBehavior, CloseInfo, Direction, HandshakeRecord, Side, Verdict},
};
use wsspec_wire::{
    ClosePayload, FrameSpec, LengthForm, Opcode, Parsed, Request, encode_close_payload,
    encode_frame, generate_key, parse_response,
};

use crate::{
    Target,
    conn::{Incoming, Recorder, read_frames, write_chopped},
    judge::{self, Ending, MatchOutcome, Matcher, Observed, Outbox, PeerStream},
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
    /// The largest message the harness keeps in memory.
    pub max_message: usize,
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
        state.fail(format!(
            "the case did not finish within its deadline of {} ms",
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
    handshake: Option<HandshakeRecord>,
    established: bool,
    steps: Vec<Step>,
    io: Option<Io>,
}

/// The live connection.
struct Io {
    writer: OwnedWriteHalf,
    rx: mpsc::UnboundedReceiver<Incoming>,
    peer: PeerStream,
    pending: VecDeque<Observed>,
    outbox: Outbox,
    outgoing_fragment: Option<(u8, Vec<u8>)>,
    sent_close: bool,
    tcp_closed: bool,
    write_failed: bool,
}

const MAX_OBSERVED: usize = 40;

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
        for step in &steps {
            if self.failure.is_some() || self.harness_dropped || self.peer_failed {
                break;
            }
            self.step(step).await;
        }
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
        write_chopped(
            &mut writer,
            &request_bytes,
            None,
            Duration::ZERO,
            &self.recorder,
        )
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
        tokio::spawn(read_frames(
            reader,
            leftover,
            self.settings.max_message,
            self.recorder.clone(),
            tx,
        ));
        Ok(Io {
            writer,
            rx,
            peer: PeerStream::new(self.role, self.settings.max_message),
            pending: VecDeque::new(),
            outbox: Outbox::new(),
            outgoing_fragment: None,
            sent_close: false,
            tcp_closed: false,
            write_failed: false,
        })
    }

    async fn step(&mut self, step: &Step) {
        match step {
            Step::Send { frames, write } => {
                let mut bytes = Vec::new();
                for frame in frames {
                    let spec = self.frame(frame);
                    self.close_frame_sent |= spec.opcode == Opcode::Close;
                    self.track_outgoing(&spec);
                    self.recorder
                        .frame(Direction::Sent, &spec.header(), &spec.payload);
                    bytes.extend(encode_frame(&spec));
                    if write.per_frame {
                        self.write(&std::mem::take(&mut bytes), *write).await;
                    }
                }
                self.write(&bytes, *write).await;
            }
            Step::SendMessage {
                opcode,
                payload,
                fragment,
                write,
            } => {
                let payload = payload.to_bytes();
                let size = fragment.map_or(payload.len().max(1), |f| f as usize);
                let mut bytes = Vec::with_capacity(payload.len() + 16);
                let pieces: Vec<&[u8]> = if payload.is_empty() {
                    vec![&[]]
                } else {
                    payload.chunks(size).collect()
                };
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let opcode = if i == 0 {
                        Opcode::from_u8(*opcode)
                    } else {
                        Opcode::Continuation
                    };
                    let spec = FrameSpec::new(opcode, piece.to_vec())
                        .with_fin(i == last)
                        .with_mask(self.mask(MaskSpec::Auto));
                    self.recorder
                        .frame(Direction::Sent, &spec.header(), &spec.payload);
                    self.track_outgoing(&spec);
                    bytes.extend(encode_frame(&spec));
                }
                self.write(&bytes, *write).await;
            }
            Step::SendRaw { bytes, write } => self.write(bytes, *write).await,
            Step::Wait { ms } => {
                self.recorder.note(format!("waiting {ms} ms"));
                let until = Instant::now() + Duration::from_millis(*ms);
                while let Some(event) = self.receive(until).await {
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
        let mut matcher = Matcher::new(expect);
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
                        self.notes
                            .push(format!("NON-STRICT: {reason}; the peer reacted only later"));
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
                    self.notes
                        .push(format!("matched a less preferred alternative: {what}"));
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
            let incoming = match tokio::time::timeout_at(until.into(), io.rx.recv()).await {
                Err(_) => return None,
                Ok(None) => Incoming::Error("the reader stopped".into()),
                Ok(Some(incoming)) => incoming,
            };
            let event = match incoming {
                Incoming::Frame {
                    header,
                    payload,
                    truncated,
                } => match io.peer.frame(&header, payload, truncated) {
                    Some(event) => event,
                    None => continue,
                },
                Incoming::Eof => Observed::TcpClosed(None),
                Incoming::Error(err) => Observed::TcpClosed(Some(err)),
            };
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
                    self.write(&encode_frame(&spec), WritePlan::default()).await;
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
        self.write(&encode_frame(&spec), write).await;
    }

    async fn write(&mut self, bytes: &[u8], plan: WritePlan) {
        let Some(io) = self.io.as_mut() else { return };
        if io.write_failed || bytes.is_empty() {
            return;
        }
        let delay = Duration::from_millis(plan.delay_ms);
        if let Err(err) =
            write_chopped(&mut io.writer, bytes, plan.chop, delay, &self.recorder).await
        {
            io.write_failed = true;
            self.recorder.note(format!("write failed: {err}"));
        }
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
        let until = Instant::now() + wait;
        while !self.info.clean && !self.tcp_closed() {
            match self.next_event(until).await {
                Some(event) => self.unexpected(&event),
                None => {
                    self.close_timed_out = true;
                    self.recorder.note(format!(
                        "no close frame from the peer within {} ms",
                        wait.as_millis()
                    ));
                    break;
                }
            }
        }
        let until = Instant::now() + wait;
        while !self.tcp_closed() {
            match self.next_event(until).await {
                Some(event) => self.unexpected(&event),
                None => {
                    self.tcp_timed_out = true;
                    self.recorder.note(format!(
                        "the peer did not close TCP within {} ms; closing it",
                        wait.as_millis()
                    ));
                    self.info.tcp_closed_by.get_or_insert(Side::Harness);
                    break;
                }
            }
        }
        // Anything left in the queue was never expected.
        while let Some(event) = self.io.as_mut().and_then(|io| io.pending.pop_front()) {
            self.unexpected(&event);
        }
        if let Some(mut io) = self.io.take() {
            let _ = io.writer.shutdown().await;
        }
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
            Observed::Pong(_) => self.notes.push(format!(
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

    /// Builds the wire frame a case describes.
    fn frame(&mut self, frame: &CaseFrame) -> FrameSpec {
        let mut spec = FrameSpec::new(Opcode::from_u8(frame.opcode), frame.payload.to_bytes())
            .with_fin(frame.fin)
            .with_rsv(frame.rsv)
            .with_mask(self.mask(frame.mask));
        spec.length_form = frame.length_form.map(|form| match form {
            LengthFormSpec::Short => LengthForm::Short,
            LengthFormSpec::U16 => LengthForm::U16,
            LengthFormSpec::U64 => LengthForm::U64,
        });
        spec.declared_len = frame.declared_len;
        spec
    }

    /// Remembers complete data messages the harness sends, for `echo` expectations.
    fn track_outgoing(&mut self, spec: &FrameSpec) {
        let Some(io) = self.io.as_mut() else { return };
        match spec.opcode {
            Opcode::Text | Opcode::Binary if spec.fin => {
                io.outbox
                    .push_back((spec.opcode.as_u8(), spec.payload.clone()));
            }
            Opcode::Text | Opcode::Binary => {
                io.outgoing_fragment = Some((spec.opcode.as_u8(), spec.payload.clone()));
            }
            Opcode::Continuation => {
                if let Some((_, message)) = io.outgoing_fragment.as_mut() {
                    message.extend_from_slice(&spec.payload);
                }
                if spec.fin {
                    if let Some(message) = io.outgoing_fragment.take() {
                        io.outbox.push_back(message);
                    }
                }
            }
            _ => {}
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
            handshake: self.handshake,
            transcript: recorder.snapshot(),
        }
    }
}
