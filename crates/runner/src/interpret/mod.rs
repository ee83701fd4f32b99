//! The case interpreter: one sans-IO state machine that runs a case on one connection, in either role.
//!
//! It owns no socket, no task and no clock. A driver (see [`crate::drive`]) feeds it [`Input`]s — bytes
//! the peer sent, the end of the peer's side, a write that finished, a wake-up it asked for — each
//! stamped with the current time, and carries out the [`Action`]s it returns: write these bytes (in
//! pieces, with pauses, as the case's write plan says), shut down the sending half, drop the connection,
//! finished. The same machine serves the server role (`wsspec server`, where it opens the handshake), the
//! client role (`wsspec client`, where it answers one) and the fuzzer; any transport that carries a
//! WebSocket byte stream plugs in as a driver.
//!
//! The machine behaves as an RFC 6455 endpoint wherever the case does not say otherwise: it answers the
//! peer's pings, answers a close frame with a close frame, and closes the connection properly at the end
//! of the steps. It decides no verdict: it keeps a [`Record`] of what happened, which the judge reads.
//!
//! Writes are serial and the peer's events are handled between them, never during one: what arrives
//! while a write is under way waits in the inbox, except that the peer starting to close (its close frame,
//! the end of TCP) abandons the write, so the harness never blocks against a peer that stopped reading.

mod closing;
mod endpoint;
mod inbox;
mod opening;
mod probe;
mod program;
mod record;
#[cfg(test)]
mod tests;
mod waiting;

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use rand::{SeedableRng, rngs::StdRng};
use wsspec_suite::{
    Case, Role,
    case::WritePlan,
    handshake::{DeflateSpec, Handshake},
    results::Direction,
};
use wsspec_wire::Opcode;

use self::{inbox::Inbox, opening::Opening, program::Program};
pub use self::{
    inbox::{EVENT_COST, Incoming, READ_BUDGET},
    opening::{
        ClientHello, head_text, request_for, response_cut_short, response_invalid,
        response_too_slow,
    },
    record::{Fact, MAX_OBSERVED, Record},
};
use crate::{
    CaseSettings,
    body::BodyBuilder,
    compression_cache::MessageCompressor,
    conn::Recorder,
    deflate::Settled,
    judge::{Matcher, Observed, Outbox},
    liveness::QUIET_WAIT,
    outgoing::Outgoing,
};

/// The most bytes a read of the peer's frames asks for.
pub const READ_CHUNK: usize = 64 * 1024;

/// The most bytes a read of a handshake response asks for.
pub const HEAD_READ: usize = 4096;

/// How many of the peer's events one input may handle; past that the interpreter asks for a turn of
/// its own ([`Interpreter::has_more`]), so that a flood neither starves other cases nor outruns the
/// clock the deadlines are read from.
pub const EVENTS_PER_TURN: usize = 256;

/// How many events a `wait` step keeps for the steps after it; past that, the peer is not read until
/// the wait ends.
pub const MAX_PENDING: usize = 4096;

/// What the driver tells the interpreter.
#[derive(Debug)]
pub enum Input<'a> {
    /// The peer sent these bytes.
    Received(&'a [u8]),
    /// The peer's side ended: `None` for EOF, else the read error.
    Closed(Option<String>),
    /// The peer's side ended on these bytes, which it sent in the clear after its TLS records.
    LeftTls(&'a [u8]),
    /// The write (or shutdown) the interpreter asked for finished.
    Written(Result<(), String>),
    /// The write under way was given up: the peer took none of it for `silent`, with `unsent` bytes
    /// still to go.
    WriteStalled {
        /// How long the peer took nothing.
        silent: Duration,
        /// The bytes not written.
        unsent: u64,
    },
    /// The time the interpreter asked to be woken at has come (or any time later).
    Timer,
}

/// What the interpreter asks of the driver.
#[derive(Debug)]
pub enum Action {
    /// Write these bytes as the plan says (pieces of `chop` bytes, `delay_ms` apart), then report
    /// [`Input::Written`]. The driver keeps reading meanwhile; it drops the write when
    /// [`Interpreter::is_writing`] turns false.
    Write {
        /// The bytes.
        out: Outgoing,
        /// How to write them.
        plan: WritePlan,
    },
    /// Shut down the sending half (TLS `close_notify`, then FIN), then report [`Input::Written`].
    Shutdown,
    /// Close the connection at once, without a close frame.
    Drop,
    /// The case is over: take [`Interpreter::into_record`].
    Finished,
}

/// A write waiting its turn.
#[derive(Debug)]
enum WriteOp {
    /// The opening handshake's bytes: never skipped, never abandoned.
    Handshake(Outgoing, WritePlan),
    /// Frames: skipped once the connection is gone or a write failed, abandoned when the peer closes.
    Frames(Outgoing, WritePlan),
    /// Shutting down the sending half.
    Shutdown,
}

/// The write under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writing {
    Handshake,
    Frames,
    Shutdown,
}

