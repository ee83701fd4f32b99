//! The protocol rules of a mutant client, sans-IO: server frame events in, steps out.
//!
//! [`ClientSession`] receives the events of a [`wsspec_wire::FrameDecoder`] reading the server's
//! frames and answers each with a [`Step`]. It applies the rules of a correct RFC 6455 client,
//! except for the one its [`ClientDefect`] changes, and it encodes (and masks) everything the
//! client sends. Complete data messages go to the application, which decides whether to echo.

use wsspec_reference::client::Observation;
use wsspec_wire::{
    ClosePayload, DecodeEvent, FrameHeader, FrameSpec, Opcode, Utf8Validator, encode_frame,
    is_valid_utf8,
};

use super::ClientDefect;
use crate::MAX_MESSAGE_LEN;

/// The largest payload RFC 6455 §5.5 allows a control frame.
const MAX_CONTROL_LEN: u64 = 125;

/// Status code 1002: protocol error.
pub(super) const PROTOCOL_ERROR: u16 = 1002;
/// Status code 1007: invalid payload data (here, text that is not UTF-8).
pub(super) const INVALID_PAYLOAD: u16 = 1007;
/// Status code 1009: message too big.
pub(super) const TOO_BIG: u16 = 1009;

/// What the I/O side should do after an event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Nothing; decode on.
    Continue,
    /// Write this encoded frame (a pong), then decode on.
    Send(Vec<u8>),
    /// A whole text or binary message arrived, for the application.
    Message {
        /// [`Opcode::Text`] or [`Opcode::Binary`].
        opcode: Opcode,
        /// The reassembled payload (valid UTF-8 for text).
        payload: Vec<u8>,
    },
    /// Fail the connection: send a close frame with this code, then close TCP.
    Fail {
        /// The status code for the close frame.
        code: u16,
        /// A short reason for the close frame.
        reason: &'static str,
    },
    /// The server sent a valid close frame: write `reply`, then wait for the server to close TCP.
    Closed {
        /// The encoded close frame that answers it.
        reply: Vec<u8>,
        /// What the application sees.
        observation: Observation,
    },
}

/// A message being received: its first frame has been seen, its final frame has not ended.
#[derive(Debug)]
struct Message {
    opcode: Opcode,
    payload: Vec<u8>,
    /// For text messages, the UTF-8 check of the payload so far.
    utf8: Option<Utf8Validator>,
}

/// Where the payload of the frame being read goes.
#[derive(Debug, Default)]
enum Frame {
    /// Between frames.
    #[default]
    Idle,
    /// A frame of the open message; `fin` says whether it ends the message.
    Data {
        /// The frame's FIN bit.
        fin: bool,
    },
    /// A whole control frame, collected to act on at its end.
    Control {
        /// Ping, pong or close.
        opcode: Opcode,
        /// The payload so far, unmasked.
        payload: Vec<u8>,
    },
}

/// The state of one client connection after the handshake.
#[derive(Debug)]
pub(super) struct ClientSession {
    defect: ClientDefect,
    message: Option<Message>,
    frame: Frame,
}

impl ClientSession {
    /// A session between messages, breaking the rule `defect` names.
    pub(super) fn new(defect: ClientDefect) -> Self {
        ClientSession {
            defect,
            message: None,
            frame: Frame::Idle,
        }
    }

    /// Encodes a frame the client sends: masked with a fresh random key (RFC 6455 §5.3), except
    /// with [`ClientDefect::SendsUnmasked`].
    pub(super) fn encode(&self, spec: FrameSpec) -> Vec<u8> {
        let mask = match self.defect {
            ClientDefect::SendsUnmasked => None,
            _ => Some(rand::random::<[u8; 4]>()),
        };
        encode_frame(&spec.with_mask(mask))
    }

    /// Handles one decoder event. After a `Fail` or `Closed` step the session is over and must
    /// not be fed again.
    pub(super) fn on_event(&mut self, event: DecodeEvent<'_>) -> Step {
        match event {
            DecodeEvent::Header(header) => self.on_header(&header),
            DecodeEvent::Payload(chunk) => self.on_payload(chunk),
            DecodeEvent::End => self.on_end(),
        }
    }

