//! The opening handshake, in both roles: as the client, the request the case describes and the
//! server's answer; as the server, the answer to the request the client sent.

use std::time::{Duration, Instant};

use rand::Rng;
use wsspec_suite::{
    Case, Role,
    handshake::{HandshakeExpect, Refusal, RequestSpec, ResponseSpec},
    results::HandshakeRecord,
};
use wsspec_wire::{Head, HeadError, HeadReader, Request, Response, generate_key};

use super::{Fact, Interpreter, Phase, WriteOp};
use crate::{
    CaseSettings, Target,
    compression_cache::MessageCompressor,
    conn::Recorder,
    deflate::{self, LEVEL, Settled},
    handshake::{Offer, RequestContext, build_request, build_response},
    judge::{self, Answer},
    outgoing::Outgoing,
    transport::Channel,
};

/// A client's opening handshake, as it arrived.
#[derive(Debug)]
pub struct ClientHello<'a> {
    /// The request, parsed.
    pub request: &'a Request,
    /// The request head as it came.
    pub head: &'a [u8],
    /// What followed the head in the same reads (frames sent early).
    pub leftover: Vec<u8>,
    /// Whether the client already used this request's key on another connection.
    pub seen_before: bool,
    /// How the connection carries its bytes.
    pub channel: &'a Channel,
}

/// The handshake under way.
#[derive(Debug)]
pub(super) enum Opening {
    /// The harness is the client: its request, then the server's answer.
    Request(AwaitResponse),
    /// The harness is the server: its response is being written; then the frames start with these
    /// bytes, which came with the request.
    Response { leftover: Vec<u8> },
}

/// The harness's request and what has come back so far.
#[derive(Debug)]
pub(super) struct AwaitResponse {
    /// The request head, for the record.
    head: Vec<u8>,
    offer: Offer,
    /// The refusal the case expects, if the server must refuse the request.
    refusal: Option<Refusal>,
    /// The deadline for the whole response head (set once the request is written).
    until: Option<Instant>,
    response: HeadReader<Response>,
    /// The peer's side ended: `Some(None)` for EOF, `Some(Some(err))` for an error.
    ended: Option<Option<String>>,
}

impl Opening {
    pub(super) fn wants_input(&self) -> bool {
        match self {
            Opening::Request(request) => request.ended.is_none(),
            Opening::Response { .. } => false,
        }
    }

    pub(super) fn received(&mut self, bytes: &[u8]) {
        if let Opening::Request(request) = self {
            request.response.push(bytes);
        }
    }

    pub(super) fn ended(&mut self, error: Option<String>) {
        if let Opening::Request(request) = self {
            request.ended.get_or_insert(error);
        }
    }
}

/// Why a response head is no good: it is not HTTP, or too large.
pub fn response_invalid(err: &HeadError) -> String {
    format!("the handshake response is not valid HTTP: {err}")
}

/// Why a response head never came: the peer's side ended with `error` after `received` bytes.
pub fn response_cut_short(received: usize, error: Option<&str>) -> String {
    match error {
        Some(err) => format!("reading the handshake response failed: {err}"),
        None if received == 0 => {
            "the server closed the connection without answering the opening handshake".to_owned()
        }
        None => {
            "the server closed the connection in the middle of its handshake response".to_owned()
        }
    }
}

/// Why a response head never came: it took longer than `timeout`.
pub fn response_too_slow(timeout: Duration) -> String {
    format!(
        "no complete handshake response within {} ms",
        timeout.as_millis()
    )
}

/// The request head `spec` describes for `target`, with a fresh key from `rng`, and what it offers.
pub fn request_for(
    target: &Target,
    settings: &CaseSettings,
    spec: &RequestSpec,
    rng: &mut impl Rng,
) -> (Vec<u8>, Offer) {
    let key = generate_key(rng.random());
    let context = RequestContext {
        host: &target.host_header,
        hostname: &target.host,
        port: target.port,
        resource: &target.resource,
        key: &key,
        policy: &settings.policy,
    };
    build_request(spec, &context)
}

