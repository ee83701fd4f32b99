//! One WebSocket connection as the harness sees it: bytes out, frames in, everything recorded.
//!
//! The driver and the interpreter record into one bounded [`Recorder`]: bytes as they are written and
//! read, frames as they are sent and decoded, and notes. Nothing here judges. The transcript keeps a
//! bounded number of entries.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use wsspec_suite::results::{Data, Direction, Entry, EntryKind, Transcript, hex};
use wsspec_wire::FrameHeader;

/// How many of a case's first transcript entries are kept.
pub const TRANSCRIPT_HEAD: usize = 300;
/// How many of a case's last transcript entries are kept; the ones between are only counted.
pub const TRANSCRIPT_TAIL: usize = 100;
/// How many bytes of a payload or a write a transcript entry shows.
pub const PREVIEW_BYTES: usize = 64;

/// The case's transcript, shared by the reader and the writer. It keeps the beginning and the end of
/// a conversation, which is where the reasons for a verdict are, and counts what it leaves out between.
/// Entries are kept raw (fixed-size previews, no text) and written out only by [`Recorder::snapshot`],
/// so recording the 65,536 frames of a fragmented message costs no allocation per frame. The same
/// entry again right after the last one (the same frame, in the same direction) is counted on it, so a
/// flood keeps one entry and a count, not 400 copies.
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
    /// How many more times it happened right after.
    repeats: u64,
}

#[derive(Debug, PartialEq, Eq)]
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
pub(crate) struct Preview {
    bytes: [u8; PREVIEW_BYTES],
    len: u8,
}

// The length fits in a byte.
const _: () = assert!(PREVIEW_BYTES <= u8::MAX as usize);

impl Preview {
    pub(crate) const EMPTY: Preview = Preview {
        bytes: [0; PREVIEW_BYTES],
        len: 0,
    };

    fn of(bytes: &[u8]) -> Self {
        let mut preview = Preview::EMPTY;
        preview.extend(bytes);
        preview
    }

    /// Adds as many of `bytes` as there is room for.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        let at = usize::from(self.len);
        let take = bytes.len().min(PREVIEW_BYTES - at);
        self.bytes[at..at + take].copy_from_slice(&bytes[..take]);
        self.len += take as u8;
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl RawKind {
    /// Whether `next` is the same thing again: equal, except that a masked frame may have another key
    /// (a client flood masks each frame afresh; the first key is the one kept).
    fn repeats(&self, next: &RawKind) -> bool {
        match (self, next) {
            (
                RawKind::Frame {
                    fin,
                    rsv,
                    opcode,
                    mask: Some(_),
                    len,
                    preview,
                },
                RawKind::Frame {
                    fin: next_fin,
                    rsv: next_rsv,
                    opcode: next_opcode,
                    mask: Some(_),
                    len: next_len,
                    preview: next_preview,
                },
            ) => {
                (fin, rsv, opcode, len, preview)
                    == (next_fin, next_rsv, next_opcode, next_len, next_preview)
            }
            _ => self == next,
        }
    }
}

impl PartialEq for Preview {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Preview {}

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
            repeats: self.repeats,
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
        let last = match kept.tail.back_mut() {
            Some(last) => Some(last),
            None => kept.head.last_mut(),
        };
        if let Some(last) = last.filter(|last| last.dir == dir && last.kind.repeats(&kind)) {
            last.repeats += 1;
            return;
        }
        let raw = Raw {
            at_us,
            dir,
            kind,
            repeats: 0,
        };
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

    pub(crate) fn frame_with(&self, dir: Direction, header: &FrameHeader, preview: Preview) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_keeps_its_head_and_tail_and_counts_the_rest() {
        let recorder = Recorder::new(Instant::now());
        let total = TRANSCRIPT_HEAD + TRANSCRIPT_TAIL + 50;
        for i in 0..total {
            recorder.note(format!("entry {i}"));
        }
        let transcript = recorder.snapshot();
        assert_eq!(transcript.entries.len(), TRANSCRIPT_HEAD + TRANSCRIPT_TAIL);
        assert_eq!(transcript.dropped, 50);
    }

    #[test]
    fn the_same_entry_again_right_after_is_counted_not_kept() {
        let recorder = Recorder::new(Instant::now());
        let empty = wsspec_wire::FrameSpec::text("").header();
        recorder.frame(Direction::Received, &empty, b"");
        for _ in 0..10_000 {
            recorder.frame(Direction::Received, &empty, b"");
        }
        recorder.frame(Direction::Sent, &empty, b"");
        recorder.frame(Direction::Received, &empty, b"");
        let transcript = recorder.snapshot();
        let repeats: Vec<u64> = transcript.entries.iter().map(|e| e.repeats).collect();
        assert_eq!(repeats, [10_000, 0, 0]);
        assert_eq!(transcript.dropped, 0);
    }

    #[test]
    fn masked_frames_repeat_whatever_their_keys() {
        let recorder = Recorder::new(Instant::now());
        for key in 0..100u8 {
            let frame = wsspec_wire::FrameSpec::text("x").with_mask(Some([key, 1, 2, 3]));
            recorder.frame(Direction::Received, &frame.header(), b"x");
        }
        let transcript = recorder.snapshot();
        assert_eq!(transcript.entries.len(), 1);
        assert_eq!(transcript.entries[0].repeats, 99);
    }
}
