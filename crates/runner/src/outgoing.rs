//! What the harness writes: frames whose payloads are generated and masked block by block as they go
//! onto the socket, so sending a 16 MiB message costs a 64 KiB buffer, not 16 MiB.

use std::{borrow::Cow, time::Duration};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use wsspec_suite::results::Direction;
use wsspec_wire::{FrameHeader, apply_mask};

use crate::{
    body::{BLOCK, fill},
    conn::Recorder,
};

/// One part of the bytes to write.
#[derive(Clone, Debug)]
enum Segment {
    /// Bytes as they are.
    Bytes(Vec<u8>),
    /// `len` bytes of a repeated pattern from position `start`, masked with `mask` from offset 0.
    Pattern {
        pattern: Cow<'static, [u8]>,
        start: u64,
        len: u64,
        mask: Option<[u8; 4]>,
    },
}

/// Bytes to write, in order.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    segments: Vec<Segment>,
}

impl Outgoing {
    /// Appends bytes as they are.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.segments.push(Segment::Bytes(bytes));
        }
    }

    /// Appends a frame: its header as given, then `len` payload bytes of the pattern from `start`,
    /// masked with the header's key. A borrowed pattern (a corpus) is not copied.
    pub fn push_frame(
        &mut self,
        header: &FrameHeader,
        pattern: Cow<'static, [u8]>,
        start: u64,
        len: u64,
    ) {
        let mut head = Vec::with_capacity(header.encoded_len());
        header.encode_into(&mut head);
        self.push_bytes(head);
        if len > 0 {
            self.segments.push(Segment::Pattern {
                pattern,
                start,
                len,
                mask: header.mask,
            });
        }
    }

    /// Appends a frame whose payload is given whole (a compressed message's piece): header, then the
    /// payload masked with the header's key.
    pub fn push_payload(&mut self, header: &FrameHeader, payload: &[u8]) {
        let mut bytes = Vec::with_capacity(header.encoded_len() + payload.len());
        header.encode_into(&mut bytes);
        let at = bytes.len();
        bytes.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut bytes[at..], key, 0);
        }
        self.push_bytes(bytes);
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The bytes, in blocks of at most [`BLOCK`] bytes (bytes segments whole).
    fn blocks(&self) -> impl Iterator<Item = Vec<u8>> + Send + '_ {
        self.segments
            .iter()
            .flat_map(|segment| -> Box<dyn Iterator<Item = Vec<u8>> + Send + '_> {
                match segment {
                    Segment::Bytes(bytes) => Box::new(std::iter::once(bytes.clone())),
                    Segment::Pattern {
                        pattern,
                        start,
                        len,
                        mask,
                    } => {
                        let (start, len, mask) = (*start, *len, *mask);
                        Box::new((0..len.div_ceil(BLOCK as u64)).map(move |i| {
                            let offset = i * BLOCK as u64;
                            let n =
                                usize::try_from((len - offset).min(BLOCK as u64)).unwrap_or(BLOCK);
                            let mut block = vec![0u8; n];
                            fill(pattern, start + offset, &mut block);
                            if let Some(key) = mask {
                                apply_mask(&mut block, key, (offset % 4) as usize);
                            }
                            block
                        }))
                    }
                }
            })
    }

    /// Writes everything, in pieces of `chop` bytes with `delay` between them, recording each write.
    /// Without `chop`, the bytes go out in [`BLOCK`]-sized writes, so a small step is a single write.
    pub async fn write_to<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        chop: Option<usize>,
        delay: Duration,
        recorder: &Recorder,
    ) -> std::io::Result<()> {
        let piece = chop.unwrap_or(BLOCK).max(1);
        let mut pending: Vec<u8> = Vec::new();
        let mut first = true;
        for block in self.blocks() {
            pending.extend_from_slice(&block);
            // Write whole pieces, then keep the remainder (less than one piece) for the next block.
            let mut at = 0;
            while pending.len() - at >= piece {
                write_piece(
                    writer,
                    &pending[at..at + piece],
                    &mut first,
                    delay,
                    recorder,
                )
                .await?;
                at += piece;
            }
            pending.drain(..at);
        }
        if !pending.is_empty() {
            write_piece(writer, &pending, &mut first, delay, recorder).await?;
        }
        writer.flush().await
    }
}

async fn write_piece<W: AsyncWrite + Unpin>(
    writer: &mut W,
    piece: &[u8],
    first: &mut bool,
    delay: Duration,
    recorder: &Recorder,
) -> std::io::Result<()> {
    if !*first && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    *first = false;
    writer.write_all(piece).await?;
    writer.flush().await?;
    recorder.bytes(Direction::Sent, piece);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use wsspec_wire::{FrameSpec, Opcode, encode_frame};

    async fn written(out: &Outgoing, chop: Option<usize>) -> Vec<u8> {
        let mut sink = Vec::new();
        out.write_to(
            &mut sink,
            chop,
            Duration::ZERO,
            &Recorder::new(Instant::now()),
        )
        .await
        .unwrap();
        sink
    }

    #[tokio::test]
    async fn generated_frames_equal_encoded_ones() {
        let payload = vec![b'x'; 200_000];
        let spec = FrameSpec::new(Opcode::Binary, payload).with_mask(Some([1, 2, 3, 4]));
        let mut out = Outgoing::default();
        out.push_frame(&spec.header(), Cow::Borrowed(b"x"), 0, 200_000);
        out.push_bytes(vec![0x89, 0x00]);
        let small = FrameSpec::new(Opcode::Text, b"hello".to_vec()).with_mask(Some([9, 8, 7, 6]));
        out.push_payload(&small.header(), b"hello");
        let mut expected = encode_frame(&spec);
        expected.extend([0x89, 0x00]);
        expected.extend(encode_frame(&small));
        assert_eq!(written(&out, None).await, expected);
        assert_eq!(written(&out, Some(997)).await, expected);
    }
}
