//! Fuzz target `utf8_stream`: [`Utf8Validator`] fed arbitrary bytes in arbitrary chunks, against
//! `std::str::from_utf8`.
//!
//! The input is decoded with `arbitrary` into a list of cut points and the bytes to validate; the
//! bytes are fed in the pieces between the cuts. Checked:
//!
//! - nothing panics; validity (every feed `Ok` and `finish` `Ok`) agrees with std, and with
//!   [`is_valid_utf8`] on the whole buffer;
//! - the error is the same whatever the chunking, is reported by the feed holding the offending
//!   byte (fail fast), and is sticky (later feeds and `finish` repeat it);
//! - the error offset is where std says: when std's error is not "incomplete at end"
//!   (`error_len()` is `Some(n)`), it is `valid_up_to()` if the byte there can never start a code
//!   point, and otherwise `valid_up_to() + n`, the first continuation byte that does not fit (the
//!   validator points at the byte that breaks the stream, std at the start of the broken
//!   sequence); when std says the input ends inside a code point, it is the input's length;
//! - between feeds, `is_complete` says whether the bytes so far are valid UTF-8.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsspec_wire::{Utf8Error, Utf8Validator, is_valid_utf8};

/// Most cut points used; enough for any interesting chunking, and keeps a run linear-ish.
const MAX_CUTS: usize = 64;

/// The fuzzer's input as `arbitrary` reads it: while the next byte is odd, a little-endian `u16`
/// cut follows; the first even byte ends the list, and every byte after it is to be validated.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Where to cut the bytes into chunks (taken modulo the length plus one; order and repeats do
    /// not matter, and an empty chunk is a valid feed).
    cuts: Vec<u16>,
    /// The bytes to validate: the rest of the input, as is.
    bytes: &'a [u8],
}

/// Whether `byte` can start a code point in well-formed UTF-8.
fn can_start(byte: u8) -> bool {
    matches!(byte, 0x00..=0x7f | 0xc2..=0xf4)
}

/// Feeds `bytes` in the pieces between `ends` and finishes; checks fail-fast, stickiness and
/// `is_complete` along the way.
fn validate(bytes: &[u8], ends: &[usize]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    let mut start = 0;
    let mut first_error = None;
    for &end in ends {
        let piece = &bytes[start..end];
        match (v.feed(piece), first_error) {
            (Ok(()), None) => {
                assert_eq!(
                    v.is_complete(),
                    std::str::from_utf8(&bytes[..end]).is_ok(),
                    "is_complete after {end} bytes"
                );
            }
            (Err(err), None) => {
                assert!(
                    (start as u64..end as u64).contains(&err.offset),
                    "error at {} reported by the feed of {start}..{end}",
                    err.offset
                );
                first_error = Some(err);
            }
            (result, Some(err)) => assert_eq!(result, Err(err), "error not sticky"),
        }
        if first_error.is_some() {
            assert!(!v.is_complete());
        }
        start = end;
    }
    let finished = v.finish();
    if let Some(err) = first_error {
        assert_eq!(finished, Err(err), "finish forgot the error");
    }
    finished
}

fuzz_target!(|input: Input<'_>| {
    let bytes = input.bytes;
    let len = bytes.len();
    let mut ends: Vec<usize> = input
        .cuts
        .iter()
        .take(MAX_CUTS)
        .map(|&cut| usize::from(cut) % (len + 1))
        .collect();
    ends.push(len);
    ends.sort_unstable();

    let chunked = validate(bytes, &ends);
    let whole = validate(bytes, &[len]);
    assert_eq!(chunked, whole, "chunked at {ends:?} differs from whole");
    assert_eq!(is_valid_utf8(bytes), whole.is_ok());

    match (whole, std::str::from_utf8(bytes)) {
        (Ok(()), Ok(_)) => {}
        (Err(ours), Err(std)) => {
            let valid_up_to = std.valid_up_to();
            let expected = match std.error_len() {
                Some(_) if !can_start(bytes[valid_up_to]) => valid_up_to,
                Some(n) => valid_up_to + n,
                None => len,
            };
            assert_eq!(
                ours.offset,
                expected as u64,
                "std: valid up to {valid_up_to}, error_len {:?}",
                std.error_len()
            );
        }
        (ours, std) => panic!("validator says {ours:?}, std says {std:?}"),
    }
});