/// A request or response head as text for the results, cut short when it is huge.
pub fn head_text(head: &[u8]) -> String {
    const KEEP: usize = 8 * 1024;
    let text = String::from_utf8_lossy(&head[..head.len().min(KEEP)]).into_owned();
    if head.len() > KEEP {
        format!("{text}… ({} more bytes)", head.len() - KEEP)
    } else {
        text
    }
}

impl Interpreter {
    /// The interpreter of a server case, before the connection is open: the driver connects, then
    /// reports [`Interpreter::connected`] or [`Interpreter::connect_failed`].
    pub fn server(
        case: &Case,
        settings: &CaseSettings,
        recorder: Recorder,
        now: Instant,
    ) -> Interpreter {
        Interpreter::new(case, Role::Server, settings, recorder, now)
    }

    /// The connection to `target` is open: the opening handshake starts.
    pub fn connected(&mut self, now: Instant, target: &Target) {
        self.now = self.now.max(now);
        self.connected = true;
        let spec = match &self.deflate {
            Some(spec) => with_extensions(&self.handshake.request, deflate::offer_header(spec)),
            None => self.handshake.request.clone(),
        };
        let (head, offer) = request_for(target, &self.settings, &spec, &mut self.rng);
        self.recorder.note("opening handshake");
        let mut out = Outgoing::default();
        out.push_bytes(head.clone());
        for frame in self.handshake.pipelined.clone() {
            self.recorder
                .note("a frame sent before the response, behind the request");
            let (header, wire, plain) = self.frame(&frame);
            self.send_frame(&mut out, &header, &wire, &plain);
        }
        self.writes
            .push_back(WriteOp::Handshake(out, self.handshake.write));
        let refusal = match &self.handshake.expect {
            HandshakeExpect::Upgrade => None,
            HandshakeExpect::Refuse(refusal) => Some(refusal.clone()),
        };
        self.phase = Phase::Opening(Box::new(Opening::Request(AwaitResponse {
            head,
            offer,
            refusal,
            until: None,
            response: HeadReader::response(),
            ended: None,
        })));
        self.advance();
    }

    /// The connection could not be opened, for this reason.
    pub fn connect_failed(&mut self, reason: String) {
        self.unmet(reason);
        self.phase = Phase::Done;
    }

    /// The interpreter of a client case, for a client that connected and sent the opening handshake
    /// `hello` describes.
    pub fn client(
        case: &Case,
        settings: &CaseSettings,
        recorder: Recorder,
        now: Instant,
        hello: ClientHello<'_>,
    ) -> Interpreter {
        let ClientHello {
            request,
            head,
            leftover,
            seen_before,
            channel,
        } = hello;
        let mut this = Interpreter::new(case, Role::Client, settings, recorder, now);
        this.connected = true;
        this.recorder
            .bytes(wsspec_suite::results::Direction::Received, head);
        let mut problems = judge::check_client_request(request, seen_before, channel);
        problems.extend(judge::check_early_data(&leftover));
        if !problems.is_empty() {
            this.record.push(Fact::BadClientRequest(problems));
            this.halted = true;
        }
        let key = request
            .header("sec-websocket-key")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let settled = this
            .deflate
            .as_ref()
            .and_then(|spec| deflate::answer_client(spec, request));
        let extensions = settled.as_ref().map(|settled| settled.response.clone());
        // A case that needs permessage-deflate does not run without it, and its edits of the
        // response are not made: the client gets a plain upgrade.
        let unanswered = settled.is_none() && this.deflate.as_ref().is_some_and(|d| d.required);
        let response_spec = if unanswered {
            &ResponseSpec::Upgrade
        } else {
            &this.handshake.response
        };
        let response = build_response(response_spec, &key, extensions.as_deref());
        this.settle(settled);
        this.record.handshake = Some(HandshakeRecord {
            request: head_text(head),
            response: head_text(&response),
        });
        let mut out = Outgoing::default();
        out.push_bytes(response);
        this.writes
            .push_back(WriteOp::Handshake(out, Default::default()));
        this.phase = Phase::Opening(Box::new(Opening::Response { leftover }));
        this.advance();
        this
    }

