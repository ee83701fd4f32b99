//! Running the steps: where the case is in its (nested) steps, and what each step does.
//!
//! Sending steps only build bytes and queue them; `wait` and `expect` steps change the phase, and the
//! interpreter's loop takes the events they wait for.

use std::{borrow::Cow, sync::Arc, time::Duration};

use wsspec_suite::{
    case::{
        ClosePayloadSpec, FrameSpec as CaseFrame, LengthFormSpec, MaskSpec, Payload, Step,
        WritePlan,
    },
    results::{Direction, Side},
};
use wsspec_wire::{
    FrameHeader, LengthForm, Opcode, RSV1, deflate::Direction as DeflateDirection,
    encode_close_payload,
};

use super::{Expecting, Interpreter, Phase};
use crate::{
    body::{BodyBuilder, Source},
    compression_cache::{CompressionCache, MessageCompressor},
    conn::PREVIEW_BYTES,
    deflate::{LEVEL, MAX_INFLATED},
    judge::Matcher,
    outgoing::Outgoing,
};

/// Where the case is in its steps: a stack of step lists, innermost last.
#[derive(Debug)]
pub(super) struct Program {
    frames: Vec<Frame>,
}

/// One list of steps being run, and how many more times it runs after this pass.
#[derive(Debug)]
struct Frame {
    steps: Arc<[Step]>,
    index: usize,
    again: u64,
}

impl Program {
    /// A program that runs `steps` once.
    pub(super) fn new(steps: &[Step]) -> Self {
        Program {
            frames: vec![Frame {
                steps: steps.into(),
                index: 0,
                again: 0,
            }],
        }
    }

    /// The next step to run (entering `repeat` steps), or `None` when the steps are over or `stop`.
    pub(super) fn next(&mut self, stop: bool) -> Option<(Arc<[Step]>, usize)> {
        if stop {
            self.frames.clear();
        }
        loop {
            let frame = self.frames.last_mut()?;
            if frame.index == frame.steps.len() {
                if frame.again > 0 {
                    frame.again -= 1;
                    frame.index = 0;
                } else {
                    self.frames.pop();
                }
                continue;
            }
            let at = frame.index;
            frame.index += 1;
            let repeat = match &frame.steps[at] {
                Step::Repeat { times, steps } if *times > 0 && !steps.is_empty() => Frame {
                    steps: steps.as_slice().into(),
                    index: 0,
                    again: u64::from(*times) - 1,
                },
                Step::Repeat { .. } => continue,
                _ => return Some((frame.steps.clone(), at)),
            };
            self.frames.push(repeat);
        }
    }
}

impl Interpreter {
    /// Runs one step (never a `repeat`, which [`Program::next`] enters).
    pub(super) fn step(&mut self, step: &Step) {
        match step {
            Step::Repeat { .. } => {}
            Step::Send { frames, write } => {
                let mut out = Outgoing::default();
                for frame in frames {
                    let (header, wire, plain) = self.frame(frame);
                    self.close_frame_sent |= header.opcode == Opcode::Close;
                    self.send_frame(&mut out, &header, &wire, &plain);
                    if write.per_frame {
                        self.write(std::mem::take(&mut out), *write);
                    }
                }
                self.write(out, *write);
            }
            Step::SendMessage {
                opcode,
                payload,
                fragment,
                compress,
                write,
            } => {
                let source = self.source(payload);
                if self.compressor.is_some()
                    && *compress != Some(false)
                    && source.len <= MAX_INFLATED
                {
                    self.send_compressed(*opcode, &source, *fragment, *write);
                } else {
                    self.send_plain(*opcode, &source, *fragment, *write);
                }
            }
            Step::SendRaw { bytes, write } => self.write_bytes(bytes.clone(), *write),
            Step::Wait { ms } => {
                self.recorder.note(format!("waiting {ms} ms"));
                self.phase = Phase::Waiting {
                    until: self.now + Duration::from_millis(*ms),
                };
            }
            Step::Close { payload, write } => {
                let bytes = match payload {
                    ClosePayloadSpec::Code { code, reason } => {
                        encode_close_payload(*code, &reason.to_bytes())
                    }
                    ClosePayloadSpec::Raw(raw) => raw.to_bytes(),
                };
                self.send_close(bytes, *write);
            }
            Step::Drop => {
                self.recorder.note("dropping TCP without a close frame");
                self.record.harness_dropped = true;
                self.record.close.tcp_closed_by.get_or_insert(Side::Harness);
                self.conn = None;
                self.connected = false;
                self.actions.push_back(super::Action::Drop);
            }
            Step::HalfClose => {
                if self.conn.is_some() {
                    self.recorder.note("shutting down the sending half of TCP");
                    self.writes.push_back(super::WriteOp::Shutdown);
                }
            }
            Step::Expect {
                expect,
                within_ms,
                on_timeout,
            } => {
                let silence = Matcher::waits_for_silence(expect);
                self.phase = Phase::Expecting(Box::new(Expecting {
                    matcher: Matcher::new(expect).with_limit(self.settings.max_message_size),
                    silence,
                    within_ms: *within_ms,
                    on_timeout: *on_timeout,
                    started: self.now,
                    until: self.now + Duration::from_millis(silence.unwrap_or(*within_ms)),
                }));
            }
        }
    }

