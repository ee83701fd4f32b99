//! Incremental, fail-fast UTF-8 validation (RFC 3629), for text messages that arrive in pieces.
//!
//! The validator is a small hand-written state machine over bytes. It remembers how many
//! continuation bytes the current code point still needs and the range the next one must fall in;
//! that range is what rules out overlong forms, surrogates and code points above U+10FFFF (RFC 3629
//! §4):
//!
//! ```text
//! first byte    continuation bytes      code points
//! 00..7F        -                       U+0000..U+007F
//! C2..DF        80..BF                  U+0080..U+07FF
//! E0            A0..BF 80..BF           U+0800..U+0FFF    (E0 80..9F would be overlong)
//! E1..EC EE..EF 80..BF 80..BF           U+1000..U+CFFF, U+E000..U+FFFF
//! ED            80..9F 80..BF           U+D000..U+D7FF    (ED A0..BF would be a surrogate)
//! F0            90..BF 80..BF 80..BF    U+10000..U+3FFFF  (F0 80..8F would be overlong)
//! F1..F3        80..BF 80..BF 80..BF    U+40000..U+FFFFF
//! F4            80..8F 80..BF 80..BF    U+100000..U+10FFFF (F4 90.. would exceed U+10FFFF)
//! 80..C1 F5..FF never valid as a first byte (C0 and C1 only start overlong forms)
//! ```

/// The stream is not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8 at byte {offset}")]
pub struct Utf8Error {
    /// Offset of the first byte that makes the stream invalid, counted over all feeds. When the
    /// stream ends inside a code point, this is the stream's length: the missing byte is what is
    /// wrong.
    pub offset: u64,
}

/// Incremental UTF-8 validator: feed bytes in pieces of any size, then [`Utf8Validator::finish`].
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// Continuation bytes the current code point still needs (0 between code points).
    need: u8,
    /// The range the next continuation byte must fall in.
    lo: u8,
    hi: u8,
    /// Bytes accepted so far.
    offset: u64,
    /// The first error, kept: once invalid, always invalid.
    error: Option<Utf8Error>,
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks more bytes of the stream. Fails as soon as a byte cannot continue it; the error is
    /// sticky.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut rest = bytes;
        while let Some((&byte, after)) = rest.split_first() {
            if self.need == 0 {
                // Between code points: let the standard library skip the valid run (it is fast), and
                // step byte by byte only where it stops.
                let valid = match std::str::from_utf8(rest) {
                    Ok(text) => text.len(),
                    Err(err) => err.valid_up_to(),
                };
                if valid > 0 {
                    self.offset += valid as u64;
                    rest = &rest[valid..];
                    continue;
                }
            }
            rest = after;
            if self.need > 0 {
                if !(self.lo..=self.hi).contains(&byte) {
                    return Err(self.fail());
                }
                self.need -= 1;
                (self.lo, self.hi) = (0x80, 0xbf);
            } else {
                (self.need, self.lo, self.hi) = match byte {
                    0x00..=0x7f => (0, 0x80, 0xbf),
                    0xc2..=0xdf => (1, 0x80, 0xbf),
                    0xe0 => (2, 0xa0, 0xbf),
                    0xe1..=0xec | 0xee..=0xef => (2, 0x80, 0xbf),
                    0xed => (2, 0x80, 0x9f),
                    0xf0 => (3, 0x90, 0xbf),
                    0xf1..=0xf3 => (3, 0x80, 0xbf),
                    0xf4 => (3, 0x80, 0x8f),
                    _ => return Err(self.fail()),
                };
            }
            self.offset += 1;
        }
        Ok(())
    }

    /// Checks that the stream ended between code points (and never failed).
    pub fn finish(&self) -> Result<(), Utf8Error> {
        match self.error {
            Some(error) => Err(error),
            None if self.need > 0 => Err(Utf8Error {
                offset: self.offset,
            }),
            None => Ok(()),
        }
    }

    /// Whether the stream so far is valid and not inside a code point.
    pub fn is_complete(&self) -> bool {
        self.error.is_none() && self.need == 0
    }

    /// Starts over, for a new stream.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    fn fail(&mut self) -> Utf8Error {
        let error = Utf8Error {
            offset: self.offset,
        };
        self.error = Some(error);
        error
    }
}

