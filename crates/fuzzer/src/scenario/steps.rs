//! A scenario's parts as steps of the case language: the frames each item, message and ending
//! sends, and the expectations that follow them.

use super::*;

impl Item {
    pub(super) fn push_steps(&self, steps: &mut Vec<Step>, wait: u64) {
        match self {
            Item::Message(message) => {
                let mut frames = Vec::new();
                let fragments = message.fragments();
                let last = fragments.len() - 1;
                for (i, payload) in fragments.into_iter().enumerate() {
                    frames.push(frame(
                        if i == 0 {
                            message.opcode
                        } else {
                            Opcode::Continuation
                        },
                        i == last,
                        payload,
                    ));
                    for (_, ping) in message.pings.iter().filter(|(after, _)| *after == i) {
                        frames.push(frame(Opcode::Ping, true, bytes_payload(ping)));
                    }
                }
                steps.push(send(frames, message.chop));
                let pings: Vec<Payload> = message
                    .pings
                    .iter()
                    .map(|(_, ping)| bytes_payload(ping))
                    .collect();
                let expect = if pings.is_empty() {
                    Expect::Echo
                } else {
                    // Pongs as soon as the pings arrive, before the echo; a pong only after the echo
                    // is late (RFC 6455 §5.5.2: "as soon as is practical", a SHOULD), as in 5.6.
                    Expect::OneOf(vec![
                        Alternative {
                            expect: vec![Expect::PongsFor(pings.clone()), Expect::Echo],
                            verdict: AltVerdict::Ok,
                        },
                        Alternative {
                            expect: vec![Expect::Echo, Expect::PongsFor(pings)],
                            verdict: AltVerdict::NonStrict,
                        },
                    ])
                };
                steps.push(expectation(expect, wait));
            }
            Item::Ping(payload) => {
                steps.push(send(
                    vec![frame(Opcode::Ping, true, bytes_payload(payload))],
                    None,
                ));
                steps.push(expectation(Expect::Pong(bytes_payload(payload)), wait));
            }
            Item::Pong(payload) => {
                steps.push(send(
                    vec![frame(Opcode::Pong, true, bytes_payload(payload))],
                    None,
                ));
            }
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Item::Message(message) => {
                let mut text = format!(
                    "a {} message of {} bytes",
                    message.opcode.name(),
                    message.body.len()
                );
                if !message.cuts.is_empty() {
                    let _ = write!(text, " in {} fragments", message.cuts.len() + 1);
                }
                match message.pings.len() {
                    0 => {}
                    1 => text.push_str(" with a ping between them"),
                    n => {
                        let _ = write!(text, " with {n} pings between them");
                    }
                }
                if let Some(n) = message.chop {
                    let _ = write!(text, ", written in {n}-byte pieces");
                }
                text
            }
            Item::Ping(payload) => format!("a ping of {} bytes", payload.len()),
            Item::Pong(payload) => format!("an unsolicited pong of {} bytes", payload.len()),
        }
    }
}

impl Message {
    /// The payload of each fragment, in order.
    pub(super) fn fragments(&self) -> Vec<Payload> {
        let len = self.body.len();
        let mut bounds: Vec<u64> = self.cuts.iter().map(|cut| (*cut).min(len)).collect();
        bounds.push(len);
        let mut start = 0;
        bounds
            .into_iter()
            .map(|end| {
                let end = end.max(start);
                let payload = self.body.slice(start, end);
                start = end;
                payload
            })
            .collect()
    }
}

impl Body {
    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Repeat { len, .. } => *len,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload of bytes `start..end`.
    pub(super) fn slice(&self, start: u64, end: u64) -> Payload {
        match self {
            Body::Bytes(bytes) => {
                let (start, end) = (start as usize, end as usize);
                bytes_payload(bytes.get(start..end).unwrap_or_default())
            }
            Body::Repeat { pattern, .. } => Payload::Repeat {
                pattern: pattern.clone(),
                count: end - start,
            },
        }
    }
}

