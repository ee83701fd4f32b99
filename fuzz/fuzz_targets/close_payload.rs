//! Fuzz target `close_payload`: [`ClosePayload::parse`] on arbitrary bytes.
//!
//! Checked: nothing panics, and the payload is classified by its length alone: no bytes give
//! `Empty`, one byte gives `Malformed` with that byte, two or more give `Code` with the big-endian
//! code from the first two bytes and the rest, untouched and in place, as the reason; encoding the
//! parts again with [`encode_close_payload`] gives back the payload. The code's class, name and
//! display are exercised too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wsspec_wire::{CloseCode, ClosePayload, encode_close_payload};

fuzz_target!(|data: &[u8]| {
    match (ClosePayload::parse(data), data) {
        (ClosePayload::Empty, []) => {}
        (ClosePayload::Malformed(byte), [only]) => assert_eq!(byte, *only),
        (ClosePayload::Code { code, reason }, [hi, lo, rest @ ..]) => {
            assert_eq!(code, CloseCode(u16::from_be_bytes([*hi, *lo])));
            assert_eq!(reason, rest);
            assert_eq!(
                reason.as_ptr(),
                rest.as_ptr(),
                "reason is not the payload's own tail"
            );
            assert_eq!(encode_close_payload(code, reason), data);
            let _ = (
                code.class(),
                code.may_be_sent(),
                code.name(),
                code.to_string(),
            );
        }
        (parsed, _) => panic!("{} bytes classified as {parsed:?}", data.len()),
    }
});
