//! The peer's frames as events: reassembly into messages (inflated under permessage-deflate, as their
//! bytes arrive), and every frame that breaks a MUST of RFC 6455 flagged as a [`Violation`].

use crate::body::BodyBuilder;
use crate::deflate::MAX_INFLATED;
use wsspec_suite::Role;
use wsspec_wire::{
    ClosePayload, FrameHeader, LengthForm, Opcode, RSV1, Utf8Validator,
    deflate::{Decompressor, Direction, InflateError},
};

use super::{Observed, Violation, violation::SAME_KEY_RUN};

/// Reassembles the peer's frames into messages, chunk by chunk, and flags protocol violations. With
/// permessage-deflate agreed, it inflates compressed messages as their bytes arrive.
#[derive(Debug)]
pub struct PeerStream {
    role: Role,
    frame: FrameState,
    message: Option<(Opcode, BodyBuilder)>,
    utf8: Utf8Validator,
    /// The peer's messages are inflated with this, when permessage-deflate was agreed.
    inflater: Option<Decompressor>,
    /// Whether the open message is compressed (RSV1 on its first frame).
    compressed: bool,
    /// The last masking key, and how many frames in a row have used it.
    last_key: Option<([u8; 4], usize)>,
}

/// Where the payload of the frame being read goes.
#[derive(Debug, Default)]
enum FrameState {
    /// No frame, or one whose payload is ignored (it was a violation, or a reserved opcode).
    #[default]
    Skip,
    /// A data frame of the open message; `fin` ends the message.
    Data { fin: bool },
    /// A control frame (at most 125 bytes, checked at its header).
    Control { opcode: Opcode, payload: Vec<u8> },
}

impl PeerStream {
    /// A stream from a peer playing `role`.
    pub fn new(role: Role) -> Self {
        PeerStream {
            role,
            frame: FrameState::Skip,
            message: None,
            utf8: Utf8Validator::new(),
            inflater: None,
            compressed: false,
            last_key: None,
        }
    }

    /// The stream of a peer that agreed to permessage-deflate and compresses as `peer` says: RSV1
    /// marks a compressed message on its first frame, and nowhere else (RFC 7692 §6).
    pub fn with_deflate(mut self, peer: Direction) -> Self {
        self.inflater = Some(Decompressor::new(peer, MAX_INFLATED));
        self
    }

    /// A frame header arrived.
    pub fn header(&mut self, header: &FrameHeader) -> Option<Observed> {
        self.frame = FrameState::Skip;
        if let Some(violation) = self.check_header(header) {
            return Some(Observed::Violation(violation));
        }
        match header.opcode {
            Opcode::Ping | Opcode::Pong | Opcode::Close => {
                self.frame = FrameState::Control {
                    opcode: header.opcode,
                    payload: Vec::new(),
                };
            }
            Opcode::Continuation if self.message.is_none() => {
                return Some(Observed::Violation(Violation::StrayContinuation));
            }
            Opcode::Continuation => self.frame = FrameState::Data { fin: header.fin },
            Opcode::Text | Opcode::Binary if self.message.is_some() => {
                self.message = None;
                return Some(Observed::Violation(Violation::NewMessageInFragmented(
                    header.opcode,
                )));
            }
            Opcode::Text | Opcode::Binary => {
                self.utf8.reset();
                self.compressed = self.inflater.is_some() && header.rsv & RSV1 != 0;
                self.message = Some((header.opcode, BodyBuilder::default()));
                self.frame = FrameState::Data { fin: header.fin };
            }
            Opcode::Reserved(_) => {}
        }
        None
    }

    /// Part of the current frame's payload arrived.
    pub fn payload(&mut self, chunk: &[u8]) -> Option<Observed> {
        match &mut self.frame {
            FrameState::Skip => None,
            FrameState::Control { payload, .. } => {
                payload.extend_from_slice(chunk);
                None
            }
            FrameState::Data { .. } => {
                let violation = if self.compressed {
                    self.inflate(chunk, false)
                } else {
                    self.take(chunk)
                };
                if violation.is_some() {
                    self.message = None;
                    self.frame = FrameState::Skip;
                }
                violation
            }
        }
    }

    /// Adds message bytes (inflated ones, for a compressed message); a violation if the text is not
    /// UTF-8.
    fn take(&mut self, bytes: &[u8]) -> Option<Observed> {
        let (opcode, body) = self.message.as_mut()?;
        if *opcode == Opcode::Text && self.utf8.feed(bytes).is_err() {
            return Some(Observed::Violation(Violation::InvalidUtf8Text));
        }
        body.push(bytes);
        None
    }