    /// Sends a data message uncompressed, in frames of `fragment` bytes.
    fn send_plain(
        &mut self,
        opcode: Opcode,
        source: &Source,
        fragment: Option<u64>,
        write: WritePlan,
    ) {
        let len = source.len;
        let size = fragment.unwrap_or(len).max(1);
        let count = len.div_ceil(size).max(1);
        let mut out = Outgoing::default();
        for i in 0..count {
            let start = i * size;
            let n = size.min(len - start);
            let header = FrameHeader {
                fin: i + 1 == count,
                rsv: 0,
                opcode: if i == 0 { opcode } else { Opcode::Continuation },
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
        self.write(out, write);
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
    pub(super) fn frame(&mut self, frame: &CaseFrame) -> (FrameHeader, Source, Source) {
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
            opcode: frame.opcode,
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
        let compressed = match self.compressor.as_mut() {
            Some(compressor) => compressor.message(plain).0,
            None => {
                MessageCompressor::new(DeflateDirection::default(), LEVEL, CompressionCache::new(0))
                    .message(plain)
                    .0
            }
        };
        compressed.to_vec()
    }

    /// Sends a data message compressed (RFC 7692 §7.2.1): RSV1 on its first frame, the compressed
    /// payload split into frames of `fragment` bytes. The outbox keeps the uncompressed message.
    fn send_compressed(
        &mut self,
        opcode: Opcode,
        source: &Source,
        fragment: Option<u64>,
        write: WritePlan,
    ) {
        let Some(compressor) = self.compressor.as_mut() else {
            return;
        };
        let (compressed, body) = compressor.message(source);
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
                opcode: if i == 0 { opcode } else { Opcode::Continuation },
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
        self.outbox.messages.push_back((opcode, body));
        self.write(out, write);
    }

    /// Adds a frame to `out` (its payload as `wire` says), records it, and remembers complete data
    /// messages for `echo` (as `plain` says).
    pub(super) fn send_frame(
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
                self.outgoing_fragment = Some((header.opcode, body));
            }
            Opcode::Continuation => {
                if let Some((_, body)) = self.outgoing_fragment.as_mut() {
                    feed(body);
                }
            }
            Opcode::Ping => {
                // No pong may carry more than 125 bytes, so no more are needed to tell one.
                let mut head = [0; 125];
                self.outbox.sent_ping(plain.preview(&mut head));
                return;
            }
            _ => return,
        }
        if header.fin {
            if let Some((opcode, body)) = self.outgoing_fragment.take() {
                self.outbox.messages.push_back((opcode, body.finish()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_suite::case::Payload;

    fn send(n: u8) -> Step {
        Step::SendRaw {
            bytes: vec![n],
            write: WritePlan::default(),
        }
    }

    fn ids(program: &mut Program) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((steps, at)) = program.next(false) {
            match &steps[at] {
                Step::SendRaw { bytes, .. } => out.push(bytes[0]),
                other => panic!("unexpected step {other:?}"),
            }
        }
        out
    }

    #[test]
    fn repeats_nest_and_run_their_count() {
        let steps = vec![
            send(1),
            Step::Repeat {
                times: 2,
                steps: vec![
                    send(2),
                    Step::Repeat {
                        times: 2,
                        steps: vec![send(3)],
                    },
                ],
            },
            Step::Repeat {
                times: 0,
                steps: vec![send(9)],
            },
            send(4),
        ];
        assert_eq!(ids(&mut Program::new(&steps)), [1, 2, 3, 3, 2, 3, 3, 4]);
        let _ = Payload::Bytes(Vec::new());
    }

    #[test]
    fn stop_ends_the_program() {
        let steps = vec![send(1), send(2)];
        let mut program = Program::new(&steps);
        assert!(program.next(false).is_some());
        assert!(program.next(true).is_none());
        assert!(program.next(false).is_none());
    }
}