    /// Takes what the handshake settled about permessage-deflate: the codec when it was agreed, and
    /// the reason the case cannot run when it needs it and it was not.
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
                self.compressor = Some(MessageCompressor::new(
                    settled.own,
                    LEVEL,
                    self.settings.compression.clone(),
                ));
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
                self.record.unimplemented = Some(peer.to_owned());
            }
            None => {}
        }
    }

    /// The handshake's own write finished.
    pub(super) fn handshake_written(&mut self, result: Result<(), String>) {
        let Phase::Opening(opening) = &mut self.phase else {
            return;
        };
        match &mut **opening {
            Opening::Request(request) => {
                if let Err(err) = result {
                    // A server may refuse a request before it has read all of it; its answer counts.
                    if request.refusal.is_none() {
                        self.unmet(format!("cannot send the opening handshake: {err}"));
                        self.phase = Phase::Done;
                        return;
                    }
                    self.recorder
                        .note(format!("the request could not be sent in full: {err}"));
                }
                request.until = Some(self.now + self.settings.handshake_timeout);
            }
            Opening::Response { leftover } => match result {
                Err(err) => {
                    self.unmet(format!("cannot send the handshake response: {err}"));
                    self.phase = Phase::Done;
                }
                Ok(()) => {
                    let leftover = std::mem::take(leftover);
                    self.established(&leftover);
                }
            },
        }
    }

    /// Reads the server's answer once the request is written; true when the handshake is decided.
    pub(super) fn opening_progress(&mut self) -> bool {
        let Phase::Opening(opening) = &mut self.phase else {
            return false;
        };
        let Opening::Request(request) = &mut **opening else {
            return false;
        };
        let Some(until) = request.until else {
            return false;
        };
        let answer = match request.response.head() {
            Ok(Some(head)) => Ok(head),
            Err(err) => Err(response_invalid(&err)),
            Ok(None) => match &request.ended {
                Some(error) => Err(response_cut_short(
                    request.response.received().len(),
                    error.as_deref(),
                )),
                None if self.now >= until => {
                    Err(response_too_slow(self.settings.handshake_timeout))
                }
                None => {
                    self.wake = Some(until);
                    return false;
                }
            },
        };
        let Phase::Opening(opening) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return false;
        };
        let Opening::Request(request) = *opening else {
            return false;
        };
        self.answered(request, answer);
        true
    }

    /// The server's answer is in (or will never come): judge it as an upgrade or as a refusal.
    fn answered(&mut self, request: AwaitResponse, answer: Result<Head<Response>, String>) {
        let AwaitResponse {
            head,
            offer,
            refusal,
            response: reader,
            ..
        } = request;
        self.record.handshake = Some(HandshakeRecord {
            request: head_text(&head),
            response: match &answer {
                Ok(response) => head_text(&response.bytes),
                Err(_) => head_text(reader.received()),
            },
        });
        let policy = &self.settings.policy;
        let Some(refusal) = refusal else {
            let response = match answer {
                Ok(answer) => answer,
                Err(reason) => return self.unmet(reason),
            };
            let problems = judge::check_upgrade_response(&response.value, &offer, policy);
            if !problems.is_empty() {
                self.record.push(Fact::BadUpgradeResponse(problems));
                self.halted = true;
                return;
            }
            let settled =
                deflate::settled_by_server(self.deflate.as_ref(), &offer, &response.value);
            self.settle(settled);
            return self.established(&response.rest);
        };
        let judgement = match &answer {
            Ok(Head { value, .. }) => {
                let problems = judge::check_upgrade_response(value, &offer, policy);
                judge::judge_refusal(
                    &refusal,
                    Answer::Response {
                        response: value,
                        upgrade_problems: &problems,
                    },
                )
            }
            Err(reason) => judge::judge_refusal(&refusal, Answer::Nothing(reason)),
        };
        self.recorder.note(format!("judged: {}", judgement.what));
        self.record.push(Fact::Refusal(judgement));
        self.writes.push_back(WriteOp::Shutdown);
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
