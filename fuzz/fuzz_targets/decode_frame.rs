//! Fuzz target `decode_frame`: the incremental [`FrameDecoder`] over arbitrary bytes.
//!
//! Input layout: the first two bytes are a big-endian number that picks the split point (modulo
//! the length of the rest plus one); the rest is the wire. The wire is decoded three ways, as a
//! socket might deliver it: all at once, in the two pieces either side of the split point, and one
//! byte at a time. Checked:
//!
//! - nothing panics, every call consumes no more than it was offered, `(n, None)` only with
//!   `n == 0`, and events come in the order `Header (Payload)* End`, with payload chunks that add
//!   up to the declared length;
//! - round trip: each decoded frame, its header re-encoded from its own fields
//!   ([`FrameHeader::encode_into`]) and its payload re-masked with its own key ([`apply_mask`]),
//!   reproduces exactly the bytes the decoder consumed, and the header takes
//!   [`FrameHeader::encoded_len`] bytes;
//! - what is left unconsumed is really incomplete: a header that [`decode_header`] cannot finish,
//!   or nothing at all inside a frame that still expects payload;
//! - the three deliveries give the same frames and consume the same number of bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wsspec_wire::{
    DecodeEvent, FrameDecoder, FrameHeader, HeaderDecode, apply_mask, decode_header,
};

/// One frame as decoded: its header, its (unmasked) payload so far, and whether `End` was seen.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    header: FrameHeader,
    payload: Vec<u8>,
    ended: bool,
}

/// Everything one delivery produced.
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    frames: Vec<Frame>,
    /// Bytes of the wire consumed.
    consumed: usize,
    /// `FrameDecoder::in_frame` and `remaining` after the last call.
    in_frame: bool,
    remaining: u64,
}

/// Decodes `wire` as delivered in pieces ending at each of `ends` (increasing, the last one
/// `wire.len()`): after each piece arrives, the decoder is called until it asks for more.
fn decode(wire: &[u8], ends: impl IntoIterator<Item = usize>) -> Decoded {
    let mut dec = FrameDecoder::new();
    // The receive buffer: a copy of what has arrived, unmasked in place by the decoder.
    let mut buf: Vec<u8> = Vec::with_capacity(wire.len());
    let mut pos = 0;
    let mut frames: Vec<Frame> = Vec::new();
    // Each Header consumes at least two bytes and each Payload at least one; each End follows a
    // Header. So a decoder that makes progress yields at most this many events.
    let mut budget = 3 * wire.len() + 3;
    for end in ends {
        buf.extend_from_slice(&wire[buf.len()..end]);
        loop {
            let offered = buf.len() - pos;
            let (used, event) = dec.decode(&mut buf[pos..]);
            assert!(used <= offered, "consumed {used} of {offered} bytes");
            let Some(event) = event else {
                assert_eq!(used, 0, "no event, yet {used} bytes consumed");
                break;
            };
            budget = budget.checked_sub(1).expect("decoder makes no progress");
            match event {
                DecodeEvent::Header(header) => {
                    if let Some(last) = frames.last() {
                        assert!(last.ended, "Header before the previous frame's End");
                    }
                    assert_eq!(used, header.encoded_len(), "header length for {header:?}");
                    assert!(dec.in_frame());
                    assert_eq!(dec.remaining(), header.payload_len);
                    frames.push(Frame {
                        header,
                        payload: Vec::new(),
                        ended: false,
                    });
                }
                DecodeEvent::Payload(chunk) => {
                    assert_eq!(used, chunk.len());
                    assert!(!chunk.is_empty(), "empty payload chunk");
                    let frame = frames.last_mut().expect("Payload before any Header");
                    assert!(!frame.ended, "Payload after End");
                    frame.payload.extend_from_slice(chunk);
                    assert!(frame.payload.len() as u64 <= frame.header.payload_len);
                    assert_eq!(
                        dec.remaining(),
                        frame.header.payload_len - frame.payload.len() as u64
                    );
                }
                DecodeEvent::End => {
                    assert_eq!(used, 0, "End consumed bytes");
                    let frame = frames.last_mut().expect("End before any Header");
                    assert!(!frame.ended, "End twice");
                    assert_eq!(frame.payload.len() as u64, frame.header.payload_len);
                    frame.ended = true;
                    assert!(!dec.in_frame());
                }
            }
            pos += used;
        }
    }
    Decoded {
        frames,
        consumed: pos,
        in_frame: dec.in_frame(),
        remaining: dec.remaining(),
    }
}

/// Re-encodes the decoded frames from their own fields and checks they give back exactly the
/// consumed bytes, and that what is left could not have been decoded further.
fn check_round_trip(wire: &[u8], decoded: &Decoded) {
    let mut again = Vec::with_capacity(decoded.consumed);
    for frame in &decoded.frames {
        frame.header.encode_into(&mut again);
        let start = again.len();
        again.extend_from_slice(&frame.payload);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut again[start..], key, 0);
        }
    }
    assert!(
        again == wire[..decoded.consumed],
        "round trip differs:\n  wire:     {:02x?}\n  re-encoded: {:02x?}",
        &wire[..decoded.consumed],
        again
    );

    let rest = &wire[decoded.consumed..];
    match decoded.frames.last() {
        Some(frame) if !frame.ended => {
            assert!(decoded.in_frame);
            assert!(
                rest.is_empty(),
                "stopped inside a frame with {} bytes left",
                rest.len()
            );
            assert_eq!(
                decoded.remaining,
                frame.header.payload_len - frame.payload.len() as u64
            );
            // A frame with payload still owed: zero-length frames end without more input.
            assert!(decoded.remaining > 0);
        }
        _ => {
            assert!(!decoded.in_frame);
            match decode_header(rest) {
                HeaderDecode::Incomplete { needed } => {
                    assert!(needed > rest.len(), "needs {needed}, has {}", rest.len());
                    assert!((2..=wsspec_wire::MAX_HEADER_LEN).contains(&needed));
                }
                HeaderDecode::Complete { .. } => {
                    panic!("stopped before a complete header: {rest:02x?}")
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[hi, lo], wire)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_be_bytes([hi, lo])) % (wire.len() + 1);

    let whole = decode(wire, [wire.len()]);
    check_round_trip(wire, &whole);

    let halves = decode(wire, [split, wire.len()]);
    check_round_trip(wire, &halves);
    assert_eq!(halves, whole, "split at {split} differs from all at once");

    let bytewise = decode(wire, 1..=wire.len());
    assert_eq!(bytewise, whole, "byte at a time differs from all at once");
});
