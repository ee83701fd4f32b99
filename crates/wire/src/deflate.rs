//! permessage-deflate (RFC 7692 §7): the extension's parameters and its per-message codec.
//!
//! **Parameters.** [`DeflateParams`] is one offer or one response element as read from a
//! `Sec-WebSocket-Extensions` field ([`DeflateParams::parse`] reports an unknown, repeated or malformed
//! parameter as a [`ParamError`], without deciding what that means for the handshake), and writes
//! itself back as a header value. [`Agreement`] is what an accepted response settles for each
//! direction: the sender's largest LZ77 window and whether it starts each message afresh.
//!
//! **Codec.** [`Compressor`] and [`Decompressor`] transform one message at a time, in chunks, so a
//! message is never held whole: the compressor appends the compressed payload to a buffer the caller
//! owns and strips the `00 00 ff ff` tail (§7.2.1); the decompressor appends the tail itself (§7.2.2)
//! and hands each inflated chunk to a callback, stopping at a size limit so that a small "zip bomb"
//! cannot make it produce gigabytes. Both run on flate2's zlib-rs backend, which lets the window size
//! be set.
//!
//! **Window bits 8.** RFC 7692 allows a window of 2^8 bytes, but zlib (and so flate2, on every backend)
//! refuses 8 for raw deflate streams (§7.1.2.1 mentions this limitation). Where 8 is agreed:
//! - the [`Compressor`] writes stored (uncompressed) DEFLATE blocks, which refer back to nothing and so
//!   suit any window; compressing with a 2^9 window instead could refer up to 512 bytes back, further
//!   than a peer that really keeps 256 bytes can follow;
//! - the [`Decompressor`] inflates with a 2^9 window, a superset that decodes every valid 2^8 stream;
//!   it only cannot tell a peer that refers 257 to 512 bytes back (beyond its agreed window) from one
//!   that keeps to 256.
//!
//! The decompressor's window is the agreed one, but zlib checks a back-reference only against what it
//! holds: the window plus what it has inflated into the current output chunk. So a reference past
//! the window is caught at the start of a message (the classic case: a sender that keeps its context
//! despite `no_context_takeover`), not always in the middle of a long one.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's token in `Sec-WebSocket-Extensions`.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The empty stored block that a sync flush ends with; RFC 7692 removes it from every compressed
/// message and the receiver appends it again.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest window: 2^15 bytes, what a peer may use when nothing limits it.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The smallest window the RFC allows.
pub const MIN_WINDOW_BITS: u8 = 8;

