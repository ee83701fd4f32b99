//! The protocol rules of a mutant endpoint, sans-IO: frame events in, steps out, for either role.
//!
//! [`Session`] receives the events of a [`wsspec_wire::FrameDecoder`] one at a time and answers
//! each with a [`Step`] for the driver to carry out. It applies the rules of a correct RFC 6455
//! endpoint in its [`Role`]: a server (client frames must be masked; it echoes each complete message
//! itself, compressed when permessage-deflate was agreed) or a client (server frames must not be
//! masked; complete messages go to the application; everything it sends is masked). The rules both
//! roles share are written once. Each role breaks the one rule its defect ([`Defect`] or
//! [`ClientDefect`]) names; every such exception is marked by a comparison with that defect right
//! where the rule is checked.

use wsspec_reference::client::Observation;
use wsspec_wire::{
    CloseCode, ClosePayload, DecodeEvent, FrameHeader, FrameSpec, LengthForm, Opcode, RSV1, RSV2,
    RSV3, Utf8Validator,
    deflate::{Agreement, Direction, InflateError},
    encode_frame, is_valid_utf8,
};

use crate::{ClientDefect, Defect, MAX_MESSAGE_LEN};

mod deflate;

use deflate::{Deflate, padded_with_ones};

/// The largest payload RFC 6455 §5.5 allows a control frame.
const MAX_CONTROL_LEN: u64 = 125;

/// What [`Defect::TruncatesLongMessages`] cuts an echo down to: the largest 16-bit length.
const TRUNCATED_LEN: usize = 0xffff;

/// The message of a connection that [`Defect::DropsMessages`] never sends (the 500th).
const DROPPED_MESSAGE: u64 = 500;

/// Which end of the connection a session is, with the one rule it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A mutant server.
    Server(Defect),
    /// A mutant client.
    Client(ClientDefect),
}

/// What the driver should do after an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing; decode on.
    Continue,
    /// Write this encoded frame (an echo or a pong), then decode on.
    Send(Vec<u8>),
    /// A client only: a whole text or binary message arrived, for the application.
    Message {
        /// [`Opcode::Text`] or [`Opcode::Binary`].
        opcode: Opcode,
        /// The reassembled payload (valid UTF-8 for text).
        payload: Vec<u8>,
    },
    /// Fail the connection: send a close frame with this code and reason, then close TCP.
    Fail {
        /// The status code for the close frame.
        code: CloseCode,
        /// A short reason for the close frame.
        reason: &'static str,
    },
    /// The peer sent a valid close frame; the connection ends here.
    Closed {
        /// The encoded close frame to answer with, if any.
        reply: Option<Vec<u8>>,
        /// A server only: whether to close TCP afterwards; otherwise input is read and discarded
        /// until the peer goes away. (A client waits for the server to close TCP first.)
        close_tcp: bool,
        /// What the application sees of the close (a client reports it).
        observation: Observation,
    },
}

/// A message being received: its first frame has been seen, its final frame has not ended.
#[derive(Debug)]
struct Message {
    /// The opcode of its first frame (ping or pong only with
    /// [`Defect::AcceptsFragmentedControl`]).
    opcode: Opcode,
    /// The payload so far, unmasked.
    payload: Vec<u8>,
    /// For text messages, the UTF-8 check of the payload so far (of a compressed message, only once
    /// it is inflated).
    utf8: Option<Utf8Validator>,
    /// Whether the payload is compressed (RSV1 on the first frame, permessage-deflate agreed).
    compressed: bool,
}

impl Message {
    fn new(opcode: Opcode) -> Self {
        Message {
            opcode,
            payload: Vec::new(),
            utf8: (opcode == Opcode::Text).then(Utf8Validator::new),
            compressed: false,
        }
    }
}

