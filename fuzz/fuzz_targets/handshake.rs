//! Fuzz target `handshake`: [`parse_request`] and [`parse_response`] on arbitrary bytes.
//!
//! The same input is given to both parsers. Checked for each:
//!
//! - nothing panics;
//! - `Incomplete` only while the buffer is within [`MAX_HEAD_BYTES`];
//! - `Complete { len }` has `0 < len <= input.len()` and `len <= MAX_HEAD_BYTES`, and parsing just
//!   the head (`input[..len]`) gives the same value and length: the bytes after a head do not
//!   change it;
//! - when the head is valid UTF-8 (so no header value went through a lossy conversion),
//!   re-serializing the value with `to_bytes` and parsing that gives back an equal value, and the
//!   whole re-serialized buffer is the head.

#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use wsspec_wire::{
    HeadError, MAX_HEAD_BYTES, Parsed, Request, Response, parse_request, parse_response,
};

/// Runs the checks for one kind of head: `parse` parses it, `to_bytes` writes it back.
fn check<T: Debug + PartialEq>(
    input: &[u8],
    parse: fn(&[u8]) -> Result<Parsed<T>, HeadError>,
    to_bytes: fn(&T) -> Vec<u8>,
) {
    let (value, len) = match parse(input) {
        Ok(Parsed::Complete { value, len }) => (value, len),
        Ok(Parsed::Incomplete) => {
            assert!(input.len() <= MAX_HEAD_BYTES, "incomplete past the limit");
            return;
        }
        Err(_) => return,
    };
    assert!(
        len > 0 && len <= input.len(),
        "len {len} of {}",
        input.len()
    );
    assert!(len <= MAX_HEAD_BYTES);

    let head = &input[..len];
    match parse(head) {
        Ok(Parsed::Complete {
            value: alone,
            len: alone_len,
        }) => {
            assert_eq!(alone_len, len, "head parsed alone has another length");
            assert_eq!(alone, value, "head parsed alone gives another value");
        }
        other => panic!("head {head:02x?} parsed alone gives {other:?}"),
    }

    // Header values are converted lossily from bytes; only a UTF-8 head must round-trip exactly.
    if std::str::from_utf8(head).is_err() {
        return;
    }
    let written = to_bytes(&value);
    if written.len() > MAX_HEAD_BYTES {
        // Re-serializing normalizes ":" to ": " and LF to CRLF, which can push a head that was
        // just under the limit over it.
        return;
    }
    match parse(&written) {
        Ok(Parsed::Complete {
            value: again,
            len: again_len,
        }) => {
            assert_eq!(
                again,
                value,
                "re-parse differs; head {:?}, written {:?}",
                String::from_utf8_lossy(head),
                String::from_utf8_lossy(&written)
            );
            assert_eq!(again_len, written.len(), "re-parse left bytes over");
        }
        other => panic!(
            "re-serialized head does not parse: {other:?}; head {:?}, written {:?}",
            String::from_utf8_lossy(head),
            String::from_utf8_lossy(&written)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, parse_request, Request::to_bytes);
    check(data, parse_response, Response::to_bytes);
});
