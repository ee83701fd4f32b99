//! A mutant's permessage-deflate, once agreed: its compressor and inflater, and the final-block
//! stream padded with 1 bits that [`crate::Defect::DeflatePadsWithOnes`] sends.

use wsspec_wire::deflate::{Compressor, Decompressor, Direction, InflateError};

use crate::MAX_MESSAGE_LEN;

/// The zlib level the mutants compress their echoes at.
const LEVEL: u32 = 1;

/// permessage-deflate, once agreed: the compressor of this end's messages and the inflater of the
/// peer's.
pub(super) struct Deflate {
    pub(super) compressor: Compressor,
    pub(super) decompressor: Decompressor,
    /// What this end's compression is bound by.
    pub(super) own: Direction,
}

impl Deflate {
    /// The codec for a session that compresses as `own` says and inflates as `peer` says.
    pub(super) fn new(own: Direction, peer: Direction) -> Self {
        Deflate {
            compressor: Compressor::new(own, LEVEL),
            decompressor: Decompressor::new(peer, MAX_MESSAGE_LEN),
            own,
        }
    }
}

/// `payload` compressed into a stream that ends with a final block, the padding bits after that
/// block set to 1: as many of the last byte's top bits as can be set without changing what the
/// stream inflates to.
pub(super) fn padded_with_ones(deflate: &mut Deflate, payload: &[u8]) -> Vec<u8> {
    let mut compressed = deflate.compressor.final_message(payload);
    let Some(&last) = compressed.last() else {
        return compressed;
    };
    let end = compressed.len() - 1;
    for padding in (1..8).rev() {
        compressed[end] = last | (0xffu8 << (8 - padding));
        if compressed[end] != last && inflates_to(&compressed, deflate.own, payload) {
            return compressed;
        }
    }
    compressed[end] = last;
    compressed
}

/// Whether `compressed`, on its own, inflates to `payload` (padding bits aside).
fn inflates_to(compressed: &[u8], direction: Direction, payload: &[u8]) -> bool {
    let mut decompressor = Decompressor::new(direction, MAX_MESSAGE_LEN);
    let mut out = Vec::new();
    let mut sink = |chunk: &[u8]| out.extend_from_slice(chunk);
    let result = decompressor
        .push(compressed, &mut sink)
        .and_then(|()| decompressor.finish(&mut sink));
    matches!(result, Ok(()) | Err(InflateError::NonZeroPadding)) && out == payload
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflate")
    }
}