/// Where the payload of the frame being read goes.
#[derive(Debug, Default)]
enum Frame {
    /// Between frames.
    #[default]
    Idle,
    /// A frame a defect ignores: its payload is discarded.
    Skip,
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

/// The state of one connection after the handshake.
#[derive(Debug)]
pub(crate) struct Session {
    role: Role,
    message: Option<Message>,
    frame: Frame,
    deflate: Option<Deflate>,
    /// How many messages this end has echoed.
    echoed: u64,
}

impl Session {
    /// A server session between messages, breaking the rule `defect` names; `deflate`, what was
    /// agreed about permessage-deflate.
    pub(crate) fn server(defect: Defect, deflate: Option<Agreement>) -> Self {
        let deflate = deflate.map(|agreement| {
            let own = Direction {
                no_context_takeover: agreement.server.no_context_takeover
                    && defect != Defect::DeflateKeepsContext,
                ..agreement.server
            };
            let peer = Direction {
                no_context_takeover: agreement.client.no_context_takeover
                    || defect == Defect::DeflateForgetsContext,
                ..agreement.client
            };
            Deflate::new(own, peer)
        });
        Session {
            role: Role::Server(defect),
            message: None,
            frame: Frame::Idle,
            deflate,
            echoed: 0,
        }
    }

    /// A client session between messages, breaking the rule `defect` names; `deflate`, what was
    /// agreed about permessage-deflate (only the clients that offer it get an agreement).
    pub(crate) fn client(defect: ClientDefect, deflate: Option<Agreement>) -> Self {
        let deflate = deflate.map(|agreement| {
            let own = Direction {
                no_context_takeover: agreement.client.no_context_takeover
                    && defect != ClientDefect::DeflateKeepsContext,
                ..agreement.client
            };
            let peer = Direction {
                no_context_takeover: agreement.server.no_context_takeover
                    || defect == ClientDefect::DeflateForgetsContext,
                ..agreement.server
            };
            Deflate::new(own, peer)
        });
        Session {
            role: Role::Client(defect),
            message: None,
            frame: Frame::Idle,
            deflate,
            echoed: 0,
        }
    }

    /// The server defect in play ([`Defect::None`] for a client).
    fn defect(&self) -> Defect {
        match self.role {
            Role::Server(defect) => defect,
            Role::Client(_) => Defect::None,
        }
    }

    /// Encodes a frame this end sends. A server's go unmasked; a client's are masked with a fresh
    /// random key (RFC 6455 §5.3), except with [`ClientDefect::SendsUnmasked`] and
    /// [`ClientDefect::RepeatsMaskingKey`].
    pub(crate) fn encode(&self, mut spec: FrameSpec) -> Vec<u8> {
        let data = matches!(spec.opcode, Opcode::Text | Opcode::Binary);
        match self.role {
            Role::Server(Defect::LongLengthForm) => encode_frame(&FrameSpec {
                length_form: Some(LengthForm::U64),
                ..spec
            }),
            Role::Server(Defect::MasksFrames) => {
                encode_frame(&spec.with_mask(Some(rand::random::<[u8; 4]>())))
            }
            Role::Server(Defect::SetsReservedBits) if data => {
                spec.rsv |= match self.deflate {
                    Some(_) => RSV2 | RSV3,
                    None => RSV1 | RSV2 | RSV3,
                };
                encode_frame(&spec)
            }
            Role::Server(Defect::EchoesWithReservedOpcode) if data => {
                spec.opcode = Opcode::Reserved(3);
                encode_frame(&spec)
            }
            Role::Server(Defect::FragmentsPongs) if spec.opcode == Opcode::Pong => {
                spec.fin = false;
                let mut frames = encode_frame(&spec);
                frames.extend(encode_frame(&FrameSpec::new(
                    Opcode::Continuation,
                    Vec::new(),
                )));
                frames
            }
            Role::Server(_) | Role::Client(ClientDefect::SendsUnmasked) => encode_frame(&spec),
            Role::Client(ClientDefect::RepeatsMaskingKey) => {
                encode_frame(&spec.with_mask(Some([0x37, 0xfa, 0x21, 0x3d])))
            }
            Role::Client(_) => encode_frame(&spec.with_mask(Some(rand::random::<[u8; 4]>()))),
        }
    }

    /// Handles one decoder event. After a `Fail` or `Closed` step the session is over and must
    /// not be fed again.
    pub(crate) fn on_event(&mut self, event: DecodeEvent<'_>) -> Step {
        let step = match event {
            DecodeEvent::Header(header) => self.on_header(&header),
            DecodeEvent::Payload(chunk) => self.on_payload(chunk),
            DecodeEvent::End => self.on_end(),
        };
        match step {
            Step::Fail { reason, .. } if self.defect() == Defect::FailsWith1015 => Step::Fail {
                code: CloseCode(1015),
                reason,
            },
            step => step,
        }
    }

