//! Message bodies as the harness keeps them: a length, a 128-bit XXH3 digest and the first bytes.
//!
//! A 16 MiB echo is compared by digest as it streams in, so the harness never holds a second copy of a
//! large message. XXH3 rather than a cryptographic hash: it runs at memory speed, so the harness stays
//! far cheaper than the peer it measures, and an accidental collision over 128 bits is not a concern. Payloads the harness sends are generated from their pattern in blocks, both to write
//! them and to digest them, so a large message is never held whole either.

use std::borrow::Cow;

use wsspec_suite::case::Payload;
use xxhash_rust::xxh3::Xxh3;

/// How many leading bytes of a message are kept (a message this short is kept whole).
pub const KEPT_BYTES: usize = 64 * 1024;

/// The size of the blocks payloads are generated in.
pub const BLOCK: usize = 64 * 1024;

/// A message body: enough to compare it and to show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// The length in bytes.
    pub len: u64,
    /// XXH3-128 of all the bytes.
    pub digest: u128,
    /// The first [`KEPT_BYTES`] bytes.
    pub head: Vec<u8>,
}

impl Body {
    /// The body of some bytes.
    pub fn of(bytes: &[u8]) -> Body {
        let mut builder = BodyBuilder::default();
        builder.push(bytes);
        builder.finish()
    }

    /// The body of a payload, generated block by block (`limit`: the target's declared message limit).
    pub fn of_payload(payload: &Payload, limit: Option<u64>) -> Body {
        let source = Source::of(payload, limit);
        let mut builder = BodyBuilder::default();
        source.for_each_block(|block| builder.push(block));
        builder.finish()
    }

    /// Whether `head` holds the whole message.
    pub fn is_whole(&self) -> bool {
        self.head.len() as u64 == self.len
    }
}

/// Builds a [`Body`] from chunks.
#[derive(Clone, Default)]
pub struct BodyBuilder {
    len: u64,
    hasher: Xxh3,
    head: Vec<u8>,
}

impl std::fmt::Debug for BodyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyBuilder")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl BodyBuilder {
    /// Adds bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        self.hasher.update(bytes);
        let room = KEPT_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The body so far.
    pub fn finish(self) -> Body {
        Body {
            len: self.len,
            digest: self.hasher.digest128(),
            head: self.head,
        }
    }
}

/// A payload as the harness generates it: `len` bytes of a repeated `pattern`, from position `start`
/// of the repetition. Text and bytes are a pattern used once; a corpus is its file, borrowed, and the
/// case's cursor into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The pattern, repeated.
    pub pattern: Cow<'static, [u8]>,
    /// Where in the repetition the payload starts.
    pub start: u64,
    /// The payload's length.
    pub len: u64,
}

impl Source {
    /// The source of a payload, from its start. A payload over the limit is `limit + extra` bytes
    /// long (cases that need a limit only run when one is declared); a [`Payload::Deflated`] payload
    /// is its uncompressed bytes (the executor compresses it).
    pub fn of(payload: &Payload, limit: Option<u64>) -> Source {
        let (pattern, len) = match payload {
            Payload::Text(text) => (Cow::Owned(text.as_bytes().to_vec()), text.len() as u64),
            Payload::Bytes(bytes) => (Cow::Owned(bytes.clone()), bytes.len() as u64),
            Payload::Repeat { pattern, count } => (Cow::Owned(pattern.clone()), *count),
            Payload::OverLimit { pattern, extra } => (
                Cow::Owned(pattern.clone()),
                limit.unwrap_or(0).saturating_add(*extra),
            ),
            Payload::Corpus { corpus, count } => (Cow::Borrowed(corpus.bytes()), *count),
            Payload::Deflated(inner) => return Source::of(inner, limit),
        };
        Source {
            pattern,
            start: 0,
            len,
        }
    }

    /// Calls `f` with the payload in consecutive blocks of at most [`BLOCK`] bytes.
    pub fn for_each_block(&self, f: impl FnMut(&[u8])) {
        for_each_block(&self.pattern, self.start, self.len, f);
    }

    /// Fills `out` with the first bytes of the payload (as many as fit) and returns them.
    pub fn preview<'b>(&self, out: &'b mut [u8]) -> &'b [u8] {
        let n = usize::try_from(self.len)
            .unwrap_or(usize::MAX)
            .min(out.len());
        fill(&self.pattern, self.start, &mut out[..n]);
        &out[..n]
    }
}

/// Fills `out` with the pattern's bytes starting at position `start` of the repeated pattern.
pub fn fill(pattern: &[u8], start: u64, out: &mut [u8]) {
    if pattern.is_empty() {
        out.fill(0);
        return;
    }
    if pattern.len() >= 4096 {
        // A long pattern (a corpus): copy runs of it directly, wrapping at its end.
        let mut at = (start % pattern.len() as u64) as usize;
        let mut written = 0;
        while written < out.len() {
            let take = (pattern.len() - at).min(out.len() - written);
            out[written..written + take].copy_from_slice(&pattern[at..at + take]);
            written += take;
            at = (at + take) % pattern.len();
        }
        return;
    }
    // Write one period of the pattern, then double what is written: every copy starts at a multiple
    // of the period, so it continues the repetition. No allocation, and few, long copies.
    let period = pattern.len().min(out.len());
    let phase = (start % pattern.len() as u64) as usize;
    for (i, byte) in out[..period].iter_mut().enumerate() {
        *byte = pattern[(phase + i) % pattern.len()];
    }
    let mut written = period;
    while written < out.len() {
        let take = written.min(out.len() - written);
        out.copy_within(..take, written);
        written += take;
    }
}

/// Calls `f` with consecutive blocks of `len` bytes of the pattern, starting at `start`.
pub fn for_each_block(pattern: &[u8], start: u64, len: u64, mut f: impl FnMut(&[u8])) {
    let mut block = vec![0u8; BLOCK.min(usize::try_from(len).unwrap_or(BLOCK))];
    let mut done = 0u64;
    while done < len {
        let n = usize::try_from(len - done).unwrap_or(BLOCK).min(BLOCK);
        fill(pattern, start + done, &mut block[..n]);
        f(&block[..n]);
        done += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_payloads_match_their_bytes() {
        let payload = Payload::Repeat {
            pattern: b"abc".to_vec(),
            count: 200_000,
        };
        let bytes = payload.to_bytes();
        assert_eq!(Body::of_payload(&payload, None), Body::of(&bytes));
        let over = Payload::OverLimit {
            pattern: b"x".to_vec(),
            extra: 1,
        };
        assert_eq!(Body::of_payload(&over, Some(10)).len, 11);
        let mut out = [0u8; 5];
        fill(b"abc", 4, &mut out);
        assert_eq!(&out, b"bcabc");
        let corpus: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut wrapped = vec![0u8; 6000];
        fill(&corpus, 4000, &mut wrapped);
        assert!(
            wrapped
                .iter()
                .enumerate()
                .all(|(i, b)| *b == corpus[(4000 + i) % 5000])
        );
        let mut long = vec![0u8; 10_000];
        fill(b"xyz", 2, &mut long);
        assert!(
            long.iter()
                .enumerate()
                .all(|(i, b)| *b == b"xyz"[(i + 2) % 3])
        );
        let body = Body::of(&bytes);
        assert_eq!(
            (body.len, body.head.len(), body.is_whole()),
            (200_000, KEPT_BYTES, false)
        );
        assert!(Body::of(b"hi").is_whole());
    }
}