/// Whether `bytes` as a whole is valid UTF-8 by the same rules.
pub fn is_valid_utf8(bytes: &[u8]) -> bool {
    let mut validator = Utf8Validator::new();
    validator.feed(bytes).is_ok() && validator.finish().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "κόσμε" (Kuhn's test file): CE BA, E1 BD B9, CF 83, CE BC, CE B5
    const KOSME: &[u8] = &[
        0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
    ];

    fn check(bytes: &[u8]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        v.feed(bytes)?;
        v.finish()
    }

    #[test]
    fn kuhn_samples() {
        assert_eq!(check(KOSME), Ok(()));
        // ED A0 80: U+D800, a surrogate; A0 is the first byte that cannot follow ED
        assert_eq!(check(&[0xed, 0xa0, 0x80]), Err(Utf8Error { offset: 1 }));
        // F4 90 80 80: U+110000, above the last code point
        assert_eq!(
            check(&[0xf4, 0x90, 0x80, 0x80]),
            Err(Utf8Error { offset: 1 })
        );
        // C0 AF: overlong '/'; C0 can never start a code point
        assert_eq!(check(&[0xc0, 0xaf]), Err(Utf8Error { offset: 0 }));
        // E0 80 AF: overlong '/' in three bytes
        assert_eq!(check(&[0xe0, 0x80, 0xaf]), Err(Utf8Error { offset: 1 }));
        // F0 8F BF BF: overlong U+FFFF
        assert_eq!(
            check(&[0xf0, 0x8f, 0xbf, 0xbf]),
            Err(Utf8Error { offset: 1 })
        );
        // EF BF BF: U+FFFF is a noncharacter but valid UTF-8; F4 8F BF BF: U+10FFFF, the last one
        assert_eq!(check(&[0xef, 0xbf, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf]), Ok(()));
        // F5 and FF are never valid; a lone continuation byte neither
        for bad in [0xc1, 0xf5, 0xfe, 0xff, 0x80, 0xbf] {
            assert_eq!(
                check(&[b'a', bad]),
                Err(Utf8Error { offset: 1 }),
                "{bad:02x}"
            );
        }
    }

    #[test]
    fn fails_fast_across_feeds() {
        // κόσμε, then F4 90 80 80 (too high), then "edited": fails at the 0x90, offset 12
        let mut stream = KOSME.to_vec();
        stream.extend([0xf4, 0x90, 0x80, 0x80]);
        stream.extend(b"edited");
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            let mut v = Utf8Validator::new();
            let first = v.feed(a);
            if split <= 12 {
                assert_eq!(first, Ok(()), "split {split}");
            }
            let err = first.and_then(|()| v.feed(b)).unwrap_err();
            assert_eq!(err, Utf8Error { offset: 12 });
            // sticky
            assert_eq!(v.feed(b"ok"), Err(err));
            assert_eq!(v.finish(), Err(err));
            assert!(!v.is_complete());
        }
    }

    #[test]
    fn truncated_and_reset() {
        let mut v = Utf8Validator::new();
        // CE BA E1 BD: stops inside ό
        assert_eq!(v.feed(&KOSME[..4]), Ok(()));
        assert!(!v.is_complete());
        assert_eq!(v.finish(), Err(Utf8Error { offset: 4 }));
        assert_eq!(v.feed(&KOSME[4..]), Ok(()));
        assert!(v.is_complete());
        assert_eq!(v.finish(), Ok(()));
        v.feed(&[0xff]).unwrap_err();
        v.reset();
        assert_eq!(v.feed(b"fine"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn agrees_with_std_over_all_splits() {
        let samples: &[&[u8]] = &[
            b"",
            b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
            KOSME,
            b"\xf0\x9f\x98\x80 \xe2\x82\xac \xf4\x8f\xbf\xbf",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"ab\xe2\x82",
            b"\xe0\x9f\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\xed\x9f\xbf\xee\x80\x80",
            b"\x80abc",
        ];
        for sample in samples {
            let std = std::str::from_utf8(sample);
            let whole = check(sample);
            assert_eq!(whole.is_ok(), std.is_ok(), "{sample:02x?}");
            assert_eq!(is_valid_utf8(sample), std.is_ok());
            if let (Err(ours), Err(theirs)) = (whole, std) {
                // std points at the start of the bad sequence; we point at the byte that breaks it
                let start = theirs.valid_up_to() as u64;
                match theirs.error_len() {
                    Some(n) => assert!((start..start + n as u64 + 1).contains(&ours.offset)),
                    None => assert_eq!(ours.offset, sample.len() as u64),
                }
            }
            for split in 0..=sample.len() {
                let (a, b) = sample.split_at(split);
                let mut v = Utf8Validator::new();
                let split_result = v.feed(a).and_then(|()| v.feed(b)).and_then(|()| v.finish());
                assert_eq!(split_result, whole, "{sample:02x?} split at {split}");
            }
        }
    }

    #[test]
    fn agrees_with_std_on_all_short_sequences() {
        // every 1- and 2-byte sequence, and 3-byte ones starting with a lead byte of a 3- or 4-byte
        // form
        for a in 0..=255u8 {
            assert_eq!(is_valid_utf8(&[a]), std::str::from_utf8(&[a]).is_ok());
            for b in 0..=255u8 {
                assert_eq!(is_valid_utf8(&[a, b]), std::str::from_utf8(&[a, b]).is_ok());
                if a >= 0xe0 {
                    for c in [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0] {
                        let s = [a, b, c];
                        assert_eq!(
                            is_valid_utf8(&s),
                            std::str::from_utf8(&s).is_ok(),
                            "{s:02x?}"
                        );
                        let s4 = [a, b, c, 0x80];
                        assert_eq!(
                            is_valid_utf8(&s4),
                            std::str::from_utf8(&s4).is_ok(),
                            "{s4:02x?}"
                        );
                    }
                }
            }
        }
    }
}
