//! Fuzz target `deflate`: the permessage-deflate codec of [`wsspec_wire::deflate`].
//!
//! The input is decoded with `arbitrary` into the settled parameters (window bits 8 to 15, context
//! takeover or not), a few messages, the cut points at which their compressed bytes are fed to the
//! decompressor, and raw bytes that claim to be a compressed message. Checked:
//!
//! - round trip: every message, compressed by a [`Compressor`] and fed in pieces to a
//!   [`Decompressor`] with the same parameters, inflates to exactly itself, message after message
//!   (so the context kept, or reset, on both sides agrees);
//! - arbitrary bytes inflated by a fresh [`Decompressor`] never panic, and never produce more than
//!   its limit before it says so.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsspec_wire::deflate::{Compressor, Decompressor, Direction};

/// The most a message may inflate to here; small, so that a run stays fast.
const LIMIT: u64 = 1 << 20;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    window_bits: u8,
    no_context_takeover: bool,
    level: u8,
    messages: Vec<&'a [u8]>,
    cuts: Vec<u16>,
    raw: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let direction = Direction {
        max_window_bits: 8 + input.window_bits % 8,
        no_context_takeover: input.no_context_takeover,
    };
    let mut compressor = Compressor::new(direction, u32::from(input.level % 10));
    let mut decompressor = Decompressor::new(direction, LIMIT);
    let mut cuts = input.cuts.iter().cycle();
    for message in input.messages.iter().take(8) {
        let compressed = compressor.message(message);
        let mut inflated = Vec::new();
        let mut rest = compressed.as_slice();
        while !rest.is_empty() {
            let cut = cuts.next().map_or(rest.len(), |cut| usize::from(*cut) % (rest.len() + 1));
            let (piece, tail) = rest.split_at(cut.max(1).min(rest.len()));
            decompressor
                .push(piece, &mut |out| inflated.extend_from_slice(out))
                .expect("our own compressed bytes inflate");
            rest = tail;
        }
        decompressor
            .finish(&mut |out| inflated.extend_from_slice(out))
            .expect("our own compressed message ends cleanly");
        assert_eq!(inflated.as_slice(), *message, "round trip with {direction:?}");
    }

    let mut any = Decompressor::new(direction, LIMIT);
    let mut produced = 0u64;
    let mut count = |out: &[u8]| produced += out.len() as u64;
    let _ = any.push(input.raw, &mut count).and_then(|()| any.finish(&mut count));
    assert!(produced <= LIMIT + (64 << 10), "{produced} bytes past a limit of {LIMIT}");
});