    fn on_header(&mut self, h: &FrameHeader) -> Step {
        let defect = self.defect();
        match self.role {
            Role::Server(defect) if h.mask.is_none() && defect != Defect::AcceptsUnmaskedFrames => {
                return fail(CloseCode::PROTOCOL_ERROR, "unmasked client frame");
            }
            Role::Client(client) => {
                if h.mask.is_some() && client != ClientDefect::AcceptsMaskedServerFrames {
                    return fail(CloseCode::PROTOCOL_ERROR, "masked server frame");
                }
            }
            Role::Server(_) => {}
        }
        // With permessage-deflate, RSV1 may mark the first frame of a message, and nothing else.
        let defined = if self.deflate.is_some() && matches!(h.opcode, Opcode::Text | Opcode::Binary)
        {
            RSV1
        } else {
            0
        };
        if h.rsv & !defined != 0 && defect != Defect::AcceptsRsv {
            return fail(
                CloseCode::PROTOCOL_ERROR,
                match self.role {
                    Role::Server(_) => "RSV bits set that no extension defines",
                    Role::Client(_) => "RSV bits set with no extension",
                },
            );
        }
        match h.opcode {
            Opcode::Reserved(_) if defect == Defect::AcceptsReservedOpcode => {
                self.frame = Frame::Skip;
                Step::Continue
            }
            Opcode::Reserved(_) => fail(CloseCode::PROTOCOL_ERROR, "reserved opcode"),
            Opcode::Ping | Opcode::Pong | Opcode::Close => self.control_header(h),
            Opcode::Continuation => self.continuation_header(h),
            Opcode::Text | Opcode::Binary => self.message_header(h),
        }
    }

    fn control_header(&mut self, h: &FrameHeader) -> Step {
        let defect = self.defect();
        let oversized_allowed =
            defect == Defect::AcceptsOversizedControl && h.opcode == Opcode::Ping;
        if h.payload_len > MAX_CONTROL_LEN && !oversized_allowed {
            return fail(CloseCode::PROTOCOL_ERROR, "control frame over 125 bytes");
        }
        if h.payload_len > MAX_MESSAGE_LEN {
            return fail(CloseCode::MESSAGE_TOO_BIG, "frame too big");
        }
        if !h.fin {
            let joinable = defect == Defect::AcceptsFragmentedControl
                && matches!(h.opcode, Opcode::Ping | Opcode::Pong)
                && self.message.is_none();
            if !joinable {
                return fail(CloseCode::PROTOCOL_ERROR, "fragmented control frame");
            }
            self.message = Some(Message::new(h.opcode));
            self.frame = Frame::Data { fin: false };
            return Step::Continue;
        }
        self.frame = Frame::Control {
            opcode: h.opcode,
            payload: Vec::with_capacity(len_hint(h.payload_len)),
        };
        Step::Continue
    }

    fn continuation_header(&mut self, h: &FrameHeader) -> Step {
        let Some(message) = &self.message else {
            if self.defect() == Defect::AcceptsStrayContinuation {
                self.frame = Frame::Skip;
                return Step::Continue;
            }
            return fail(
                CloseCode::PROTOCOL_ERROR,
                "continuation frame with no message open",
            );
        };
        let have = message.payload.len() as u64;
        if h.payload_len > MAX_MESSAGE_LEN.saturating_sub(have) {
            return fail(CloseCode::MESSAGE_TOO_BIG, "message too big");
        }
        self.frame = Frame::Data { fin: h.fin };
        Step::Continue
    }

    fn message_header(&mut self, h: &FrameHeader) -> Step {
        let defect = self.defect();
        if self.message.is_some() && defect != Defect::AcceptsNewMessageMidFragment {
            return fail(
                CloseCode::PROTOCOL_ERROR,
                "new message while a fragmented one is open",
            );
        }
        if h.payload_len > MAX_MESSAGE_LEN && defect != Defect::NoSizeLimit {
            return fail(CloseCode::MESSAGE_TOO_BIG, "message too big");
        }
        // With AcceptsNewMessageMidFragment an open message is dropped here.
        let mut message = Message::new(h.opcode);
        message.compressed = self.deflate.is_some() && h.rsv & RSV1 != 0;
        self.message = Some(message);
        self.frame = Frame::Data { fin: h.fin };
        Step::Continue
    }