/// The parameters of one permessage-deflate offer or response element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// `server_no_context_takeover`: the server starts each message with an empty window.
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`: the client starts each message with an empty window (in an
    /// offer, the client's promise; in a response, the server's demand).
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits=N`: the server's window is at most 2^N bytes.
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits`: `Some(None)` without a value (only in an offer: the client accepts
    /// a limit in the response), `Some(Some(N))` with one.
    pub client_max_window_bits: Option<Option<u8>>,
}

/// What is wrong with a parameter list, so that no offer or response can be read from it (RFC 7692 §7).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A parameter that permessage-deflate does not define.
    #[error("unknown parameter `{0}`")]
    Unknown(String),
    /// A parameter given twice.
    #[error("parameter `{0}` appears twice")]
    Duplicate(String),
    /// A known parameter with a value it cannot take.
    #[error("`{}` is not a valid value for `{name}`", value.as_deref().map_or("no value".to_owned(), |v| format!("`{v}`")))]
    Invalid {
        /// The parameter.
        name: String,
        /// Its value as written (`None`: none given).
        value: Option<String>,
    },
}

impl DeflateParams {
    /// Reads parameters as a `Sec-WebSocket-Extensions` element lists them (names in any case,
    /// values already unquoted). `client_max_window_bits` may come without a value, which only an
    /// offer may do; the caller checks that for responses.
    pub fn parse(params: &[(String, Option<String>)]) -> Result<DeflateParams, ParamError> {
        let mut out = DeflateParams::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in params {
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                return Err(ParamError::Duplicate(name.clone()));
            }
            let invalid = || ParamError::Invalid {
                name: name.clone(),
                value: value.clone(),
            };
            match (lower.as_str(), value.as_deref()) {
                ("server_no_context_takeover", None) => out.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => out.client_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    out.server_max_window_bits = Some(window_bits(v).ok_or_else(invalid)?);
                }
                ("client_max_window_bits", None) => out.client_max_window_bits = Some(None),
                ("client_max_window_bits", Some(v)) => {
                    out.client_max_window_bits = Some(Some(window_bits(v).ok_or_else(invalid)?));
                }
                (
                    "server_no_context_takeover"
                    | "client_no_context_takeover"
                    | "server_max_window_bits",
                    _,
                ) => return Err(invalid()),
                _ => return Err(ParamError::Unknown(name.clone())),
            }
            seen.push(lower);
        }
        Ok(out)
    }
}

/// `permessage-deflate; client_no_context_takeover; client_max_window_bits; ...`: the element as a
/// `Sec-WebSocket-Extensions` value.
impl fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PERMESSAGE_DEFLATE)?;
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        match self.client_max_window_bits {
            Some(Some(bits)) => write!(f, "; client_max_window_bits={bits}")?,
            Some(None) => f.write_str("; client_max_window_bits")?,
            None => {}
        }
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={bits}")?;
        }
        Ok(())
    }
}

/// A window-bits value (RFC 7692 §7.1.2): a decimal number from 8 to 15, without a leading zero.
pub fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
        .contains(&bits)
        .then_some(bits)
}

/// How one side compresses what it sends, as the handshake settled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Direction {
    /// The largest window the sender may use, in bits (8 to 15).
    pub max_window_bits: u8,
    /// Whether the sender starts every message with an empty window (no context takeover).
    pub no_context_takeover: bool,
}

impl Default for Direction {
    /// What holds when nothing was said: a 2^15 window, kept from message to message.
    fn default() -> Self {
        Direction {
            max_window_bits: MAX_WINDOW_BITS,
            no_context_takeover: false,
        }
    }
}

/// What an accepted permessage-deflate response settles, for each sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Agreement {
    /// How the client compresses.
    pub client: Direction,
    /// How the server compresses.
    pub server: Direction,
}

impl Agreement {
    /// The agreement of `response`, which accepted `offer` (RFC 7692 §7.1). The client's window is
    /// what the response limits it to, or else what the offer promised; a `client_no_context_takeover`
    /// in the offer alone is only a hint, so it binds the client's own compressor, not this agreement.
    pub fn of(offer: &DeflateParams, response: &DeflateParams) -> Agreement {
        Agreement {
            client: Direction {
                max_window_bits: response
                    .client_max_window_bits
                    .flatten()
                    .or(offer.client_max_window_bits.flatten())
                    .unwrap_or(MAX_WINDOW_BITS),
                no_context_takeover: response.client_no_context_takeover,
            },
            server: Direction {
                max_window_bits: response.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
                no_context_takeover: response.server_no_context_takeover,
            },
        }
    }
}

/// Compresses messages for one direction (RFC 7692 §7.2.1).
pub struct Compressor {
    inner: Compress,
    no_context_takeover: bool,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for a sender bound by `direction`, at zlib `level` (0-9). With an agreed window
    /// of 2^8 it writes stored blocks only (see the module documentation).
    pub fn new(direction: Direction, level: u32) -> Compressor {
        let bits = direction.max_window_bits.clamp(9, MAX_WINDOW_BITS);
        let level = if direction.max_window_bits < 9 {
            Compression::none()
        } else {
            Compression::new(level.min(9))
        };
        Compressor {
            inner: Compress::new_with_window_bits(level, false, bits),
            no_context_takeover: direction.no_context_takeover,
        }
    }

    /// Compresses the next part of the current message, appending to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut rest = input;
        loop {
            out.reserve((rest.len() / 2).max(1024));
            let before = self.inner.total_in();
            // Compressing into a Vec with spare room cannot fail; a failure would end the loop.
            if self
                .inner
                .compress_vec(rest, out, FlushCompress::None)
                .is_err()
            {
                return;
            }
            let used = usize::try_from(self.inner.total_in() - before).unwrap_or(rest.len());
            rest = &rest[used.min(rest.len())..];
            if rest.is_empty() && out.len() < out.capacity() {
                return;
            }
        }
    }

    /// Ends the current message: flushes, and removes the `00 00 ff ff` tail (§7.2.1). Without context
    /// takeover the next message starts with an empty window.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        loop {
            out.reserve(64);
            if self
                .inner
                .compress_vec(&[], out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            if out.len() < out.capacity() {
                break;
            }
        }
        if out.len() >= start + TAIL.len() && out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.inner.reset();
        }
    }

    /// A whole message compressed into a stream that ends with a final block (BFINAL = 1), which RFC
    /// 7692 §7.2.3.4 allows: no tail is removed, and the next message starts a new stream.
    pub fn final_message(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.push(payload, &mut out);
        loop {
            out.reserve(64);
            match self
                .inner
                .compress_vec(&[], &mut out, FlushCompress::Finish)
            {
                Ok(Status::StreamEnd) | Err(_) => break,
                Ok(_) => {}
            }
        }
        self.inner.reset();
        out
    }

    /// A whole message compressed: the payload of its frames.
    pub fn message(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.push(payload, &mut out);
        self.finish(&mut out);
        out
    }
}

/// Why a compressed message could not be inflated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The bytes are not a valid DEFLATE stream, or refer back further than the window holds.
    #[error("the compressed data is not valid DEFLATE ({0})")]
    Corrupt(String),
    /// The message inflates to more than the limit.
    #[error("the compressed message inflates to more than {0} bytes")]
    TooLarge(u64),
    /// Within its first window of bytes, a message that had to start with an empty window (the
    /// sender agreed to `no_context_takeover`) refers back to bytes before its start: the sender kept
    /// its LZ77 window from an earlier message (§7.2.1).
    #[error(
        "the message refers back to an earlier message, though its sender agreed to no context takeover"
    )]
    KeptContext,
    /// Right at the start of a fragment, the data reads as the lengths of a stored block whose header
    /// ended the fragment before: the sender flushed the fragment and removed its 0x00 0x00 0xff 0xff,
    /// which RFC 7692 §7.2.1 allows only at the end of a message.
    #[error(
        "a non-final fragment ends with the header of an empty stored block whose lengths are missing: its sender removed 0x00 0x00 0xff 0xff from it"
    )]
    FragmentTailRemoved,
    /// The message ends with a final block (BFINAL = 1) whose last byte has padding bits set, where
    /// RFC 7692 §7.2.1 wants the minimal padding of 0 bits.
    #[error(
        "the final DEFLATE block (BFINAL = 1) is padded to the byte boundary with bits that are not 0"
    )]
    NonZeroPadding,
}

/// The most compressed bytes of a message kept to check the padding of a final block; a longer
/// message goes unchecked. Every message of sections 12 and 13 fits (128 KiB of the PDF compress to
/// about 100 KiB).
const PADDING_CHECK_INPUT: usize = 256 * 1024;

/// The most bytes a message kept for the padding check may inflate to; beyond, it goes unchecked.
const PADDING_CHECK_OUTPUT: usize = 1 << 20;

/// How many bytes the decompressor produces at a time.
const INFLATE_CHUNK: usize = 64 * 1024;

/// Decompresses the messages of one sender (RFC 7692 §7.2.2).
pub struct Decompressor {
    inner: Decompress,
    no_context_takeover: bool,
    /// The window size in bytes, 2^bits.
    window: u64,
    /// Whether a message has ended: only a later one can refer back to an earlier one.
    after_first: bool,
    scratch: Vec<u8>,
    produced: u64,
    limit: u64,
    ended: bool,
    /// The compressed bytes read when the current fragment began, and whether one came before it.
    fragment_start: Option<u64>,
    /// The current message's compressed bytes, while they fit [`PADDING_CHECK_INPUT`].
    kept: Option<Vec<u8>>,
    /// Where in `kept` the final block ended, once it has.
    final_end: Option<usize>,
    bits: u8,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor for a sender bound by `direction`; one message may inflate to at most `limit`
    /// bytes. Its window is the agreed one (2^9 where 2^8 was agreed); see the module documentation for
    /// which back-references beyond it zlib notices.
    pub fn new(direction: Direction, limit: u64) -> Decompressor {
        let bits = direction.max_window_bits.clamp(9, MAX_WINDOW_BITS);
        Decompressor {
            inner: Decompress::new_with_window_bits(false, bits),
            no_context_takeover: direction.no_context_takeover,
            window: 1 << bits,
            after_first: false,
            scratch: vec![0; INFLATE_CHUNK],
            produced: 0,
            limit,
            ended: false,
            fragment_start: None,
            kept: Some(Vec::new()),
            final_end: None,
            bits,
        }
    }

    /// A non-final fragment of the current message ended; the next bytes begin another.
    pub fn end_fragment(&mut self) {
        self.fragment_start = Some(self.inner.total_in());
    }

    /// Inflates the next part of the current message, handing the output to `sink` in chunks.
    pub fn push(&mut self, input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        let kept = self.kept.take().and_then(|mut kept| {
            (kept.len() + input.len() <= PADDING_CHECK_INPUT).then(|| {
                kept.extend_from_slice(input);
                kept
            })
        });
        let start = kept.as_ref().map_or(0, |kept| kept.len() - input.len());
        self.kept = kept;
        let ended_before = self.ended;
        let consumed = self.inner.total_in();
        self.inflate(input, FlushDecompress::None, sink)?;
        if self.ended && !ended_before {
            let used = usize::try_from(self.inner.total_in() - consumed).unwrap_or(input.len());
            self.final_end = Some(start + used);
        }
        Ok(())
    }

    /// Ends the current message: appends the tail the sender removed (§7.2.2) and inflates what is
    /// left. Without context takeover the next message starts with an empty window.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        let mut result = self.inflate(&TAIL, FlushDecompress::Sync, sink);
        if let (Ok(()), Some(kept), Some(end)) = (&result, &self.kept, self.final_end) {
            if nonzero_padding(&kept[..end], self.bits) {
                result = Err(InflateError::NonZeroPadding);
            }
        }
        self.kept = Some(Vec::new());
        self.final_end = None;
        self.produced = 0;
        self.fragment_start = None;
        self.after_first = true;
        if self.no_context_takeover || self.ended {
            // After a final block (BFINAL = 1) the stream is over; the next message starts a new one.
            self.inner.reset(false);
            self.ended = false;
        }
        result
    }

    /// What a zlib error means: a reference too far back into a window that had to be empty is the
    /// sender's kept context; anything else is corrupt data. zlib-rs reports a reference too far back
    /// found on its fast path as "repeated call with bad state" (the state it set on finding it); as
    /// no call follows an error here, that message too means the data just read was bad.
    fn error(&self, err: &flate2::DecompressError) -> InflateError {
        let too_far_back = err.message().is_some_and(|message| {
            message.contains("too far back") || message.contains("repeated call with bad state")
        });
        // The four length bytes of a stored block are the first thing read of a fragment.
        let lengths_at_fragment_start = self
            .fragment_start
            .is_some_and(|start| self.inner.total_in() - start <= 4);
        if lengths_at_fragment_start
            && err
                .message()
                .is_some_and(|message| message.contains("invalid stored block lengths"))
        {
            return InflateError::FragmentTailRemoved;
        }
        if too_far_back
            && self.no_context_takeover
            && self.after_first
            && self.produced < self.window
        {
            InflateError::KeptContext
        } else {
            InflateError::Corrupt(err.to_string())
        }
    }

    fn inflate(
        &mut self,
        input: &[u8],
        flush: FlushDecompress,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), InflateError> {
        let mut rest = input;
        loop {
            if self.ended {
                // What follows a final block is not part of the stream (§7.2.3.4 ends a message so).
                return Ok(());
            }
            let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
            let status = self
                .inner
                .decompress(rest, &mut self.scratch, flush)
                .map_err(|err| self.error(&err))?;
            let used = usize::try_from(self.inner.total_in() - in_before).unwrap_or(rest.len());
            let made = usize::try_from(self.inner.total_out() - out_before).unwrap_or(0);
            rest = &rest[used.min(rest.len())..];
            self.produced += made as u64;
            if self.produced > self.limit {
                return Err(InflateError::TooLarge(self.limit));
            }
            if made > 0 {
                sink(&self.scratch[..made.min(self.scratch.len())]);
            }
            if status == Status::StreamEnd {
                self.ended = true;
            }
            let full = made == self.scratch.len();
            if (rest.is_empty() && !full) || (used == 0 && made == 0) {
                return Ok(());
            }
        }
    }
}

/// Whether `message`, which ends where its final block ends, has padding bits set in its last byte.
/// Which bits of that byte are padding is found by clearing them: bits the decoder never reads change
/// nothing, while clearing any bit of the last code changes what it decodes to. A message that does
/// not inflate on its own (it refers back into an earlier one) goes unchecked.
fn nonzero_padding(message: &[u8], bits: u8) -> bool {
    let Some((&last, body)) = message.split_last() else {
        return false;
    };
    let inflated = |last: u8| {
        let mut inner = Decompress::new_with_window_bits(false, bits);
        let mut input = body.to_vec();
        input.push(last);
        let mut out = Vec::with_capacity(PADDING_CHECK_OUTPUT.min(64 * 1024));
        loop {
            if out.len() == out.capacity() {
                if out.len() >= PADDING_CHECK_OUTPUT {
                    return None;
                }
                out.reserve(out.len());
            }
            let at = usize::try_from(inner.total_in()).ok()?;
            let rest = input.get(at..)?;
            match inner.decompress_vec(rest, &mut out, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) => return Some((out, inner.total_in())),
                Ok(_) if out.len() < out.capacity() => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    };
    let Some(original) = inflated(last) else {
        return false;
    };
    (1..8).any(|used| {
        let cleared = last & (0xff >> (8 - used));
        cleared != last && inflated(cleared).as_ref() == Some(&original)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    fn inflate(d: &mut Decompressor, payload: &[u8]) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        d.push(payload, &mut |chunk| out.extend_from_slice(chunk))?;
        d.finish(&mut |chunk| out.extend_from_slice(chunk))?;
        Ok(out)
    }

    #[test]
    fn parameters_parse_and_print() {
        let offer = DeflateParams::parse(&params(&[
            ("client_no_context_takeover", None),
            ("Client_Max_Window_Bits", None),
            ("server_max_window_bits", Some("10")),
        ]))
        .unwrap();
        assert_eq!(
            offer.to_string(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=10"
        );
        for (list, error) in [
            (params(&[("x", None)]), ParamError::Unknown("x".into())),
            (
                params(&[
                    ("server_no_context_takeover", None),
                    ("SERVER_NO_CONTEXT_TAKEOVER", None),
                ]),
                ParamError::Duplicate("SERVER_NO_CONTEXT_TAKEOVER".into()),
            ),
            (
                params(&[("server_max_window_bits", None)]),
                ParamError::Invalid {
                    name: "server_max_window_bits".into(),
                    value: None,
                },
            ),
            (
                params(&[("client_no_context_takeover", Some("1"))]),
                ParamError::Invalid {
                    name: "client_no_context_takeover".into(),
                    value: Some("1".into()),
                },
            ),
        ] {
            assert_eq!(DeflateParams::parse(&list), Err(error));
        }
        for bad in ["7", "16", "08", "+9", "9a", ""] {
            assert_eq!(window_bits(bad), None, "{bad}");
        }
        assert_eq!(window_bits("8"), Some(8));
    }

    #[test]
    fn the_agreement_follows_the_response_and_the_offer() {
        let offer = DeflateParams {
            client_no_context_takeover: true,
            client_max_window_bits: Some(Some(11)),
            ..DeflateParams::default()
        };
        let response = DeflateParams {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            ..DeflateParams::default()
        };
        let agreed = Agreement::of(&offer, &response);
        assert_eq!(
            agreed.client,
            Direction {
                max_window_bits: 11,
                no_context_takeover: false
            }
        );
        assert_eq!(
            agreed.server,
            Direction {
                max_window_bits: 10,
                no_context_takeover: true
            }
        );
    }

    #[test]
    fn messages_round_trip_with_and_without_context() {
        let text = b"Hello, permessage-deflate! Hello, permessage-deflate! ".repeat(50);
        for bits in 8..=15 {
            for no_context_takeover in [false, true] {
                let direction = Direction {
                    max_window_bits: bits,
                    no_context_takeover,
                };
                let mut c = Compressor::new(direction, 6);
                let mut d = Decompressor::new(direction, 1 << 20);
                for _ in 0..3 {
                    let payload = c.message(&text);
                    assert!(!payload.ends_with(&TAIL));
                    assert_eq!(
                        inflate(&mut d, &payload).unwrap(),
                        text,
                        "{bits} {no_context_takeover}"
                    );
                }
            }
        }
        // The empty message is the single byte 00 (§7.2.3.6), and an empty payload inflates too.
        let mut c = Compressor::new(Direction::default(), 6);
        assert_eq!(c.message(b""), [0x00]);
        let mut d = Decompressor::new(Direction::default(), 10);
        assert_eq!(inflate(&mut d, &[]).unwrap(), b"");
    }

    #[test]
    fn a_fragment_stripped_of_its_tail_is_named() {
        let text = b"fragmented and compressed, fragmented and compressed".as_slice();
        let (first, second) = text.split_at(20);
        let inflated = |fragments: &[Vec<u8>]| {
            let mut d = Decompressor::new(Direction::default(), 1 << 10);
            let mut out = Vec::new();
            for (at, fragment) in fragments.iter().enumerate() {
                if at > 0 {
                    d.end_fragment();
                }
                d.push(fragment, &mut |chunk| out.extend_from_slice(chunk))?;
            }
            d.finish(&mut |chunk| out.extend_from_slice(chunk))?;
            Ok::<_, InflateError>(out)
        };
        // One compressed message cut anywhere is fine.
        let whole = Compressor::new(Direction::default(), 6).message(text);
        let (a, b) = whole.split_at(whole.len() / 2);
        assert_eq!(inflated(&[a.to_vec(), b.to_vec()]).unwrap(), text);
        // Each half flushed and stripped as if it ended the message is not.
        let mut c = Compressor::new(Direction::default(), 6);
        let stripped = [c.message(first), c.message(second)];
        assert_eq!(inflated(&stripped), Err(InflateError::FragmentTailRemoved));
    }

    #[test]
    fn a_final_block_must_be_padded_with_zero_bits() {
        let text = b"Hello, padding".as_slice();
        let mut c = Compressor::new(Direction::default(), 6);
        let clean = c.final_message(text);
        let mut d = Decompressor::new(Direction::default(), 1 << 10);
        assert_eq!(inflate(&mut d, &clean).unwrap(), text);
        // Setting the top bits of the last byte: the first setting that inflates alike sets padding.
        let last = *clean.last().unwrap();
        let padded = (1..8).rev().find_map(|padding| {
            let mut padded = clean.clone();
            *padded.last_mut().unwrap() = last | (0xffu8 << (8 - padding));
            let mut d = Decompressor::new(Direction::default(), 1 << 10);
            let mut out = Vec::new();
            d.push(&padded, &mut |chunk| out.extend_from_slice(chunk))
                .ok()?;
            let ended = d.finish(&mut |chunk| out.extend_from_slice(chunk));
            (out == text && padded != clean).then_some(ended)
        });
        assert_eq!(padded, Some(Err(InflateError::NonZeroPadding)));
    }

    #[test]
    fn the_rfc_examples_inflate() {
        // §7.2.3.1 "Hello" in one block, §7.2.3.3 in a stored block, §7.2.3.4 with BFINAL = 1.
        let mut d = Decompressor::new(Direction::default(), 100);
        for payload in [
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00][..],
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ][..],
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00][..],
        ] {
            assert_eq!(inflate(&mut d, payload).unwrap(), b"Hello");
        }
        // §7.2.3.2: the second "Hello" refers back into the first message.
        let mut d = Decompressor::new(Direction::default(), 100);
        assert_eq!(
            inflate(&mut d, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            b"Hello"
        );
        assert_eq!(
            inflate(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
            b"Hello"
        );
        // Without context takeover, the same reference has nothing to refer to: the sender kept its
        // context. In a first message it is merely corrupt.
        let fresh = Direction {
            no_context_takeover: true,
            ..Direction::default()
        };
        let mut d = Decompressor::new(fresh, 100);
        inflate(&mut d, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap();
        assert_eq!(
            inflate(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            Err(InflateError::KeptContext)
        );
        let mut d = Decompressor::new(fresh, 100);
        assert!(matches!(
            inflate(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            Err(InflateError::Corrupt(_))
        ));
    }

    #[test]
    fn a_long_message_that_refers_back_to_the_last_one_is_kept_context() {
        // Long enough that zlib inflates it on its fast path, which words the error differently.
        let text = b"[{\"id\": 0, \"isActive\": true, \"name\": \"wsspec\"}]".repeat(200);
        let mut sender = Compressor::new(Direction::default(), 6);
        let fresh = Direction {
            no_context_takeover: true,
            ..Direction::default()
        };
        let mut d = Decompressor::new(fresh, 1 << 20);
        assert_eq!(
            inflate(&mut d, &sender.message(&text[..4096])).unwrap(),
            &text[..4096]
        );
        assert_eq!(
            inflate(&mut d, &sender.message(&text[4096..8192])),
            Err(InflateError::KeptContext)
        );
    }

    #[test]
    fn bombs_and_garbage_are_errors() {
        let mut c = Compressor::new(Direction::default(), 9);
        let bomb = c.message(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 2048);
        let mut d = Decompressor::new(Direction::default(), 100_000);
        assert_eq!(inflate(&mut d, &bomb), Err(InflateError::TooLarge(100_000)));
        let mut d = Decompressor::new(Direction::default(), 100);
        assert!(matches!(
            inflate(&mut d, &[0xff, 0xff, 0xff]),
            Err(InflateError::Corrupt(_))
        ));
    }
}