/// Where the case is.
#[derive(Debug)]
enum Phase {
    /// The opening handshake (its write, and the answer).
    Opening(Box<Opening>),
    /// Between steps: the next one runs.
    Steps,
    /// An `expect` step waits for the peer.
    Expecting(Box<Expecting>),
    /// A `wait` step keeps what the peer sends for the steps after it.
    Waiting {
        /// When the wait ends.
        until: Instant,
    },
    /// A quiet run's probe: a ping sent, any answer awaited until `until`.
    Probing {
        /// When the probe gives up.
        until: Instant,
        /// How many cases in a row had found the peer silent.
        silent_before: usize,
    },
    /// The closing: waiting for the peer's close frame (from `until`, set when the wait starts).
    AwaitClose { until: Option<Instant> },
    /// The closing: waiting for the peer to close TCP.
    AwaitTcp { until: Option<Instant> },
    /// Nothing more to do.
    Done,
}

/// An expectation being matched.
#[derive(Debug)]
pub(super) struct Expecting {
    matcher: Matcher,
    /// `Some(ms)` for `nothing`: silence until then is the match.
    silence: Option<u64>,
    within_ms: u64,
    on_timeout: wsspec_suite::case::OnTimeout,
    /// When the expectation began to wait.
    started: Instant,
    until: Instant,
}

impl Expecting {
    /// When the wait ends: at its deadline, or once the peer has sent nothing for `progress` (since the
    /// wait began or since `heard`, the peer's last bytes, whichever is later). Silence expected is no
    /// stall.
    fn ends(&self, heard: Instant, progress: Duration) -> Instant {
        match self.silence {
            Some(_) => self.until,
            None => self.until.min(self.started.max(heard) + progress),
        }
    }
}

/// The connection once the opening handshake is done.
#[derive(Debug)]
struct Conn {
    inbox: Inbox,
    /// Events a `wait` step kept for the steps after it.
    pending: VecDeque<Observed>,
    sent_close: bool,
    tcp_closed: bool,
    write_failed: bool,
}

/// The interpreter of one case on one connection.
#[derive(Debug)]
pub struct Interpreter {
    role: Role,
    settings: CaseSettings,
    recorder: Recorder,
    rng: StdRng,
    record: Record,
    now: Instant,
    /// When the peer last sent bytes (or ended its side), or when the case started.
    heard: Instant,
    /// Whether the peer sent anything after the opening handshake, or ended its side before the
    /// harness shut down its own (after, it is only the answer to that).
    answered: bool,
    /// Whether the peer sent anything during the opening handshake.
    responded: bool,
    /// Whether the harness shut down its sending half.
    shut_down: bool,
    /// When the run is quiet (see [`crate::liveness`]): how many cases in a row found the peer silent.
    quiet: Option<usize>,
    phase: Phase,
    handshake: Handshake,
    program: Program,
    /// A fact stopped the steps (an expectation not met, a wrong client handshake).
    halted: bool,
    /// The peer failed the connection as a step expected: the remaining steps have nothing to act on.
    peer_failed: bool,
    /// Whether a close frame was sent (by a step or on the harness's own).
    close_frame_sent: bool,
    /// Whether the transport is open (from connect or accept until the end or a drop).
    connected: bool,
    conn: Option<Conn>,
    writes: VecDeque<WriteOp>,
    writing: Option<Writing>,
    actions: VecDeque<Action>,
    wake: Option<Instant>,
    /// Events handled since the last input.
    turn: usize,
    /// The last input ended with events still to handle.
    more: bool,
    finished: bool,
    steps_started: Option<Instant>,
    /// Complete data messages sent and not yet echoed, and the latest pings sent.
    outbox: Outbox,
    /// The data message being sent in fragments, if one is open.
    outgoing_fragment: Option<(Opcode, BodyBuilder)>,
    /// What the case asks of permessage-deflate.
    deflate: Option<DeflateSpec>,
    /// What the handshake settled, when permessage-deflate was agreed.
    settled: Option<Settled>,
    /// Compresses the harness's messages, when permessage-deflate was agreed.
    compressor: Option<MessageCompressor>,
    /// Where the next corpus slice starts (one cursor per case, as in Autobahn).
    corpus_cursor: u64,
}