    /// Inflates part of a compressed message (`last`: the end of the message, where the tail is
    /// appended) into [`PeerStream::take`].
    fn inflate(&mut self, chunk: &[u8], last: bool) -> Option<Observed> {
        let mut inflater = self.inflater.take()?;
        let mut violation = None;
        let mut sink = |bytes: &[u8]| {
            if violation.is_none() {
                violation = self.take(bytes);
            }
        };
        let result = if last {
            inflater.finish(&mut sink)
        } else {
            inflater.push(chunk, &mut sink)
        };
        self.inflater = Some(inflater);
        match result {
            Err(InflateError::KeptContext) => Some(Observed::Violation(
                Violation::KeptDeflateContext(self.role),
            )),
            Err(err) => Some(Observed::Violation(Violation::DoesNotInflate(err))),
            Ok(()) => violation,
        }
    }

    /// The current frame ended.
    pub fn end(&mut self) -> Option<Observed> {
        match std::mem::take(&mut self.frame) {
            FrameState::Skip => None,
            FrameState::Data { fin: false } => {
                if let (true, Some(inflater)) = (self.compressed, self.inflater.as_mut()) {
                    inflater.end_fragment();
                }
                None
            }
            FrameState::Data { fin: true } => {
                if self.compressed {
                    if let Some(violation) = self.inflate(&[], true) {
                        self.message = None;
                        return Some(violation);
                    }
                }
                let (opcode, body) = self.message.take()?;
                if opcode == Opcode::Text && self.utf8.finish().is_err() {
                    return Some(Observed::Violation(Violation::TruncatedUtf8Text));
                }
                Some(Observed::Message {
                    opcode,
                    body: body.finish(),
                })
            }
            FrameState::Control {
                opcode: Opcode::Ping,
                payload,
            } => Some(Observed::Ping(payload)),
            FrameState::Control {
                opcode: Opcode::Pong,
                payload,
            } => Some(Observed::Pong(payload)),
            FrameState::Control { payload, .. } => Some(self.close(payload)),
        }
    }

    /// RFC 6455 rules on a header, whatever the payload.
    fn check_header(&mut self, header: &FrameHeader) -> Option<Violation> {
        match (self.role, header.mask) {
            (Role::Server, Some(_)) => return Some(Violation::MaskedServerFrame),
            (Role::Client, None) => return Some(Violation::UnmaskedClientFrame),
            (Role::Client, Some(key)) => {
                let run = match self.last_key {
                    Some((last, run)) if last == key => run + 1,
                    _ => 1,
                };
                self.last_key = Some((key, run));
                if run == SAME_KEY_RUN {
                    return Some(Violation::RepeatedMaskingKey(key));
                }
            }
            _ => {}
        }
        if self.inflater.is_some() && header.rsv & RSV1 != 0 {
            if header.opcode.is_control() {
                return Some(Violation::CompressedControlFrame(header.opcode));
            }
            if header.opcode == Opcode::Continuation {
                return Some(Violation::CompressedContinuation);
            }
        }
        let undefined =
            if self.inflater.is_some() && matches!(header.opcode, Opcode::Text | Opcode::Binary) {
                header.rsv & !RSV1
            } else {
                header.rsv
            };
        if undefined != 0 {
            return Some(if self.inflater.is_some() {
                Violation::RsvUndefinedByDeflate(undefined)
            } else {
                Violation::RsvWithoutExtension(undefined)
            });
        }
        if header.opcode.is_reserved() {
            return Some(Violation::ReservedOpcode(header.opcode.as_u8()));
        }
        if header.opcode.is_control() && !header.fin {
            return Some(Violation::FragmentedControlFrame(header.opcode));
        }
        if header.opcode.is_control() && header.payload_len > 125 {
            return Some(Violation::OversizedControlFrame {
                opcode: header.opcode,
                len: header.payload_len,
            });
        }
        if header.length_form != LengthForm::minimal(header.payload_len) {
            return Some(Violation::LongLengthForm {
                len: header.payload_len,
                form: header.length_form,
            });
        }
        None
    }

    fn close(&self, payload: Vec<u8>) -> Observed {
        match ClosePayload::parse(&payload) {
            ClosePayload::Malformed(_) => Observed::Violation(Violation::OneByteClosePayload),
            ClosePayload::Code { code, .. } if !code.may_be_sent() => {
                Observed::Violation(Violation::InvalidCloseCode(code))
            }
            ClosePayload::Code { reason, .. } if std::str::from_utf8(reason).is_err() => {
                Observed::Violation(Violation::InvalidCloseReason)
            }
            _ => Observed::Close(payload),
        }
    }
}
