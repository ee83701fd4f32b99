//! One WebSocket connection as the harness sees it: bytes out, frames in, everything recorded.
//!
//! A reader task decodes the peer's bytes into frames and passes them on a channel; the case executor
//! writes from its own task. Both record into one bounded [`Recorder`]. Nothing here judges: frames go
//! to [`crate::judge`] as they were read. Memory is bounded: payloads travel in chunks, and every event
//! in the queue between the reader and the case holds part of a byte budget ([`READ_BUDGET`]); the
//! transcript keeps a bounded number of entries.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt},
    sync::{OwnedSemaphorePermit, Semaphore, mpsc},
};
use wsspec_suite::results::{Data, Direction, Entry, EntryKind, Transcript, hex};
use wsspec_wire::{DecodeEvent, FrameDecoder, FrameHeader};

/// How many of a case's first transcript entries are kept.
pub const TRANSCRIPT_HEAD: usize = 300;
/// How many of a case's last transcript entries are kept; the ones between are only counted.
pub const TRANSCRIPT_TAIL: usize = 100;
/// How many bytes of a payload or a write a transcript entry shows.
pub const PREVIEW_BYTES: usize = 64;

/// The case's transcript, shared by the reader and the writer. It keeps the beginning and the end of
/// a conversation, which is where the reasons for a verdict are, and counts what it leaves out between.
/// Entries are kept raw (fixed-size previews, no text) and written out only by [`Recorder::snapshot`],
/// so recording the 65,536 frames of a fragmented message costs no allocation per frame.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: Arc<Mutex<Kept>>,
    start: Instant,
}

#[derive(Debug, Default)]
struct Kept {
    head: Vec<Raw>,
    tail: std::collections::VecDeque<Raw>,
    dropped: u64,
}

/// A transcript entry as recorded.
#[derive(Debug)]
struct Raw {
    at_us: u64,
    dir: Direction,
    kind: RawKind,
}

#[derive(Debug)]
enum RawKind {
    Bytes {
        len: u64,
        preview: Preview,
    },
    Frame {
        fin: bool,
        rsv: u8,
        opcode: u8,
        mask: Option<[u8; 4]>,
        len: u64,
        preview: Preview,
    },
    Event(String),
}

/// The first [`PREVIEW_BYTES`] bytes of something, inline.
#[derive(Clone, Debug)]
struct Preview {
    bytes: [u8; PREVIEW_BYTES],
    len: u8,
}

// The length fits in a byte.
const _: () = assert!(PREVIEW_BYTES <= u8::MAX as usize);

impl Preview {
    const EMPTY: Preview = Preview {
        bytes: [0; PREVIEW_BYTES],
        len: 0,
    };

    fn of(bytes: &[u8]) -> Self {
        let mut preview = Preview::EMPTY;
        preview.extend(bytes);
        preview
    }

    /// Adds as many of `bytes` as there is room for.
    fn extend(&mut self, bytes: &[u8]) {
        let at = usize::from(self.len);
        let take = bytes.len().min(PREVIEW_BYTES - at);
        self.bytes[at..at + take].copy_from_slice(&bytes[..take]);
        self.len += take as u8;
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Raw {
    fn entry(&self) -> Entry {
        let kind = match &self.kind {
            RawKind::Bytes { len, preview } => EntryKind::Bytes {
                len: *len,
                data: hex(preview.as_slice()),
            },
            RawKind::Frame {
                fin,
                rsv,
                opcode,
                mask,
                len,
                preview,
            } => EntryKind::Frame {
                fin: *fin,
                rsv: *rsv,
                opcode: *opcode,
                mask: mask.map(|key| hex(&key)),
                len: *len,
                payload: Data::from_bytes(preview.as_slice()),
            },
            RawKind::Event(text) => EntryKind::Event { text: text.clone() },
        };
        Entry {
            at_us: self.at_us,
            dir: self.dir,
            kind,
        }
    }
}

impl Recorder {
    /// A recorder whose timestamps count from `start`.
    pub fn new(start: Instant) -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(Kept::default())),
            start,
        }
    }

    /// Adds an entry.
    fn push(&self, dir: Direction, kind: RawKind) {
        let at_us = self.start.elapsed().as_micros() as u64;
        let Ok(mut kept) = self.inner.lock() else {
            return;
        };
        let raw = Raw { at_us, dir, kind };
        if kept.head.len() < TRANSCRIPT_HEAD {
            kept.head.push(raw);
        } else {
            if kept.tail.len() == TRANSCRIPT_TAIL {
                kept.tail.pop_front();
                kept.dropped += 1;
            }
            kept.tail.push_back(raw);
        }
    }

    /// Records raw bytes.
    pub fn bytes(&self, dir: Direction, bytes: &[u8]) {
        let kind = RawKind::Bytes {
            len: bytes.len() as u64,
            preview: Preview::of(bytes),
        };
        self.push(dir, kind);
    }

    /// Records a frame (payload unmasked; only its first [`PREVIEW_BYTES`] bytes are kept).
    pub fn frame(&self, dir: Direction, header: &FrameHeader, payload: &[u8]) {
        self.frame_with(dir, header, Preview::of(payload));
    }

    fn frame_with(&self, dir: Direction, header: &FrameHeader, preview: Preview) {
        let kind = RawKind::Frame {
            fin: header.fin,
            rsv: header.rsv,
            opcode: header.opcode.as_u8(),
            mask: header.mask,
            len: header.payload_len,
            preview,
        };
        self.push(dir, kind);
    }

    /// Records a note.
    pub fn note(&self, text: impl Into<String>) {
        self.push(Direction::Note, RawKind::Event(text.into()));
    }

    /// The transcript so far: the first entries, then the last, with the count of those between.
    pub fn snapshot(&self) -> Transcript {
        self.inner
            .lock()
            .map(|kept| Transcript {
                entries: kept
                    .head
                    .iter()
                    .chain(kept.tail.iter())
                    .map(Raw::entry)
                    .collect(),
                dropped: kept.dropped,
            })
            .unwrap_or_default()
    }
}