impl Interpreter {
    /// The interpreter for `case` with a peer playing `role`, starting at `now`.
    fn new(
        case: &Case,
        role: Role,
        settings: &CaseSettings,
        recorder: Recorder,
        now: Instant,
    ) -> Self {
        let seed = case
            .id
            .as_str()
            .bytes()
            .fold(settings.seed, |h, b| h.rotate_left(5) ^ u64::from(b));
        let quiet = settings.liveness.quiet();
        let mut settings = settings.clone();
        if quiet.is_some() {
            settings.handshake_timeout = settings.handshake_timeout.min(QUIET_WAIT);
        }
        Interpreter {
            role,
            settings,
            recorder,
            rng: StdRng::seed_from_u64(seed),
            record: Record::new(role),
            now,
            heard: now,
            answered: false,
            responded: false,
            shut_down: false,
            quiet,
            phase: Phase::Done,
            handshake: case.handshake.clone(),
            program: Program::new(&case.steps),
            halted: false,
            peer_failed: false,
            close_frame_sent: false,
            connected: false,
            conn: None,
            writes: VecDeque::new(),
            writing: None,
            actions: VecDeque::new(),
            wake: None,
            turn: 0,
            more: false,
            finished: false,
            steps_started: None,
            outbox: Outbox::default(),
            outgoing_fragment: None,
            deflate: case.deflate.clone(),
            settled: None,
            compressor: None,
            corpus_cursor: 0,
        }
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        self.now = self.now.max(now);
        self.wake = None;
        self.turn = 0;
        self.more = false;
        match input {
            Input::Received(bytes) => self.received(bytes),
            Input::Closed(error) => self.peer_ended(error),
            Input::LeftTls(cleartext) => self.peer_left_tls(cleartext),
            Input::Written(result) => self.written(result),
            Input::WriteStalled { silent, unsent } => self.write_stalled(silent, unsent),
            Input::Timer => {}
        }
        self.advance();
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When the interpreter wants [`Input::Timer`], if it waits for time.
    pub fn wake(&self) -> Option<Instant> {
        self.wake
    }

    /// Whether the interpreter stopped with events still to handle: the driver yields to other tasks,
    /// then gives it [`Input::Timer`] at once.
    pub fn has_more(&self) -> bool {
        self.more
    }

    /// How many bytes the driver should read from the peer now, at most (0: none). While the opening
    /// handshake's response is read, a read is at most [`HEAD_READ`], so a header block over the limit
    /// is refused after one more small read, not after a large one.
    pub fn read_size(&self) -> usize {
        match &self.phase {
            Phase::Opening(opening) if self.writing.is_none() && opening.wants_input() => HEAD_READ,
            Phase::Opening(_) => 0,
            _ => self.conn.as_ref().map_or(0, |conn| conn.inbox.read_size()),
        }
    }

    /// How long the peer may take none of a write before the driver gives it up
    /// ([`Input::WriteStalled`]).
    pub fn progress_timeout(&self) -> Duration {
        self.settings.progress_timeout
    }

    /// Whether a write the interpreter asked for is still wanted: once false, the driver drops it.
    pub fn is_writing(&self) -> bool {
        self.writing.is_some()
    }

    /// Whether the case asks for one more connection with the standard handshake once it is over.
    pub fn then_connects(&self) -> bool {
        self.handshake.then_connect
    }

    /// The case's random source (masks, keys), for the standard handshake after the case.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// The standard handshake after the case failed, for this reason.
    pub fn upgrade_failed(&mut self, reason: String) {
        self.record.push(Fact::NoLongerUpgrades(reason));
    }

    /// The case's deadline passed: whatever it waited for, the case is over.
    pub fn deadline_reached(&mut self, deadline: Duration) {
        self.record.push(Fact::DeadlineReached {
            ms: deadline.as_millis(),
            established: self.record.established,
        });
        self.recorder.note("case deadline reached");
        self.phase = Phase::Done;
    }

    /// Whether the peer was silent on this connection (nothing after the opening handshake, not even
    /// the end of TCP), for [`crate::liveness`]; `None` when that tells nothing: it never connected, or
    /// a step dropped the connection.
    pub fn silent(&self) -> Option<bool> {
        if self.record.harness_dropped {
            None
        } else if self.record.established {
            Some(!self.answered)
        } else {
            // A handshake that did not complete: any response to it (a refusal) is an answer.
            self.connected.then_some(!self.responded)
        }
    }

    /// How long to wait for TCP connect (with the TLS handshake): shorter in a quiet run.
    pub fn connect_timeout(&self) -> Duration {
        self.settings.handshake_timeout
    }

    /// The transcript the interpreter writes to.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The record of what happened, for the judge.
    pub fn into_record(self) -> Record {
        self.record
    }

    fn received(&mut self, bytes: &[u8]) {
        self.heard = self.now;
        let opening = matches!(self.phase, Phase::Opening(_));
        self.responded |= opening;
        self.answered |= !opening;
        self.recorder.bytes(Direction::Received, bytes);
        if let Phase::Opening(opening) = &mut self.phase {
            opening.received(bytes);
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let closing = conn.inbox.receive(bytes);
        if closing {
            self.abandon_write();
        }
    }

    fn peer_ended(&mut self, error: Option<String>) {
        self.heard = self.now;
        self.answered |= !self.shut_down;
        match &error {
            None => self.recorder.note("TCP closed by the peer"),
            Some(err) => self.recorder.note(format!("read failed: {err}")),
        }
        if let Phase::Opening(opening) = &mut self.phase {
            opening.ended(error);
            return;
        }
        if let Some(conn) = self.conn.as_mut() {
            conn.inbox.end(error);
            self.abandon_write();
        }
    }

    /// The peer left the TLS tunnel: before its handshake answer, that is the answer's fault (RFC 6455
    /// §4.2.2); later, the connection just ended.
    fn peer_left_tls(&mut self, cleartext: &[u8]) {
        if matches!(&self.phase, Phase::Opening(opening) if matches!(**opening, Opening::Request(_)))
        {
            let problem = crate::judge::response_outside_tls(cleartext);
            self.recorder.note(problem.text.clone());
            self.phase = Phase::Done;
            self.record.push(Fact::BadUpgradeResponse(vec![problem]));
            self.halted = true;
            return;
        }
        let bytes = cleartext.len();
        self.peer_ended(Some(format!(
            "the peer sent {bytes} bytes in the clear after its TLS records"
        )));
    }

    /// The peer is closing while frames are being written: the rest of the write is given up.
    fn abandon_write(&mut self) {
        if self.writing == Some(Writing::Frames) {
            self.writing = None;
            if let Some(conn) = self.conn.as_mut() {
                conn.write_failed = true;
            }
            self.recorder
                .note("stopped writing: the peer is closing the connection");
        }
    }

    /// The peer stopped reading: the write is given up, and the case cannot go on.
    fn write_stalled(&mut self, silent: Duration, unsent: u64) {
        let reason = format!(
            "the peer took none of the bytes sent for {:.1} s, with {unsent} still to send: it stopped reading",
            silent.as_secs_f64()
        );
        let frames = self.writing == Some(Writing::Frames);
        self.written(Err(reason.clone()));
        if frames && !self.halted {
            self.unmet(reason);
        }
    }

    fn written(&mut self, result: Result<(), String>) {
        let Some(writing) = self.writing.take() else {
            return;
        };
        match writing {
            Writing::Handshake => self.handshake_written(result),
            Writing::Frames => {
                if let Err(err) = result {
                    if let Some(conn) = self.conn.as_mut() {
                        conn.write_failed = true;
                    }
                    self.recorder.note(format!("write failed: {err}"));
                }
            }
            Writing::Shutdown => {}
        }
    }

    /// Runs until the machine must wait for the driver: a write under way, time, or the peer.
    fn advance(&mut self) {
        loop {
            if self.writing.is_some() {
                return;
            }
            if let Some(op) = self.writes.pop_front() {
                self.start_write(op);
                continue;
            }
            let progressed = match &self.phase {
                Phase::Opening(_) => self.opening_progress(),
                Phase::Steps => {
                    self.next_step();
                    true
                }
                Phase::Expecting(_) => self.expecting_progress(),
                Phase::Waiting { .. } => self.waiting_progress(),
                Phase::Probing { .. } => self.probing_progress(),
                Phase::AwaitClose { .. } | Phase::AwaitTcp { .. } => self.closing_progress(),
                Phase::Done => {
                    if !self.finished {
                        self.finished = true;
                        self.actions.push_back(Action::Finished);
                    }
                    false
                }
            };
            if !progressed {
                return;
            }
        }
    }

    fn start_write(&mut self, op: WriteOp) {
        match op {
            WriteOp::Handshake(out, plan) => {
                self.writing = Some(Writing::Handshake);
                self.actions.push_back(Action::Write { out, plan });
            }
            WriteOp::Frames(out, plan) => {
                let skip = self.conn.as_ref().is_none_or(|conn| conn.write_failed);
                if !skip && !out.is_empty() {
                    self.writing = Some(Writing::Frames);
                    self.actions.push_back(Action::Write { out, plan });
                }
            }
            WriteOp::Shutdown => {
                if self.connected {
                    self.shut_down = true;
                    self.writing = Some(Writing::Shutdown);
                    self.actions.push_back(Action::Shutdown);
                }
            }
        }
    }

    /// Queues frames (or raw bytes) for writing.
    fn write(&mut self, out: Outgoing, plan: WritePlan) {
        self.writes.push_back(WriteOp::Frames(out, plan));
    }

    fn write_bytes(&mut self, bytes: Vec<u8>, plan: WritePlan) {
        let mut out = Outgoing::default();
        out.push_bytes(bytes);
        self.write(out, plan);
    }

    /// A fact that stops the steps.
    fn unmet(&mut self, reason: String) {
        self.record.push(Fact::Unmet(reason));
        self.halted = true;
    }

    /// The connection is open: reading starts (with what came with the handshake), then the steps.
    fn established(&mut self, leftover: &[u8]) {
        let peer = match &self.settled {
            Some(settled) => crate::judge::PeerStream::new(self.role).with_deflate(settled.peer),
            None => crate::judge::PeerStream::new(self.role),
        };
        let pool = self.settings.read_pool.clone();
        let mut inbox = Inbox::new(peer, pool, self.recorder.clone());
        // Frames that came with the handshake response are an answer too.
        self.answered |= !leftover.is_empty();
        inbox.receive(leftover);
        self.conn = Some(Conn {
            inbox,
            pending: VecDeque::new(),
            sent_close: false,
            tcp_closed: false,
            write_failed: false,
        });
        self.record.established = true;
        self.steps_started = Some(self.now);
        self.phase = Phase::Steps;
        if let Some(reason) = self.record.unimplemented.clone() {
            // As Autobahn does: no steps, a normal close at once.
            self.record.push(Fact::Unimplemented(reason));
            self.program = Program::new(&[]);
        }
        if let Some(silent_before) = self.quiet {
            self.probe(silent_before);
        }
    }

    /// Runs the next step, or starts the closing once there is none.
    fn next_step(&mut self) {
        let stop = self.halted || self.record.harness_dropped || self.peer_failed;
        match self.program.next(stop) {
            Some((steps, at)) => self.step(&steps[at]),
            None => {
                self.record.steps_took = self.steps_started.map(|start| self.now - start);
                self.begin_closing();
            }
        }
    }
}
