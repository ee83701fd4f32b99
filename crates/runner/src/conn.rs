//! One WebSocket connection as the harness sees it: bytes out, frames in, everything recorded.
//!
//! A reader task decodes the peer's bytes into frames and passes them on a channel; the case executor
//! writes from its own task. Both record into one bounded [`Recorder`]. Nothing here judges: frames go
//! to [`crate::judge`] as they were read. Memory is bounded: a frame's payload is kept only up to the
//! harness's message limit, and the transcript keeps a bounded number of entries.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::mpsc,
};
use wsspec_suite::results::{Data, Direction, Entry, EntryKind, Transcript, hex};
use wsspec_wire::{DecodeEvent, FrameDecoder, FrameHeader};

/// How many transcript entries a case keeps; later ones are only counted.
pub const MAX_TRANSCRIPT_ENTRIES: usize = 4_000;
/// How many bytes of a payload or a write a transcript entry shows.
pub const PREVIEW_BYTES: usize = 64;

/// The case's transcript, shared by the reader and the writer.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: Arc<Mutex<Transcript>>,
    start: Instant,
}

impl Recorder {
    /// A recorder whose timestamps count from `start`.
    pub fn new(start: Instant) -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(Transcript::default())),
            start,
        }
    }

    fn push(&self, dir: Direction, kind: EntryKind) {
        let at_us = self.start.elapsed().as_micros() as u64;
        let Ok(mut transcript) = self.inner.lock() else {
            return;
        };
        if transcript.entries.len() < MAX_TRANSCRIPT_ENTRIES {
            transcript.entries.push(Entry { at_us, dir, kind });
        } else {
            transcript.dropped += 1;
        }
    }

    /// Records raw bytes.
    pub fn bytes(&self, dir: Direction, bytes: &[u8]) {
        self.push(
            dir,
            EntryKind::Bytes {
                len: bytes.len() as u64,
                data: hex(&bytes[..bytes.len().min(PREVIEW_BYTES)]),
            },
        );
    }

    /// Records a frame (payload unmasked).
    pub fn frame(&self, dir: Direction, header: &FrameHeader, payload: &[u8]) {
        self.push(
            dir,
            EntryKind::Frame {
                fin: header.fin,
                rsv: header.rsv,
                opcode: header.opcode.as_u8(),
                mask: header.mask.map(|key| hex(&key)),
                len: header.payload_len,
                payload: Data::from_bytes(&payload[..payload.len().min(PREVIEW_BYTES)]),
            },
        );
    }

    /// Records a note.
    pub fn note(&self, text: impl Into<String>) {
        self.push(Direction::Note, EntryKind::Event { text: text.into() });
    }

    /// The transcript so far.
    pub fn snapshot(&self) -> Transcript {
        self.inner.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// What the reader task reports.
#[derive(Debug)]
pub enum Incoming {
    /// A whole frame. `truncated` says the payload was longer than the limit and was cut.
    Frame {
        /// The header as read.
        header: FrameHeader,
        /// The unmasked payload, up to the limit.
        payload: Vec<u8>,
        /// Whether bytes past the limit were dropped.
        truncated: bool,
    },
    /// The peer closed its side of TCP (read returned 0).
    Eof,
    /// Reading failed (reset, and so on).
    Error(String),
}

/// Reads frames from `reader` until EOF or error, starting with `leftover` bytes that arrived with the
/// handshake. Payloads are kept up to `max_payload` bytes per frame.
pub async fn read_frames<R: AsyncRead + Unpin>(
    mut reader: R,
    leftover: Vec<u8>,
    max_payload: usize,
    recorder: Recorder,
    tx: mpsc::UnboundedSender<Incoming>,
) {
    let mut decoder = FrameDecoder::new();
    let mut buf = leftover;
    let mut current: Option<(FrameHeader, Vec<u8>, bool)> = None;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let mut offset = 0;
        loop {
            // Called even with nothing left: the end of a frame is reported on its own call.
            let (used, event) = decoder.decode(&mut buf[offset..]);
            offset += used;
            match event {
                Some(DecodeEvent::Header(header)) => {
                    let keep = header.payload_len.min(max_payload as u64).min(1 << 20) as usize;
                    current = Some((header, Vec::with_capacity(keep), false));
                }
                Some(DecodeEvent::Payload(data)) => {
                    if let Some((_, payload, truncated)) = current.as_mut() {
                        let room = max_payload.saturating_sub(payload.len());
                        payload.extend_from_slice(&data[..data.len().min(room)]);
                        *truncated |= data.len() > room;
                    }
                }
                Some(DecodeEvent::End) => {
                    if let Some((header, payload, truncated)) = current.take() {
                        recorder.frame(Direction::Received, &header, &payload);
                        if tx
                            .send(Incoming::Frame {
                                header,
                                payload,
                                truncated,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                None if used == 0 => break,
                None => {}
            }
        }
        buf.drain(..offset);
        match reader.read(&mut chunk).await {
            Ok(0) => {
                recorder.note("TCP closed by the peer");
                let _ = tx.send(Incoming::Eof);
                return;
            }
            Ok(n) => {
                recorder.bytes(Direction::Received, &chunk[..n]);
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(err) => {
                recorder.note(format!("read failed: {err}"));
                let _ = tx.send(Incoming::Error(err.to_string()));
                return;
            }
        }
    }
}

/// Writes `bytes`, in pieces of `chop` bytes with `delay` between them when asked.
pub async fn write_chopped<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    chop: Option<usize>,
    delay: Duration,
    recorder: &Recorder,
) -> std::io::Result<()> {
    let piece = chop.unwrap_or(bytes.len()).max(1);
    for (i, part) in bytes.chunks(piece).enumerate() {
        if i > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        writer.write_all(part).await?;
        writer.flush().await?;
        recorder.bytes(Direction::Sent, part);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsspec_wire::{FrameSpec, Opcode, encode_frame};

    #[tokio::test]
    async fn reader_reports_frames_then_eof() {
        let mut bytes = encode_frame(&FrameSpec::text("hi"));
        bytes.extend(encode_frame(&FrameSpec::new(Opcode::Ping, vec![1u8; 10])));
        let (first, rest) = bytes.split_at(3);
        let recorder = Recorder::new(Instant::now());
        let (tx, mut rx) = mpsc::unbounded_channel();
        read_frames(rest, first.to_vec(), 4, recorder.clone(), tx).await;
        let Some(Incoming::Frame {
            payload, truncated, ..
        }) = rx.recv().await
        else {
            panic!()
        };
        assert_eq!((payload.as_slice(), truncated), (&b"hi"[..], false));
        let Some(Incoming::Frame {
            payload,
            truncated,
            header,
        }) = rx.recv().await
        else {
            panic!()
        };
        assert_eq!(
            (payload.len(), truncated, header.payload_len),
            (4, true, 10)
        );
        assert!(matches!(rx.recv().await, Some(Incoming::Eof)));
        assert!(recorder.snapshot().entries.len() >= 3);
    }

    #[tokio::test]
    async fn huge_declared_length_allocates_nothing_up_front() {
        // fin=1 op=2, 64-bit length 2^63-1, then 3 payload bytes and EOF
        let bytes = [
            0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3,
        ];
        let (tx, mut rx) = mpsc::unbounded_channel();
        read_frames(
            &bytes[..],
            vec![],
            1 << 20,
            Recorder::new(Instant::now()),
            tx,
        )
        .await;
        assert!(matches!(rx.recv().await, Some(Incoming::Eof)));
    }
}