/// What the reader task reports. Payloads arrive in chunks as they are read, so a frame of any size
/// costs the harness no more memory than the chunks in flight.
#[derive(Debug)]
pub enum Incoming {
    /// A frame header.
    Header(FrameHeader),
    /// Part of the current frame's payload, unmasked.
    Payload(Vec<u8>),
    /// The current frame's last payload byte was read.
    End,
    /// The peer closed its side of TCP (read returned 0).
    Eof,
    /// Reading failed (reset, and so on).
    Error(String),
}

/// An [`Incoming`] event on its way from the reader to the case. It holds its share of the read budget
/// until it is dropped, wherever the case keeps it meanwhile.
#[derive(Debug)]
pub struct Queued {
    /// The event.
    pub incoming: Incoming,
    _permit: Option<OwnedSemaphorePermit>,
}

impl From<Incoming> for Queued {
    /// An event outside the budget (the executor's own, such as "the reader stopped").
    fn from(incoming: Incoming) -> Self {
        Queued {
            incoming,
            _permit: None,
        }
    }
}

/// How many bytes of input may wait between the reader and the case at once, per connection: payload
/// bytes, plus [`EVENT_COST`] for every event. When the case falls behind (or the peer floods it with
/// empty frames), the reader stops reading and TCP pushes back on the peer.
pub const READ_BUDGET: usize = 16 << 20;

/// The least room each read has.
const READ_CHUNK: usize = 64 * 1024;

/// What each queued event costs of [`READ_BUDGET`] besides its payload: about its size in memory, so that
/// a flood of empty frames is bounded like a flood of bytes.
pub const EVENT_COST: usize = 64;