impl Fragment {
    pub(super) fn frame(&self) -> FrameSpec {
        frame(self.opcode, false, bytes_payload(&self.payload))
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "the first {}-byte fragment of a {} message",
            self.payload.len(),
            self.opcode.name()
        )
    }
}

impl Ending {
    pub(super) fn push_steps(&self, steps: &mut Vec<Step>, wait: u64) {
        match self {
            Ending::Done => {}
            Ending::Close(close) => {
                if let Some(open) = &close.open {
                    steps.push(send(vec![open.frame()], None));
                }
                steps.push(close_step(ClosePayloadSpec::Code {
                    code: close.code,
                    reason: text_payload(&close.reason),
                }));
                let mut codes = vec![CloseCode::NORMAL];
                if close.code != CloseCode::NORMAL {
                    codes.push(close.code);
                }
                steps.push(expectation(Expect::Close(codes), wait));
            }
            Ending::Violation(violation) => {
                let mut frames: Vec<FrameSpec> =
                    violation.open.iter().map(Fragment::frame).collect();
                let close = match &violation.kind {
                    ViolationKind::OversizedControl {
                        opcode: Opcode::Close,
                        len,
                    } => Some(ClosePayloadSpec::Code {
                        code: CloseCode::NORMAL,
                        reason: Payload::Repeat {
                            pattern: b"*".to_vec(),
                            count: len.saturating_sub(2),
                        },
                    }),
                    ViolationKind::InvalidCloseCode { code, reason } => {
                        Some(ClosePayloadSpec::Code {
                            code: *code,
                            reason: text_payload(reason),
                        })
                    }
                    ViolationKind::OneByteClose(byte) => {
                        Some(ClosePayloadSpec::Raw(Payload::Bytes(vec![*byte])))
                    }
                    ViolationKind::InvalidCloseReason { code, reason } => {
                        Some(ClosePayloadSpec::Code {
                            code: *code,
                            reason: Payload::Bytes(reason.clone()),
                        })
                    }
                    kind => {
                        frames.extend(kind.frames());
                        None
                    }
                };
                if !frames.is_empty() {
                    steps.push(send(frames, violation.chop));
                }
                if let Some(payload) = close {
                    steps.push(Step::Close {
                        payload,
                        write: chopped(violation.chop),
                    });
                }
                steps.push(expectation(Expect::Fail(violation.kind.codes()), wait));
            }
        }
    }
}

/// A frame with the default mask (the client masks).
pub(super) fn frame(opcode: Opcode, fin: bool, payload: Payload) -> FrameSpec {
    FrameSpec {
        fin,
        rsv: 0,
        opcode,
        mask: MaskSpec::Auto,
        payload,
        length_form: None,
        declared_len: None,
    }
}

/// Bytes as a payload: text where they read as text, else hex.
pub(super) fn bytes_payload(bytes: &[u8]) -> Payload {
    match std::str::from_utf8(bytes) {
        Ok("") => Payload::default(),
        Ok(text) if !text.chars().any(char::is_control) => Payload::Text(text.to_owned()),
        _ => Payload::Bytes(bytes.to_vec()),
    }
}

pub(super) fn text_payload(text: &str) -> Payload {
    bytes_payload(text.as_bytes())
}

/// A write plan: in pieces of `chop` bytes, without pauses (the pieces are separate writes).
pub(super) fn chopped(chop: Option<usize>) -> WritePlan {
    WritePlan {
        chop,
        delay_ms: 0,
        per_frame: false,
    }
}

pub(super) fn send(frames: Vec<FrameSpec>, chop: Option<usize>) -> Step {
    Step::Send {
        frames,
        write: chopped(chop),
    }
}

pub(super) fn close_step(payload: ClosePayloadSpec) -> Step {
    Step::Close {
        payload,
        write: WritePlan::default(),
    }
}

pub(super) fn expectation(expect: Expect, wait: u64) -> Step {
    Step::Expect {
        expect,
        within_ms: wait,
        on_timeout: OnTimeout::Fail,
    }
}