    fn on_header(&mut self, h: &FrameHeader) -> Step {
        if h.mask.is_some() && self.defect != ClientDefect::AcceptsMaskedServerFrames {
            return fail(PROTOCOL_ERROR, "masked server frame");
        }
        if h.rsv != 0 {
            return fail(PROTOCOL_ERROR, "RSV bits set with no extension");
        }
        match h.opcode {
            Opcode::Reserved(_) => fail(PROTOCOL_ERROR, "reserved opcode"),
            Opcode::Ping | Opcode::Pong | Opcode::Close => {
                if h.payload_len > MAX_CONTROL_LEN {
                    return fail(PROTOCOL_ERROR, "control frame over 125 bytes");
                }
                if !h.fin {
                    return fail(PROTOCOL_ERROR, "fragmented control frame");
                }
                self.frame = Frame::Control {
                    opcode: h.opcode,
                    payload: Vec::new(),
                };
                Step::Continue
            }
            Opcode::Continuation => {
                let Some(message) = &self.message else {
                    return fail(PROTOCOL_ERROR, "continuation frame with no message open");
                };
                let have = message.payload.len() as u64;
                if h.payload_len > MAX_MESSAGE_LEN.saturating_sub(have) {
                    return fail(TOO_BIG, "message too big");
                }
                self.frame = Frame::Data { fin: h.fin };
                Step::Continue
            }
            Opcode::Text | Opcode::Binary => {
                if self.message.is_some() {
                    return fail(PROTOCOL_ERROR, "new message while a fragmented one is open");
                }
                if h.payload_len > MAX_MESSAGE_LEN {
                    return fail(TOO_BIG, "message too big");
                }
                self.message = Some(Message {
                    opcode: h.opcode,
                    payload: Vec::new(),
                    utf8: (h.opcode == Opcode::Text).then(Utf8Validator::new),
                });
                self.frame = Frame::Data { fin: h.fin };
                Step::Continue
            }
        }
    }

    fn on_payload(&mut self, chunk: &[u8]) -> Step {
        match &mut self.frame {
            Frame::Idle => {}
            Frame::Data { .. } => {
                if let Some(message) = &mut self.message {
                    // Fail fast: the first byte that cannot continue the text ends the connection.
                    if message
                        .utf8
                        .as_mut()
                        .is_some_and(|v| v.feed(chunk).is_err())
                    {
                        return fail(INVALID_PAYLOAD, "text message is not UTF-8");
                    }
                    message.payload.extend_from_slice(chunk);
                }
            }
            Frame::Control { payload, .. } => payload.extend_from_slice(chunk),
        }
        Step::Continue
    }

    fn on_end(&mut self) -> Step {
        match std::mem::take(&mut self.frame) {
            Frame::Idle | Frame::Data { fin: false } => Step::Continue,
            Frame::Data { fin: true } => match self.message.take() {
                Some(message) if message.utf8.as_ref().is_some_and(|v| v.finish().is_err()) => {
                    fail(INVALID_PAYLOAD, "text message is not UTF-8")
                }
                Some(Message {
                    opcode, payload, ..
                }) => Step::Message { opcode, payload },
                None => Step::Continue,
            },
            Frame::Control {
                opcode: Opcode::Ping,
                payload,
            } => Step::Send(self.encode(FrameSpec::pong(payload))),
            Frame::Control {
                opcode: Opcode::Close,
                payload,
            } => self.on_close(&payload),
            Frame::Control { .. } => Step::Continue,
        }
    }