/// Reads frames from `reader` until EOF or error, starting with `leftover` bytes that arrived with the
/// handshake. Stops as soon as the case drops its receiver, even when the peer is silent, so a finished
/// case leaves no reader (and no socket) behind.
pub async fn read_frames<R: AsyncRead + Unpin>(
    mut reader: R,
    leftover: Vec<u8>,
    recorder: Recorder,
    tx: mpsc::UnboundedSender<Queued>,
) {
    let budget = Arc::new(Semaphore::new(READ_BUDGET));
    let mut decoder = FrameDecoder::new();
    let mut buf = leftover;
    // The current frame's header and the first payload bytes, for the transcript.
    let mut current: Option<(FrameHeader, Preview)> = None;
    loop {
        let mut offset = 0;
        loop {
            // Called even with nothing left: the end of a frame is reported on its own call.
            let (used, event) = decoder.decode(&mut buf[offset..]);
            offset += used;
            let incoming = match event {
                Some(DecodeEvent::Header(header)) => {
                    current = Some((header.clone(), Preview::EMPTY));
                    Incoming::Header(header)
                }
                Some(DecodeEvent::Payload(data)) => {
                    if let Some((_, preview)) = current.as_mut() {
                        preview.extend(data);
                    }
                    Incoming::Payload(data.to_vec())
                }
                Some(DecodeEvent::End) => {
                    if let Some((header, preview)) = current.take() {
                        recorder.frame_with(Direction::Received, &header, preview);
                    }
                    Incoming::End
                }
                None if used == 0 => break,
                None => continue,
            };
            let cost = EVENT_COST
                + match &incoming {
                    Incoming::Payload(bytes) => bytes.len(),
                    _ => 0,
                };
            let permits = u32::try_from(cost).unwrap_or(u32::MAX);
            let permit = match budget.clone().try_acquire_many_owned(permits) {
                Ok(permit) => permit,
                Err(_) => tokio::select! {
                    permit = budget.clone().acquire_many_owned(permits) => match permit {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                    () = tx.closed() => return,
                },
            };
            let queued = Queued {
                incoming,
                _permit: Some(permit),
            };
            if tx.send(queued).is_err() {
                return;
            }
        }
        buf.drain(..offset);
        // Read straight into the room after the undecoded bytes: at least READ_CHUNK (the
        // decoder leaves less than a frame header undecoded, so the buffer stays about that size).
        let before = buf.len();
        buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            read = reader.read_buf(&mut buf) => read,
            () = tx.closed() => return,
        };
        match read {
            Ok(0) => {
                recorder.note("TCP closed by the peer");
                let _ = tx.send(Incoming::Eof.into());
                return;
            }
            Ok(_) => recorder.bytes(Direction::Received, &buf[before..]),
            Err(err) => {
                recorder.note(format!("read failed: {err}"));
                let _ = tx.send(Incoming::Error(err.to_string()).into());
                return;
            }
        }
    }
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
        read_frames(rest, first.to_vec(), recorder.clone(), tx).await;
        let mut events = vec![];
        while let Some(event) = rx.recv().await {
            events.push(match event.incoming {
                Incoming::Header(h) => format!("header {}", h.payload_len),
                Incoming::Payload(p) => format!("payload {}", p.len()),
                Incoming::End => "end".into(),
                Incoming::Eof => "eof".into(),
                Incoming::Error(e) => e,
            });
        }
        // "hi" arrives split: one byte with the handshake's leftover, one after the first read.
        assert_eq!(
            events,
            [
                "header 2",
                "payload 1",
                "payload 1",
                "end",
                "header 10",
                "payload 10",
                "end",
                "eof"
            ]
        );
        assert!(recorder.snapshot().entries.len() >= 3);
    }

    #[tokio::test]
    async fn huge_declared_length_allocates_nothing_up_front() {
        // fin=1 op=2, 64-bit length 2^63-1, then 3 payload bytes and EOF
        let bytes = [
            0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3,
        ];
        let (tx, mut rx) = mpsc::unbounded_channel();
        read_frames(&bytes[..], vec![], Recorder::new(Instant::now()), tx).await;
        let mut events = vec![];
        while let Some(queued) = rx.recv().await {
            events.push(queued.incoming);
        }
        assert!(
            matches!(&events[..], [Incoming::Header(h), Incoming::Payload(p), Incoming::Eof]
                if h.payload_len == (1 << 63) - 1 && p == &[1, 2, 3])
        );
    }

    #[test]
    fn an_event_costs_at_least_its_size() {
        assert!(std::mem::size_of::<Queued>() <= EVENT_COST);
    }

    #[tokio::test]
    async fn a_flood_of_empty_frames_stops_at_the_budget() {
        // 0x80 0x80 0x80 0x80 0x80 0x80: a masked, empty continuation frame, forever.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_frames(
            tokio::io::repeat(0x80),
            vec![],
            Recorder::new(Instant::now()),
            tx,
        ));
        let full = READ_BUDGET / EVENT_COST;
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while rx.len() < full && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(rx.len(), full, "the reader stops when the budget is spent");
        // Taking one event frees its share: exactly one more comes.
        drop(rx.recv().await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(rx.len(), full);
        drop(rx);
        tokio::time::timeout(std::time::Duration::from_secs(5), reader)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn the_reader_stops_when_the_case_is_gone_even_if_the_peer_is_silent() {
        let (silent, _keep_open) = tokio::io::duplex(64);
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_frames(
            silent,
            vec![],
            Recorder::new(Instant::now()),
            tx,
        ));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!reader.is_finished());
        drop(rx);
        tokio::time::timeout(std::time::Duration::from_secs(5), reader)
            .await
            .unwrap()
            .unwrap();
    }
}
