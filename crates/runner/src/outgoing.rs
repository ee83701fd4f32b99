//! What the harness writes: frames whose payloads are generated and masked straight into one write
//! buffer as they go onto the socket, so sending a 16 MiB message costs a buffer of one write (64 KiB,
//! or the chop size), not 16 MiB, and a message in 65,536 small fragments costs no allocation per
//! fragment.

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
    /// A frame: the header as given, then `len` bytes of a repeated pattern from position `start`,
    /// masked with the header's key.
    Frame {
        header: FrameHeader,
        pattern: Cow<'static, [u8]>,
        start: u64,
        len: u64,
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
        self.segments.push(Segment::Frame {
            header: header.clone(),
            pattern,
            start,
            len,
        });
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

    /// How many bytes there are to write.
    pub fn len(&self) -> u64 {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Bytes(bytes) => bytes.len() as u64,
                Segment::Frame { header, len, .. } => header.encoded_len() as u64 + len,
            })
            .sum()
    }

    /// All the bytes at once, as they would be written (for drivers that send whole buffers, and tests).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Bytes(bytes) => out.extend_from_slice(bytes),
                Segment::Frame {
                    header,
                    pattern,
                    start,
                    len,
                } => {
                    header.encode_into(&mut out);
                    let at = out.len();
                    out.resize(at + usize::try_from(*len).unwrap_or(0), 0);
                    fill(pattern, *start, &mut out[at..]);
                    if let Some(key) = header.mask {
                        apply_mask(&mut out[at..], key, 0);
                    }
                }
            }
        }
        out
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
        let mut pieces = Pieces {
            piece: chop.unwrap_or(BLOCK).max(1),
            buf: Vec::with_capacity(BLOCK),
            out: Writes {
                writer,
                delay,
                recorder,
                first: true,
            },
        };
        for segment in &self.segments {
            match segment {
                Segment::Bytes(bytes) => {
                    for part in bytes.chunks(pieces.piece) {
                        pieces.buf.extend_from_slice(part);
                        pieces.write_full().await?;
                    }
                }
                Segment::Frame {
                    header,
                    pattern,
                    start,
                    len,
                } => {
                    header.encode_into(&mut pieces.buf);
                    pieces.write_full().await?;
                    let mut done = 0;
                    while done < *len {
                        // Generate at most what completes the current piece.
                        let room = pieces.piece - pieces.buf.len();
                        let n = usize::try_from(len - done).unwrap_or(room).min(room);
                        let at = pieces.buf.len();
                        pieces.buf.resize(at + n, 0);
                        fill(pattern, start + done, &mut pieces.buf[at..]);
                        if let Some(key) = header.mask {
                            apply_mask(&mut pieces.buf[at..], key, (done % 4) as usize);
                        }
                        done += n as u64;
                        pieces.write_full().await?;
                    }
                }
            }
        }
        if !pieces.buf.is_empty() {
            pieces.out.write(&pieces.buf).await?;
        }
        pieces.out.writer.flush().await
    }
}

/// The write buffer, which goes out in pieces of `piece` bytes.
struct Pieces<'a, W> {
    piece: usize,
    buf: Vec<u8>,
    out: Writes<'a, W>,
}

impl<W: AsyncWrite + Unpin> Pieces<'_, W> {
    /// Writes every whole piece in the buffer and keeps the remainder (less than a piece).
    async fn write_full(&mut self) -> std::io::Result<()> {
        let whole = self.buf.len() - self.buf.len() % self.piece;
        for piece in self.buf[..whole].chunks_exact(self.piece) {
            self.out.write(piece).await?;
        }
        self.buf.drain(..whole);
        Ok(())
    }
}

/// The writes themselves: each one flushed and recorded, `delay` after the one before.
struct Writes<'a, W> {
    writer: &'a mut W,
    delay: Duration,
    recorder: &'a Recorder,
    first: bool,
}

impl<W: AsyncWrite + Unpin> Writes<'_, W> {
    async fn write(&mut self, piece: &[u8]) -> std::io::Result<()> {
        if !self.first && !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.first = false;
        self.writer.write_all(piece).await?;
        self.writer.flush().await?;
        self.recorder.bytes(Direction::Sent, piece);
        Ok(())
    }
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
        // A pattern of 7 bytes from position 3, so that block, piece and mask offsets all disagree.
        let pattern: &'static [u8] = b"abcdefg";
        let payload: Vec<u8> = (0..200_000).map(|i| pattern[(i + 3) % 7]).collect();
        let spec = FrameSpec::new(Opcode::Binary, payload).with_mask(Some([1, 2, 3, 4]));
        let empty = FrameSpec::new(Opcode::Text, Vec::new()).with_mask(Some([5, 6, 7, 8]));
        let mut out = Outgoing::default();
        out.push_frame(&spec.header(), Cow::Borrowed(pattern), 3, 200_000);
        out.push_bytes(vec![0x89, 0x00]);
        out.push_bytes(Vec::new());
        out.push_frame(&empty.header(), Cow::Borrowed(pattern), 0, 0);
        let small = FrameSpec::new(Opcode::Text, b"hello".to_vec()).with_mask(Some([9, 8, 7, 6]));
        out.push_payload(&small.header(), b"hello");
        let mut expected = encode_frame(&spec);
        expected.extend([0x89, 0x00]);
        expected.extend(encode_frame(&empty));
        expected.extend(encode_frame(&small));
        for chop in [None, Some(1), Some(3), Some(997)] {
            assert_eq!(written(&out, chop).await, expected, "chop {chop:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pieces_are_spaced_by_the_delay_and_the_first_is_not_delayed() {
        let mut out = Outgoing::default();
        out.push_bytes(b"0123456789".to_vec());
        let start = tokio::time::Instant::now();
        let mut sink = Vec::new();
        let recorder = Recorder::new(Instant::now());
        out.write_to(&mut sink, Some(4), Duration::from_millis(100), &recorder)
            .await
            .unwrap();
        // Three pieces (4, 4 and 2 bytes): two delays between them.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        assert_eq!(sink, b"0123456789");
        assert_eq!(recorder.snapshot().entries.len(), 3);
    }
}