    fn on_payload(&mut self, chunk: &[u8]) -> Step {
        let defect = self.defect();
        match &mut self.frame {
            Frame::Idle | Frame::Skip => {}
            Frame::Data { .. } => {
                if let Some(message) = &mut self.message {
                    // Fail fast: the first byte that cannot continue the text ends the connection.
                    let checked_now = !matches!(
                        defect,
                        Defect::AcceptsInvalidUtf8 | Defect::Utf8CheckedAtEnd
                    );
                    let checked_now = checked_now && !message.compressed;
                    let valid =
                        !checked_now || message.utf8.as_mut().is_none_or(|v| v.feed(chunk).is_ok());
                    if !valid {
                        return fail(CloseCode::INVALID_PAYLOAD, "text message is not UTF-8");
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
            Frame::Data { fin: false } if self.defect() == Defect::Utf8CheckedPerFrame => {
                // The defect: each frame's text must be complete UTF-8 on its own, and the check
                // starts afresh with the next frame.
                let whole = self
                    .message
                    .as_mut()
                    .and_then(|m| m.utf8.as_mut())
                    .is_none_or(|v| {
                        let ok = v.finish().is_ok();
                        *v = Utf8Validator::new();
                        ok
                    });
                if whole {
                    Step::Continue
                } else {
                    fail(CloseCode::INVALID_PAYLOAD, "text frame is not UTF-8")
                }
            }
            Frame::Idle | Frame::Skip | Frame::Data { fin: false } => Step::Continue,
            Frame::Data { fin: true } => match self.message.take() {
                Some(message) => self.finish_message(message),
                None => Step::Continue,
            },
            Frame::Control { opcode, payload } => self.on_control(opcode, payload),
        }
    }

    fn finish_message(&mut self, mut message: Message) -> Step {
        let defect = self.defect();
        if message.compressed {
            let Some(deflate) = self.deflate.as_mut() else {
                return Step::Continue;
            };
            let mut inflated = Vec::new();
            let mut sink = |chunk: &[u8]| inflated.extend_from_slice(chunk);
            let result = deflate
                .decompressor
                .push(&message.payload, &mut sink)
                .and_then(|()| deflate.decompressor.finish(&mut sink));
            match result {
                // Padding bits are the sender's fault only; the message itself is whole.
                Ok(()) | Err(InflateError::NonZeroPadding) => message.payload = inflated,
                Err(InflateError::TooLarge(_)) => {
                    return fail(CloseCode::MESSAGE_TOO_BIG, "message too big");
                }
                Err(
                    InflateError::Corrupt(_)
                    | InflateError::KeptContext
                    | InflateError::FragmentTailRemoved,
                ) => {
                    return fail(CloseCode::PROTOCOL_ERROR, "decompression failed");
                }
            }
            if let Some(utf8) = message.utf8.as_mut() {
                let checked = defect != Defect::AcceptsInvalidUtf8;
                if checked && utf8.feed(&message.payload).is_err() {
                    return fail(CloseCode::INVALID_PAYLOAD, "text message is not UTF-8");
                }
            }
        }
        let invalid = match defect {
            Defect::AcceptsInvalidUtf8 => false,
            Defect::Utf8CheckedAtEnd => message.utf8.is_some() && !is_valid_utf8(&message.payload),
            _ => message.utf8.as_ref().is_some_and(|v| v.finish().is_err()),
        };
        if invalid {
            return fail(CloseCode::INVALID_PAYLOAD, "text message is not UTF-8");
        }
        let Message {
            opcode,
            mut payload,
            ..
        } = message;
        match opcode {
            // Only with AcceptsFragmentedControl: a ping or pong put together from fragments.
            Opcode::Ping => Step::Send(self.encode(FrameSpec::pong(payload))),
            Opcode::Pong => Step::Continue,
            // A client hands the message to its application, which decides whether to echo it.
            _ if matches!(self.role, Role::Client(_)) => Step::Message { opcode, payload },
            _ => {
                if defect == Defect::TruncatesLongMessages {
                    payload.truncate(TRUNCATED_LEN);
                }
                self.echoed += 1;
                if defect == Defect::DropsMessages && self.echoed == DROPPED_MESSAGE {
                    return Step::Continue;
                }
                Step::Send(self.encode_message(opcode, payload))
            }
        }
    }

    /// Encodes a message this end sends in one frame: compressed, with RSV1, once permessage-deflate
    /// was agreed.
    pub(crate) fn encode_message(&mut self, opcode: Opcode, payload: Vec<u8>) -> Vec<u8> {
        let strips_tails = self.defect() == Defect::DeflateStripsFragmentTails;
        let pads_with_ones = self.defect() == Defect::DeflatePadsWithOnes;
        match self.deflate.as_mut() {
            Some(deflate) if pads_with_ones => {
                let mut frame = FrameSpec::new(opcode, padded_with_ones(deflate, &payload));
                frame.rsv = RSV1;
                self.encode(frame)
            }
            Some(deflate) if strips_tails && payload.len() >= 2 => {
                // Two fragments, each flushed and stripped of its tail as if it ended the message.
                let (first, second) = payload.split_at(payload.len() / 2);
                let mut head = FrameSpec::new(opcode, deflate.compressor.message(first));
                head.fin = false;
                head.rsv = RSV1;
                let tail = FrameSpec::new(Opcode::Continuation, deflate.compressor.message(second));
                let mut bytes = self.encode(head);
                bytes.extend(self.encode(tail));
                bytes
            }
            Some(deflate) => {
                let mut frame = FrameSpec::new(opcode, deflate.compressor.message(&payload));
                frame.rsv = RSV1;
                self.encode(frame)
            }
            None => self.encode(FrameSpec::new(opcode, payload)),
        }
    }

    fn on_control(&mut self, opcode: Opcode, payload: Vec<u8>) -> Step {
        let defect = self.defect();
        match opcode {
            Opcode::Ping => {
                if defect == Defect::NoPongWhileFragmented && self.message.is_some() {
                    return Step::Continue;
                }
                let payload = if defect == Defect::EmptyPong {
                    Vec::new()
                } else {
                    payload
                };
                let mut pong = FrameSpec::pong(payload);
                if defect == Defect::DeflateRsv1OnPong && self.deflate.is_some() {
                    pong.rsv = RSV1;
                }
                Step::Send(self.encode(pong))
            }
            Opcode::Close => self.on_close(&payload),
            _ => Step::Continue,
        }
    }

    fn on_close(&self, payload: &[u8]) -> Step {
        let defect = self.defect();
        // A close frame this end cannot accept fails the connection, with a status code unless the
        // defect leaves it out.
        let refuse = |code, reason| match defect {
            Defect::FailsWithoutStatusCode => Step::Closed {
                reply: Some(self.encode(FrameSpec::close(None, b""))),
                close_tcp: true,
                observation: Observation::closed(None, String::new()),
            },
            _ => fail(code, reason),
        };
        let (code, reason) = match ClosePayload::parse(payload) {
            ClosePayload::Empty => (None, String::new()),
            ClosePayload::Malformed(_) => {
                return refuse(CloseCode::PROTOCOL_ERROR, "one-byte close payload");
            }
            ClosePayload::Code { code, .. }
                if !code.may_be_sent() && defect != Defect::AcceptsInvalidCloseCodes =>
            {
                return refuse(CloseCode::PROTOCOL_ERROR, "close code that may not be sent");
            }
            ClosePayload::Code { reason, .. } if !is_valid_utf8(reason) => {
                return refuse(CloseCode::INVALID_PAYLOAD, "close reason is not UTF-8");
            }
            ClosePayload::Code { code, reason } => {
                (Some(code), String::from_utf8_lossy(reason).into_owned())
            }
        };
        let observation = Observation::closed(code.map(u16::from), reason);
        match defect {
            Defect::NoCloseReply => Step::Closed {
                reply: None,
                close_tcp: false,
                observation,
            },
            defect => Step::Closed {
                reply: Some(self.encode(FrameSpec::close(code, b""))),
                close_tcp: defect != Defect::KeepsTcpOpen,
                observation,
            },
        }
    }
}

/// The step that fails the connection with `code`.
fn fail(code: CloseCode, reason: &'static str) -> Step {
    Step::Fail { code, reason }
}

/// A capacity to reserve for a payload of `len` bytes: never more than a control frame needs, so
/// a lying length field costs nothing.
fn len_hint(len: u64) -> usize {
    usize::try_from(len.min(MAX_CONTROL_LEN)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_wire::{FrameDecoder, encode_frame_into};

    const KEY: Option<[u8; 4]> = Some([1, 2, 3, 4]);

    /// Feeds the masked encodings of `frames` to a server session and collects the steps that are not
    /// `Continue`.
    fn run_server(defect: Defect, frames: &[FrameSpec]) -> Vec<Step> {
        let mut wire = Vec::new();
        for spec in frames {
            encode_frame_into(&spec.clone().with_mask(KEY), &mut wire);
        }
        let mut session = Session::server(defect, None);
        let mut decoder = FrameDecoder::new();
        let mut steps = Vec::new();
        let mut pos = 0;
        while let (used, Some(event)) = decoder.decode(&mut wire[pos..]) {
            pos += used;
            match session.on_event(event) {
                Step::Continue => {}
                step @ Step::Send(_) => steps.push(step),
                step => {
                    steps.push(step);
                    break;
                }
            }
        }
        steps
    }

    fn send(spec: FrameSpec) -> Step {
        Step::Send(encode_frame(&spec))
    }

    #[test]
    fn echoes_and_pongs() {
        let steps = run_server(
            Defect::None,
            &[
                FrameSpec::text("ab").with_fin(false),
                FrameSpec::ping("p"),
                FrameSpec::continuation("cd"),
                FrameSpec::pong("unsolicited"),
                FrameSpec::close(Some(CloseCode::NORMAL), b"bye"),
            ],
        );
        assert_eq!(
            steps,
            [
                send(FrameSpec::pong("p")),
                send(FrameSpec::text("abcd")),
                Step::Closed {
                    reply: Some(encode_frame(&FrameSpec::close(
                        Some(CloseCode::NORMAL),
                        b""
                    ))),
                    close_tcp: true,
                    observation: Observation::closed(Some(1000), "bye"),
                }
            ]
        );
    }

    #[test]
    fn utf8_fails_fast_on_a_server() {
        // a fragment ending in 0xff fails before its message is complete
        let steps = run_server(
            Defect::None,
            &[FrameSpec::text(&b"ok\xff"[..]).with_fin(false)],
        );
        assert_eq!(
            steps,
            [fail(
                CloseCode::INVALID_PAYLOAD,
                "text message is not UTF-8"
            )]
        );
        // a message ending inside a code point fails at its end
        let steps = run_server(Defect::None, &[FrameSpec::text(&b"\xe2\x82"[..])]);
        assert_eq!(
            steps,
            [fail(
                CloseCode::INVALID_PAYLOAD,
                "text message is not UTF-8"
            )]
        );
    }

    #[test]
    fn unmasked_frames_fail() {
        let mut session = Session::server(Defect::None, None);
        let mut wire = encode_frame(&FrameSpec::text("hi"));
        let (_, event) = FrameDecoder::new().decode(&mut wire);
        let step = session.on_event(event.unwrap());
        assert_eq!(
            step,
            fail(CloseCode::PROTOCOL_ERROR, "unmasked client frame")
        );
    }

    #[test]
    fn lying_lengths_cost_nothing() {
        let mut huge = FrameSpec::binary("");
        huge.declared_len = Some(MAX_MESSAGE_LEN + 1);
        assert_eq!(
            run_server(Defect::None, &[huge]),
            [fail(CloseCode::MESSAGE_TOO_BIG, "message too big")]
        );
        let mut ping = FrameSpec::ping("");
        ping.declared_len = Some(u64::MAX);
        assert_eq!(
            run_server(Defect::AcceptsOversizedControl, &[ping]),
            [fail(CloseCode::MESSAGE_TOO_BIG, "frame too big")]
        );
    }

    /// Feeds the encodings of `frames` (as a server sends them: unmasked unless the spec says
    /// otherwise) to a client session and collects the steps that are not `Continue`, stopping after
    /// one that ends the session.
    fn run_client(defect: ClientDefect, frames: &[FrameSpec]) -> Vec<Step> {
        let mut wire = Vec::new();
        for spec in frames {
            encode_frame_into(spec, &mut wire);
        }
        let mut session = Session::client(defect, None);
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
        let steps = run_client(
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
        let session = Session::client(ClientDefect::None, None);
        let keys: Vec<_> = (0..8)
            .map(|_| sent(&session.encode(FrameSpec::text("x"))).0.mask)
            .collect();
        assert!(keys.iter().all(Option::is_some));
        assert!(keys.windows(2).any(|w| w[0] != w[1]), "{keys:?}");
        let unmasked = Session::client(ClientDefect::SendsUnmasked, None);
        let (header, payload) = sent(&unmasked.encode(FrameSpec::binary("y")));
        assert_eq!((header.mask, payload), (None, b"y".to_vec()));
    }

    #[test]
    fn close_frames_are_echoed_and_observed() {
        let steps = run_client(
            ClientDefect::None,
            &[FrameSpec::close(Some(CloseCode(4000)), "bye ✓".as_bytes())],
        );
        let [
            Step::Closed {
                reply: Some(reply),
                observation,
                ..
            },
        ] = &steps[..]
        else {
            panic!("{steps:?}");
        };
        assert_eq!(*observation, Observation::closed(Some(4000), "bye ✓"));
        let (header, payload) = sent(reply);
        assert_eq!(header.opcode, Opcode::Close);
        assert!(header.mask.is_some());
        assert_eq!(payload, 4000u16.to_be_bytes());

        let steps = run_client(ClientDefect::None, &[FrameSpec::close(None, b"")]);
        let [
            Step::Closed {
                reply: Some(reply),
                observation,
                ..
            },
        ] = &steps[..]
        else {
            panic!("{steps:?}");
        };
        assert_eq!(observation.code, Some(1005));
        assert!(sent(reply).1.is_empty());
    }

    #[test]
    fn invalid_close_frames_fail() {
        let cases = [
            (FrameSpec::close(None, b"x"), CloseCode::PROTOCOL_ERROR),
            (
                FrameSpec::close(Some(CloseCode(999)), b""),
                CloseCode::PROTOCOL_ERROR,
            ),
            (
                FrameSpec::close(Some(CloseCode::NO_STATUS_RECEIVED), b""),
                CloseCode::PROTOCOL_ERROR,
            ),
            (
                FrameSpec::close(Some(CloseCode::NORMAL), b"\xff"),
                CloseCode::INVALID_PAYLOAD,
            ),
        ];
        for (frame, code) in cases {
            let steps = run_client(ClientDefect::None, std::slice::from_ref(&frame));
            assert!(
                matches!(steps[..], [Step::Fail { code: c, .. }] if c == code),
                "{frame:?}: {steps:?}"
            );
        }
    }

    #[test]
    fn protocol_violations_fail_with_1002() {
        let violations = [
            vec![FrameSpec::text("a").with_rsv(RSV1)],
            vec![FrameSpec::new(Opcode::Reserved(3), "a")],
            vec![FrameSpec::new(Opcode::Reserved(11), "")],
            vec![FrameSpec::ping("a").with_fin(false)],
            vec![FrameSpec::ping(vec![b'x'; 126])],
            vec![FrameSpec::continuation("a")],
            vec![FrameSpec::text("a").with_fin(false), FrameSpec::binary("b")],
            vec![FrameSpec::text("masked").with_mask(Some([1, 2, 3, 4]))],
        ];
        for frames in violations {
            let steps = run_client(ClientDefect::None, &frames);
            assert!(
                matches!(
                    steps[..],
                    [Step::Fail {
                        code: CloseCode::PROTOCOL_ERROR,
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
        let steps = run_client(ClientDefect::AcceptsMaskedServerFrames, &frames);
        assert_eq!(steps, [message(Opcode::Text, b"masked")]);
    }

    #[test]
    fn utf8_fails_fast_and_at_the_end() {
        let steps = run_client(
            ClientDefect::None,
            &[FrameSpec::text(&b"ok\xff"[..]).with_fin(false)],
        );
        assert_eq!(
            steps,
            [fail(
                CloseCode::INVALID_PAYLOAD,
                "text message is not UTF-8"
            )]
        );
        let steps = run_client(ClientDefect::None, &[FrameSpec::text(&b"\xe2\x82"[..])]);
        assert_eq!(
            steps,
            [fail(
                CloseCode::INVALID_PAYLOAD,
                "text message is not UTF-8"
            )]
        );
    }

    #[test]
    fn lying_lengths_cost_nothing_on_a_client() {
        let mut huge = FrameSpec::binary("");
        huge.declared_len = Some(u64::MAX);
        assert_eq!(
            run_client(ClientDefect::None, &[huge]),
            [fail(CloseCode::MESSAGE_TOO_BIG, "message too big")]
        );
        let mut more = FrameSpec::continuation("");
        more.declared_len = Some(MAX_MESSAGE_LEN);
        let steps = run_client(
            ClientDefect::None,
            &[FrameSpec::binary("abc").with_fin(false), more],
        );
        assert_eq!(steps, [fail(CloseCode::MESSAGE_TOO_BIG, "message too big")]);
    }
}