    fn on_close(&self, payload: &[u8]) -> Step {
        match ClosePayload::parse(payload) {
            ClosePayload::Empty => Step::Closed {
                reply: self.encode(FrameSpec::close(None, b"")),
                observation: Observation::closed(None, ""),
            },
            ClosePayload::Malformed(_) => fail(PROTOCOL_ERROR, "one-byte close payload"),
            ClosePayload::Code { code, .. } if !code.may_be_sent() => {
                fail(PROTOCOL_ERROR, "close code that may not be sent")
            }
            ClosePayload::Code { reason, .. } if !is_valid_utf8(reason) => {
                fail(INVALID_PAYLOAD, "close reason is not UTF-8")
            }
            ClosePayload::Code { code, reason } => Step::Closed {
                reply: self.encode(FrameSpec::close(Some(code.0), b"")),
                observation: Observation::closed(
                    Some(code.0),
                    String::from_utf8_lossy(reason).into_owned(),
                ),
            },
        }
    }
}

/// The step that fails the connection with `code`.
fn fail(code: u16, reason: &'static str) -> Step {
    Step::Fail { code, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_wire::{FrameDecoder, encode_frame_into};

    /// Feeds the encodings of `frames` (as a server sends them: unmasked unless the spec says
    /// otherwise) to a session and collects the steps that are not `Continue`, stopping after
    /// one that ends the session.
    fn run(defect: ClientDefect, frames: &[FrameSpec]) -> Vec<Step> {
        let mut wire = Vec::new();
        for spec in frames {
            encode_frame_into(spec, &mut wire);
        }
        let mut session = ClientSession::new(defect);
        let mut decoder = FrameDecoder::new();
        let mut steps = Vec::new();
        let mut pos = 0;
        while let (used, Some(event)) = decoder.decode(&mut wire[pos..]) {
            pos += used;
            match session.on_event(event) {
                Step::Continue => {}
                step @ (Step::Send(_) | Step::Message { .. }) => steps.push(step),
                step => {
                    steps.push(step);
                    break;
                }
            }
        }
        steps
    }

    /// Decodes one frame the client wrote: (header, unmasked payload).
    fn sent(frame: &[u8]) -> (FrameHeader, Vec<u8>) {
        let mut bytes = frame.to_vec();
        let mut decoder = FrameDecoder::new();
        let (used, Some(DecodeEvent::Header(header))) = decoder.decode(&mut bytes) else {
            panic!("no header in {frame:?}");
        };
        let mut rest = bytes[used..].to_vec();
        let mut payload = Vec::new();
        while let (_, Some(DecodeEvent::Payload(chunk))) = decoder.decode(&mut rest) {
            payload.extend_from_slice(chunk);
            rest.clear();
        }
        (header, payload)
    }

    fn message(opcode: Opcode, payload: &[u8]) -> Step {
        Step::Message {
            opcode,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn reassembles_messages_and_answers_pings_masked() {
        let steps = run(
            ClientDefect::None,
            &[
                FrameSpec::text("héllo ").with_fin(false),
                FrameSpec::ping("p"),
                FrameSpec::continuation("wörld"),
                FrameSpec::pong("unsolicited"),
                FrameSpec::binary(vec![0, 255]),
            ],
        );
        let [Step::Send(pong), text, binary] = &steps[..] else {
            panic!("{steps:?}");
        };
        let (header, payload) = sent(pong);
        assert_eq!(header.opcode, Opcode::Pong);
        assert!(header.mask.is_some(), "client frames are masked");
        assert_eq!(payload, b"p");
        assert_eq!(*text, message(Opcode::Text, "héllo wörld".as_bytes()));
        assert_eq!(*binary, message(Opcode::Binary, &[0, 255]));
    }

    #[test]
    fn masks_with_a_fresh_key_unless_sending_unmasked() {
        let session = ClientSession::new(ClientDefect::None);
        let keys: Vec<_> = (0..8)
            .map(|_| sent(&session.encode(FrameSpec::text("x"))).0.mask)
            .collect();
        assert!(keys.iter().all(Option::is_some));
        assert!(keys.windows(2).any(|w| w[0] != w[1]), "{keys:?}");
        let unmasked = ClientSession::new(ClientDefect::SendsUnmasked);
        let (header, payload) = sent(&unmasked.encode(FrameSpec::binary("y")));
        assert_eq!((header.mask, payload), (None, b"y".to_vec()));
    }

    #[test]
    fn close_frames_are_echoed_and_observed() {
        let steps = run(
            ClientDefect::None,
            &[FrameSpec::close(Some(4000), "bye ✓".as_bytes())],
        );
        let [Step::Closed { reply, observation }] = &steps[..] else {
            panic!("{steps:?}");
        };
        assert_eq!(*observation, Observation::closed(Some(4000), "bye ✓"));
        let (header, payload) = sent(reply);
        assert_eq!(header.opcode, Opcode::Close);
        assert!(header.mask.is_some());
        assert_eq!(payload, 4000u16.to_be_bytes());

        let steps = run(ClientDefect::None, &[FrameSpec::close(None, b"")]);
        let [Step::Closed { reply, observation }] = &steps[..] else {
            panic!("{steps:?}");
        };
        assert_eq!(observation.code, Some(1005));
        assert!(sent(reply).1.is_empty());
    }

    #[test]
    fn invalid_close_frames_fail() {
        let cases = [
            (FrameSpec::close(None, b"x"), PROTOCOL_ERROR),
            (FrameSpec::close(Some(999), b""), PROTOCOL_ERROR),
            (FrameSpec::close(Some(1005), b""), PROTOCOL_ERROR),
            (FrameSpec::close(Some(1000), b"\xff"), INVALID_PAYLOAD),
        ];
        for (frame, code) in cases {
            let steps = run(ClientDefect::None, std::slice::from_ref(&frame));
            assert!(
                matches!(steps[..], [Step::Fail { code: c, .. }] if c == code),
                "{frame:?}: {steps:?}"
            );
        }
    }

    #[test]
    fn protocol_violations_fail_with_1002() {
        let violations = [
            vec![FrameSpec::text("a").with_rsv(4)],
            vec![FrameSpec::new(Opcode::Reserved(3), "a")],
            vec![FrameSpec::new(Opcode::Reserved(11), "")],
            vec![FrameSpec::ping("a").with_fin(false)],
            vec![FrameSpec::ping(vec![b'x'; 126])],
            vec![FrameSpec::continuation("a")],
            vec![FrameSpec::text("a").with_fin(false), FrameSpec::binary("b")],
            vec![FrameSpec::text("masked").with_mask(Some([1, 2, 3, 4]))],
        ];
        for frames in violations {
            let steps = run(ClientDefect::None, &frames);
            assert!(
                matches!(
                    steps[..],
                    [Step::Fail {
                        code: PROTOCOL_ERROR,
                        ..
                    }]
                ),
                "{frames:?}: {steps:?}"
            );
        }
    }

    #[test]
    fn masked_server_frames_are_accepted_only_by_the_defect() {
        let frames = [FrameSpec::text("masked").with_mask(Some([1, 2, 3, 4]))];
        let steps = run(ClientDefect::AcceptsMaskedServerFrames, &frames);
        assert_eq!(steps, [message(Opcode::Text, b"masked")]);
    }

    #[test]
    fn utf8_fails_fast_and_at_the_end() {
        let steps = run(
            ClientDefect::None,
            &[FrameSpec::text(&b"ok\xff"[..]).with_fin(false)],
        );
        assert_eq!(steps, [fail(INVALID_PAYLOAD, "text message is not UTF-8")]);
        let steps = run(ClientDefect::None, &[FrameSpec::text(&b"\xe2\x82"[..])]);
        assert_eq!(steps, [fail(INVALID_PAYLOAD, "text message is not UTF-8")]);
    }

    #[test]
    fn lying_lengths_cost_nothing() {
        let mut huge = FrameSpec::binary("");
        huge.declared_len = Some(u64::MAX);
        assert_eq!(
            run(ClientDefect::None, &[huge]),
            [fail(TOO_BIG, "message too big")]
        );
        let mut more = FrameSpec::continuation("");
        more.declared_len = Some(MAX_MESSAGE_LEN);
        let steps = run(
            ClientDefect::None,
            &[FrameSpec::binary("abc").with_fin(false), more],
        );
        assert_eq!(steps, [fail(TOO_BIG, "message too big")]);
    }
}
