//! Payloads as a case file writes them: text, bytes, patterns, corpus slices and compressed ones.

use std::fmt;

use crate::corpus::Corpus;

/// A payload source, as written in a case file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// UTF-8 text, written as a plain string.
    Text(String),
    /// Raw bytes, written as `{ hex = "ce ba" }` (spaces allowed).
    Bytes(Vec<u8>),
    /// A pattern repeated up to exactly `count` bytes: `{ repeat = "*", count = 125 }`.
    Repeat {
        /// The pattern.
        pattern: Vec<u8>,
        /// The total length in bytes.
        count: u64,
    },
    /// A pattern repeated to `extra` bytes more than the target's declared message limit
    /// (`--max-message-size`): `{ repeat = "*", count_over_limit = 1 }`. A case with such a payload
    /// runs only when a limit is declared.
    OverLimit {
        /// The pattern.
        pattern: Vec<u8>,
        /// How many bytes over the limit.
        extra: u64,
    },
    /// The next `count` bytes of a generated file, continuing where the case's previous slice
    /// ended (wrapping around at its end): `{ corpus = "json", count = 16 }`.
    Corpus {
        /// The file.
        corpus: Corpus,
        /// How many bytes.
        count: u64,
    },
    /// A payload compressed as a permessage-deflate message (RFC 7692 §7.2.1), for frames a case
    /// builds by hand: `{ deflate = "Hello" }`. Its length and bytes here are the uncompressed ones.
    Deflated(Box<Payload>),
}

impl Payload {
    /// The payload's length in bytes (for [`Payload::OverLimit`], only the bytes over the limit).
    pub fn len(&self) -> u64 {
        match self {
            Payload::Text(text) => text.len() as u64,
            Payload::Bytes(bytes) => bytes.len() as u64,
            Payload::Repeat { count, .. } => *count,
            Payload::OverLimit { extra, .. } => *extra,
            Payload::Corpus { count, .. } => *count,
            Payload::Deflated(inner) => inner.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload's bytes (for a corpus, from its start; for [`Payload::Deflated`], before
    /// compression).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Payload::Corpus { corpus, count } => corpus
                .bytes()
                .iter()
                .copied()
                .cycle()
                .take(*count as usize)
                .collect(),
            Payload::Deflated(inner) => inner.to_bytes(),
            Payload::Text(text) => text.as_bytes().to_vec(),
            Payload::Bytes(bytes) => bytes.clone(),
            Payload::Repeat { pattern, count }
            | Payload::OverLimit {
                pattern,
                extra: count,
            } => pattern
                .iter()
                .copied()
                .cycle()
                .take(*count as usize)
                .collect(),
        }
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Bytes(Vec::new())
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Text(text) if text.len() <= 40 => write!(f, "{text:?}"),
            Payload::Text(text) => write!(f, "{} bytes of text", text.len()),
            Payload::Bytes(bytes) if bytes.len() <= 16 => {
                f.write_str("0x")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Payload::Bytes(bytes) => write!(f, "{} bytes", bytes.len()),
            Payload::Repeat { count, .. } => write!(f, "{count} bytes"),
            Payload::OverLimit { extra, .. } => write!(f, "{extra} bytes over the declared limit"),
            Payload::Corpus { corpus, count } => write!(f, "the next {count} bytes of {corpus}"),
            Payload::Deflated(inner) => write!(f, "{inner}, compressed"),
        }
    }
}
