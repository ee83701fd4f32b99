//! Frames (RFC 6455 §5.2): building any frame, valid or not, and reading frames without judging.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Encoding writes exactly what the fields say: any RSV bits, any opcode nibble, a mask or none,
//! any of the three length forms, and a declared length that need not match the payload. Decoding
//! reports every field as read; whether a frame is acceptable is for the caller to decide.

use std::fmt;

use crate::close::CloseCode;
use crate::mask::apply_mask;

/// The longest possible frame header: 2 fixed bytes, 8 of extended length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// RSV1, the first reserved bit of a header's `rsv` field (RFC 6455 §5.2): 0b100. permessage-deflate
/// (RFC 7692 §6) uses it as the "Per-Message Compressed" bit.
pub const RSV1: u8 = 0b100;
/// RSV2, the second reserved bit of a header's `rsv` field: 0b010.
pub const RSV2: u8 = 0b010;
/// RSV3, the third reserved bit of a header's `rsv` field: 0b001.
pub const RSV3: u8 = 0b001;

/// A frame opcode: the low four bits of the first header byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
    /// An opcode RFC 6455 reserves: 3..=7 (data) or 11..=15 (control).
    Reserved(u8),
}

impl Opcode {
    /// The opcode for a nibble; only the low four bits of `nibble` are used.
    pub fn from_u8(nibble: u8) -> Opcode {
        match nibble & 0x0f {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xa => Opcode::Pong,
            n => Opcode::Reserved(n),
        }
    }

    /// The opcode's numeric value (for `Reserved(n)`, the low four bits of `n`).
    pub fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xa,
            Opcode::Reserved(n) => n & 0x0f,
        }
    }

    /// Whether this is a control opcode (bit 0x8 set), reserved control opcodes 11..=15 included.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x08 != 0
    }

    /// Whether the opcode is one RFC 6455 reserves for future use (3..=7 or 11..=15).
    pub fn is_reserved(self) -> bool {
        matches!(self.as_u8(), 3..=7 | 11..=15)
    }

    /// A lowercase name: "continuation", "text", "binary", "close", "ping", "pong" or "reserved".
    pub fn name(self) -> &'static str {
        match self {
            Opcode::Continuation => "continuation",
            Opcode::Text => "text",
            Opcode::Binary => "binary",
            Opcode::Close => "close",
            Opcode::Ping => "ping",
            Opcode::Pong => "pong",
            Opcode::Reserved(_) => "reserved",
        }
    }

    /// The six opcodes RFC 6455 defines, each of which has a name of its own.
    pub const DEFINED: [Opcode; 6] = [
        Opcode::Continuation,
        Opcode::Text,
        Opcode::Binary,
        Opcode::Close,
        Opcode::Ping,
        Opcode::Pong,
    ];

    /// The defined opcode whose [`Opcode::name`] is exactly `name`; the case language's opcode names.
    pub fn named(name: &str) -> Option<Opcode> {
        Opcode::DEFINED.into_iter().find(|op| op.name() == name)
    }

    /// Parses a name as given by [`Opcode::name`] (plus "cont"), or a decimal number "0" to "15".
    ///
    /// The bare name "reserved" does not say which opcode is meant, so it gives `None`.
    pub fn from_name(s: &str) -> Option<Opcode> {
        if s == "cont" {
            return Some(Opcode::Continuation);
        }
        Opcode::named(s).or_else(|| match s.parse::<u8>() {
            Ok(n @ 0..=15) if s.bytes().all(|b| b.is_ascii_digit()) => Some(Opcode::from_u8(n)),
            _ => None,
        })
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opcode::Reserved(n) => write!(f, "reserved({n})"),
            other => f.write_str(other.name()),
        }
    }
}

/// How the payload length was (or is to be) written on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthForm {
    /// In the 7-bit field itself: 0..=125.
    Short,
    /// The 7-bit field says 126 and two more bytes hold the length.
    U16,
    /// The 7-bit field says 127 and eight more bytes hold the length.
    U64,
}

impl LengthForm {
    /// The form RFC 6455 requires for `len`: the shortest that can hold it.
    pub fn minimal(len: u64) -> LengthForm {
        match len {
            0..=125 => LengthForm::Short,
            126..=0xffff => LengthForm::U16,
            _ => LengthForm::U64,
        }
    }

    /// Bytes of extended length that follow the first two header bytes.
    fn extra_len(self) -> usize {
        match self {
            LengthForm::Short => 0,
            LengthForm::U16 => 2,
            LengthForm::U64 => 8,
        }
    }
}

/// A frame header, field by field, exactly as read or as to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The FIN bit.
    pub fin: bool,
    /// The three RSV bits as a number 0..=7 (bits [`RSV1`], [`RSV2`], [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, present when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length as declared on the wire (for `U64` the top bit may be set).
    pub payload_len: u64,
    /// How the length was written.
    pub length_form: LengthForm,
}

impl FrameHeader {
    /// How many bytes [`FrameHeader::encode_into`] writes: 2 to [`MAX_HEADER_LEN`].
    pub fn encoded_len(&self) -> usize {
        2 + self.length_form.extra_len() + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends the header to `out`, exactly as the fields say.
    ///
    /// Only the low three bits of `rsv` are used. Each length form writes the low bits of
    /// `payload_len` that it has room for: `Short` with a length of 126 or 127 writes an
    /// extended-length marker with no extended length after it, which is one more way to build a
    /// broken frame.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let b0 = u8::from(self.fin) << 7 | (self.rsv & 0x07) << 4 | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.length_form {
            LengthForm::Short => out.extend([b0, mask_bit | (self.payload_len & 0x7f) as u8]),
            LengthForm::U16 => {
                out.extend([b0, mask_bit | 126]);
                out.extend((self.payload_len as u16).to_be_bytes());
            }
            LengthForm::U64 => {
                out.extend([b0, mask_bit | 127]);
                out.extend(self.payload_len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend(key);
        }
    }

    /// Whether the length is written in the shortest form that holds it, as RFC 6455 §5.2 requires.
    pub fn is_minimal_length(&self) -> bool {
        self.length_form == LengthForm::minimal(self.payload_len)
    }
}

/// A frame to send. Honest constructors build valid frames; the pub fields break them on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// The FIN bit.
    pub fin: bool,
    /// The RSV bits as a number 0..=7 (bits [`RSV1`], [`RSV2`], [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key; when set, encoding masks the payload with it.
    pub mask: Option<[u8; 4]>,
    /// The unmasked payload.
    pub payload: Vec<u8>,
    /// How to write the length; `None` means the minimal form for the declared length.
    pub length_form: Option<LengthForm>,
    /// The length to declare; `None` means the payload's real length, `Some(n)` lies about it.
    pub declared_len: Option<u64>,
}

impl FrameSpec {
    /// A final, unmasked frame with no RSV bits and an honest, minimally encoded length.
    pub fn new(opcode: Opcode, payload: impl Into<Vec<u8>>) -> Self {
        FrameSpec {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload: payload.into(),
            length_form: None,
            declared_len: None,
        }
    }

    /// A final text frame (the payload is not checked for UTF-8).
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(Opcode::Text, payload)
    }

    /// A final binary frame.
    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(Opcode::Binary, payload)
    }

    /// A ping frame.
    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(Opcode::Ping, payload)
    }

    /// A pong frame.
    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(Opcode::Pong, payload)
    }

    /// A final continuation frame.
    pub fn continuation(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(Opcode::Continuation, payload)
    }

    /// A close frame: the big-endian `code` followed by `reason`.
    ///
    /// With no code the payload is `reason` as is, so `close(None, b"")` is the valid empty close
    /// and a non-empty reason without a code builds a malformed one.
    pub fn close(code: Option<CloseCode>, reason: &[u8]) -> Self {
        let payload = match code {
            Some(code) => crate::close::encode_close_payload(code, reason),
            None => reason.to_vec(),
        };
        Self::new(Opcode::Close, payload)
    }

    /// Sets the FIN bit.
    pub fn with_fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets the RSV bits (0..=7: [`RSV1`], [`RSV2`], [`RSV3`] or a combination).
    pub fn with_rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// Sets or clears the masking key.
    pub fn with_mask(mut self, mask: Option<[u8; 4]>) -> Self {
        self.mask = mask;
        self
    }

    /// The header this frame is written with.
    pub fn header(&self) -> FrameHeader {
        let payload_len = self.declared_len.unwrap_or(self.payload.len() as u64);
        FrameHeader {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode,
            mask: self.mask,
            payload_len,
            length_form: self.length_form.unwrap_or(LengthForm::minimal(payload_len)),
        }
    }
}

/// Encodes a frame: its header, then the whole payload (masked if the spec has a key), whatever
/// length the header declares.
pub fn encode_frame(spec: &FrameSpec) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_HEADER_LEN + spec.payload.len());
    encode_frame_into(spec, &mut out);
    out
}

/// Appends the encoded frame to `out`; see [`encode_frame`].
pub fn encode_frame_into(spec: &FrameSpec, out: &mut Vec<u8>) {
    spec.header().encode_into(out);
    let start = out.len();
    out.extend_from_slice(&spec.payload);
    if let (Some(key), Some(payload)) = (spec.mask, out.get_mut(start..)) {
        apply_mask(payload, key, 0);
    }
}

/// Header parsing of one buffer, for callers that hold a whole frame (tests, fuzz round trip).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderDecode {
    /// The buffer is too short; at least `needed` header bytes in total are required.
    Incomplete {
        /// Total header bytes needed at least (known more precisely as more bytes arrive).
        needed: usize,
    },
    /// A whole header was read.
    Complete {
        /// The header as read.
        header: FrameHeader,
        /// Bytes the header took; the payload starts there.
        header_len: usize,
    },
}

/// Reads a frame header from the start of `buf`. Never fails: every bit pattern is some header.
pub fn decode_header(buf: &[u8]) -> HeaderDecode {
    let [b0, b1, rest @ ..] = buf else {
        return HeaderDecode::Incomplete { needed: 2 };
    };
    let length_form = match b1 & 0x7f {
        126 => LengthForm::U16,
        127 => LengthForm::U64,
        _ => LengthForm::Short,
    };
    let extra = length_form.extra_len();
    let masked = b1 & 0x80 != 0;
    let needed = 2 + extra + if masked { 4 } else { 0 };
    let Some((len_bytes, key_bytes)) = rest
        .get(..needed - 2)
        .and_then(|r| r.split_at_checked(extra))
    else {
        return HeaderDecode::Incomplete { needed };
    };
    let payload_len = match *len_bytes {
        [a, b] => u64::from(u16::from_be_bytes([a, b])),
        [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
        _ => u64::from(b1 & 0x7f),
    };
    let mask = match *key_bytes {
        [a, b, c, d] => Some([a, b, c, d]),
        _ => None,
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x07,
        opcode: Opcode::from_u8(*b0),
        mask,
        payload_len,
        length_form,
    };
    HeaderDecode::Complete {
        header,
        header_len: needed,
    }
}

/// Incremental decoder: feed whatever bytes arrived; it yields a header, then payload chunks
/// (already unmasked), then the end of the frame.
///
/// Payload bytes are yielded as they arrive: a frame that declares 2^63 bytes costs nothing until
/// bytes really come. Zero-length payloads give `Header` then `End`. The decoder keeps no bytes
/// itself: when it needs more input it consumes nothing, and the caller offers the same bytes again
/// with more appended.
#[derive(Clone, Debug, Default)]
pub struct FrameDecoder {
    in_frame: bool,
    remaining: u64,
    mask: Option<[u8; 4]>,
    /// Position within the payload modulo 4, for unmasking chunk by chunk.
    mask_offset: usize,
}

/// One step of [`FrameDecoder::decode`].
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeEvent<'a> {
    /// A frame header was read.
    Header(FrameHeader),
    /// An unmasked chunk of payload; a slice into the caller's buffer.
    Payload(&'a [u8]),
    /// The frame's last payload byte was consumed.
    End,
}

impl FrameDecoder {
    /// A decoder waiting for a frame header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode from `input`; returns how many bytes were consumed and at most one event. Call again
    /// with the rest. `(0, None)` means more input is needed. Payload chunks are unmasked in place,
    /// hence `&mut`.
    pub fn decode<'a>(&mut self, input: &'a mut [u8]) -> (usize, Option<DecodeEvent<'a>>) {
        if !self.in_frame {
            return match decode_header(input) {
                HeaderDecode::Incomplete { .. } => (0, None),
                HeaderDecode::Complete { header, header_len } => {
                    self.in_frame = true;
                    self.remaining = header.payload_len;
                    self.mask = header.mask;
                    self.mask_offset = 0;
                    (header_len, Some(DecodeEvent::Header(header)))
                }
            };
        }
        if self.remaining == 0 {
            self.in_frame = false;
            return (0, Some(DecodeEvent::End));
        }
        if input.is_empty() {
            return (0, None);
        }
        let n = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        let (chunk, _) = input.split_at_mut(n);
        if let Some(key) = self.mask {
            apply_mask(chunk, key, self.mask_offset);
        }
        self.mask_offset = (self.mask_offset + n) % 4;
        self.remaining -= n as u64;
        (n, Some(DecodeEvent::Payload(chunk)))
    }

    /// True between a `Header` event and its `End`.
    pub fn in_frame(&self) -> bool {
        self.in_frame
    }

    /// Payload bytes still expected in the current frame.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(buf: &[u8]) -> (FrameHeader, usize) {
        match decode_header(buf) {
            HeaderDecode::Complete { header, header_len } => (header, header_len),
            other => panic!("incomplete: {other:?}"),
        }
    }

    /// Runs a decoder over `buf` offered whole; returns the frames and the bytes consumed.
    fn decode_all(buf: &[u8]) -> (Vec<(FrameHeader, Vec<u8>)>, usize) {
        let mut buf = buf.to_vec();
        let mut dec = FrameDecoder::new();
        let mut frames = Vec::new();
        let mut pos = 0;
        loop {
            let (used, event) = dec.decode(&mut buf[pos..]);
            pos += used;
            match event {
                None => return (frames, pos),
                Some(DecodeEvent::Header(h)) => frames.push((h, Vec::new())),
                Some(DecodeEvent::Payload(p)) => frames.last_mut().unwrap().1.extend_from_slice(p),
                Some(DecodeEvent::End) => {}
            }
        }
    }

    #[test]
    fn opcode_values_and_names() {
        for n in 0..=15u8 {
            let op = Opcode::from_u8(n);
            assert_eq!(op.as_u8(), n);
            assert_eq!(op.is_control(), n >= 8);
            assert_eq!(op.is_reserved(), matches!(n, 3..=7 | 11..=15));
            assert_eq!(Opcode::from_name(&n.to_string()), Some(op));
            if !op.is_reserved() {
                assert_eq!(Opcode::from_name(op.name()), Some(op));
                assert_eq!(op.to_string(), op.name());
            }
        }
        assert_eq!(Opcode::from_u8(0xf9), Opcode::Ping); // high nibble ignored
        assert_eq!(Opcode::from_name("cont"), Some(Opcode::Continuation));
        assert_eq!(Opcode::Reserved(11).to_string(), "reserved(11)");
        for bad in ["reserved", "16", "+1", "-1", "", "Ping", "256"] {
            assert_eq!(Opcode::from_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc_examples() {
        // fin=1 op=1 len=5 "Hello", unmasked
        let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(encode_frame(&FrameSpec::text("Hello")), unmasked);
        // fin=1 op=1 mask=37fa213d len=5 "Hello" masked
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let spec = FrameSpec::text("Hello").with_mask(Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(encode_frame(&spec), masked);
        let (frames, used) = decode_all(&masked);
        assert_eq!(used, masked.len());
        assert_eq!(frames, [(spec.header(), b"Hello".to_vec())]);
        // fin=0 op=1 "Hel", then fin=1 op=0 "lo"
        let fragments = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
        let mut out = encode_frame(&FrameSpec::text("Hel").with_fin(false));
        encode_frame_into(&FrameSpec::continuation("lo"), &mut out);
        assert_eq!(out, fragments);
        // fin=1 op=9 len=5 ping "Hello"; fin=1 op=10 mask len=5 pong "Hello"
        assert_eq!(encode_frame(&FrameSpec::ping("Hello"))[..2], [0x89, 0x05]);
        let pong = FrameSpec::pong("Hello").with_mask(Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(encode_frame(&pong)[..2], [0x8a, 0x85]);
    }

    #[test]
    fn length_boundaries() {
        // (length, expected header: fin=1 op=2 then the length bytes)
        let cases: [(usize, &[u8]); 6] = [
            (0, &[0x82, 0x00]),
            (125, &[0x82, 0x7d]),
            (126, &[0x82, 0x7e, 0x00, 0x7e]),
            (127, &[0x82, 0x7e, 0x00, 0x7f]),
            (65535, &[0x82, 0x7e, 0xff, 0xff]),
            (65536, &[0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]),
        ];
        for (len, head) in cases {
            let spec = FrameSpec::binary(vec![0xab; len]);
            let wire = encode_frame(&spec);
            assert_eq!(&wire[..head.len()], head, "len {len}");
            assert_eq!(wire.len(), head.len() + len);
            let (h, header_len) = header(&wire);
            assert_eq!((h.payload_len, header_len), (len as u64, head.len()));
            assert!(h.is_minimal_length());
            assert_eq!(h.encoded_len(), head.len());
            let (frames, used) = decode_all(&wire);
            assert_eq!(used, wire.len());
            assert_eq!(frames, [(h, spec.payload)]);
        }
    }

    #[test]
    fn non_minimal_forms_round_trip() {
        // fin=1 op=1 len=126+2 bytes (0x0003) "abc"
        let u16_form = [0x81, 0x7e, 0x00, 0x03, b'a', b'b', b'c'];
        // fin=1 op=1 len=127+8 bytes (3) "abc"
        let u64_form = [0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x03, b'a', b'b', b'c'];
        for (form, wire) in [
            (LengthForm::U16, &u16_form[..]),
            (LengthForm::U64, &u64_form[..]),
        ] {
            let mut spec = FrameSpec::text("abc");
            spec.length_form = Some(form);
            assert_eq!(encode_frame(&spec), wire);
            let (h, _) = header(wire);
            assert_eq!(h, spec.header());
            assert!(!h.is_minimal_length());
            let mut again = Vec::new();
            h.encode_into(&mut again);
            assert_eq!(again, wire[..wire.len() - 3]);
        }
    }

    #[test]
    fn top_bit_length() {
        // fin=1 op=2 len=127+8 bytes 0x8000000000000000, no payload present
        let wire = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
        let (h, header_len) = header(&wire);
        assert_eq!(h.payload_len, 0x8000_0000_0000_0000);
        assert_eq!((h.length_form, header_len), (LengthForm::U64, 10));
        let mut again = Vec::new();
        h.encode_into(&mut again);
        assert_eq!(again, wire);
    }

    #[test]
    fn declared_len_lies() {
        // fin=1 op=2 len=10 but only "ab" follows
        let mut spec = FrameSpec::binary("ab");
        spec.declared_len = Some(10);
        assert_eq!(encode_frame(&spec), [0x82, 0x0a, b'a', b'b']);
        // fin=1 op=2 len=126+2 bytes (1) "ab": short claim, long payload, forced form
        spec.declared_len = Some(1);
        spec.length_form = Some(LengthForm::U16);
        assert_eq!(encode_frame(&spec), [0x82, 0x7e, 0x00, 0x01, b'a', b'b']);
        // Short form with 126: a 16-bit length marker and no length bytes after it
        spec.declared_len = Some(126);
        spec.length_form = Some(LengthForm::Short);
        assert_eq!(encode_frame(&spec), [0x82, 0x7e, b'a', b'b']);
        assert!(!spec.header().is_minimal_length());
        // decoding stops where the declared length ends: fin=1 op=2 len=1 "a"; "b" starts a header
        let (frames, used) = decode_all(&[0x82, 0x01, b'a', b'b']);
        assert_eq!(
            (frames.len(), frames[0].1.as_slice(), used),
            (1, &b"a"[..], 3)
        );
    }

    #[test]
    fn rsv_and_reserved_opcodes_round_trip() {
        for rsv in 0..=7u8 {
            for op in 0..=15u8 {
                let spec = FrameSpec::new(Opcode::from_u8(op), "x")
                    .with_rsv(rsv)
                    .with_fin(op % 2 == 0);
                let wire = encode_frame(&spec);
                assert_eq!(wire[0], u8::from(op % 2 == 0) << 7 | rsv << 4 | op);
                let (frames, _) = decode_all(&wire);
                assert_eq!(frames, [(spec.header(), b"x".to_vec())]);
            }
        }
        // rsv=4 (RSV1) fin=1 op=3: 0xc3
        assert_eq!(
            encode_frame(&FrameSpec::new(Opcode::Reserved(3), "").with_rsv(RSV1)),
            [0xc3, 0x00]
        );
    }

    #[test]
    fn oversized_control_frame_is_just_data() {
        // fin=0 op=9 len=126+2 bytes (200): a fragmented, oversized ping
        let spec = FrameSpec::ping(vec![7; 200]).with_fin(false);
        let wire = encode_frame(&spec);
        assert_eq!(wire[..4], [0x09, 0x7e, 0x00, 0xc8]);
        let (frames, _) = decode_all(&wire);
        assert_eq!(frames, [(spec.header(), spec.payload)]);
    }

    #[test]
    fn close_frames() {
        // fin=1 op=8 len=5 code=1000 "bye"
        assert_eq!(
            encode_frame(&FrameSpec::close(Some(CloseCode::NORMAL), b"bye")),
            [0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']
        );
        // fin=1 op=8 len=0
        assert_eq!(encode_frame(&FrameSpec::close(None, b"")), [0x88, 0x00]);
        // fin=1 op=8 len=1: a code cut short
        assert_eq!(
            encode_frame(&FrameSpec::close(None, b"\x03")),
            [0x88, 0x01, 0x03]
        );
    }

    #[test]
    fn header_incomplete() {
        assert_eq!(decode_header(&[]), HeaderDecode::Incomplete { needed: 2 });
        assert_eq!(
            decode_header(&[0x81]),
            HeaderDecode::Incomplete { needed: 2 }
        );
        // fin=1 op=1 mask len=5: needs the 4 key bytes
        assert_eq!(
            decode_header(&[0x81, 0x85, 0x37]),
            HeaderDecode::Incomplete { needed: 6 }
        );
        // fin=1 op=2 mask len=127+8: 14 bytes
        assert_eq!(
            decode_header(&[0x82, 0xff]),
            HeaderDecode::Incomplete {
                needed: MAX_HEADER_LEN
            }
        );
        // fin=1 op=2 len=126+2
        assert_eq!(
            decode_header(&[0x82, 0x7e, 0x01]),
            HeaderDecode::Incomplete { needed: 4 }
        );
    }

    #[test]
    fn byte_by_byte_matches_all_at_once() {
        let key = Some([0x01, 0x02, 0x03, 0x04]);
        let mut wire = encode_frame(&FrameSpec::text("Hello").with_mask(key));
        encode_frame_into(&FrameSpec::ping(""), &mut wire);
        encode_frame_into(
            &FrameSpec::binary(vec![0x5a; 300]).with_mask(key),
            &mut wire,
        );
        encode_frame_into(
            &FrameSpec::close(Some(CloseCode::GOING_AWAY), b"").with_rsv(RSV3),
            &mut wire,
        );
        let (whole, used) = decode_all(&wire);
        assert_eq!(used, wire.len());
        assert_eq!(whole.len(), 4);

        // offer a buffer that grows by one byte at a time, as a socket might
        let mut dec = FrameDecoder::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut frames: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
        let mut ends = 0;
        for &byte in &wire {
            buf.push(byte);
            loop {
                let (used, event) = dec.decode(&mut buf);
                let event = event.map(|e| match e {
                    DecodeEvent::Payload(p) => Err(p.to_vec()),
                    DecodeEvent::Header(h) => Ok(Some(h)),
                    DecodeEvent::End => Ok(None),
                });
                buf.drain(..used);
                match event {
                    None => break,
                    Some(Ok(Some(h))) => frames.push((h, Vec::new())),
                    Some(Ok(None)) => ends += 1,
                    Some(Err(p)) => {
                        assert_eq!(p.len(), 1);
                        frames.last_mut().unwrap().1.extend(p);
                    }
                }
            }
        }
        assert_eq!((frames, ends, buf.len()), (whole, 4, 0));
        assert!(!dec.in_frame());
    }

    #[test]
    fn huge_declared_length_costs_nothing() {
        // fin=1 op=2 len=127+8 bytes (2^63-1), then just "abc"
        let mut buf = [
            0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'a', b'b', b'c',
        ];
        let mut dec = FrameDecoder::new();
        let (used, event) = dec.decode(&mut buf);
        let Some(DecodeEvent::Header(h)) = event else {
            panic!("{event:?}")
        };
        assert_eq!((used, h.payload_len), (10, i64::MAX as u64));
        assert!(dec.in_frame());
        let (used, event) = dec.decode(&mut buf[10..]);
        assert_eq!((used, event), (3, Some(DecodeEvent::Payload(b"abc"))));
        assert_eq!(dec.remaining(), i64::MAX as u64 - 3);
        assert_eq!(dec.decode(&mut []), (0, None));
        assert!(dec.in_frame());
    }

    #[test]
    fn zero_length_gives_header_then_end() {
        // fin=1 op=10 mask=01020304 len=0
        let mut buf = [0x8a, 0x80, 0x01, 0x02, 0x03, 0x04];
        let mut dec = FrameDecoder::new();
        let (used, event) = dec.decode(&mut buf);
        assert_eq!(used, 6);
        assert!(matches!(
            event,
            Some(DecodeEvent::Header(FrameHeader { payload_len: 0, .. }))
        ));
        assert_eq!(dec.decode(&mut []), (0, Some(DecodeEvent::End)));
        assert!(!dec.in_frame());
        assert_eq!(dec.decode(&mut []), (0, None));
    }

    #[test]
    fn any_two_bytes_decode() {
        for b0 in 0..=255u8 {
            for b1 in 0..=255u8 {
                let mut buf = [b0, b1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
                for end in 0..=buf.len() {
                    let _ = decode_header(&buf[..end]);
                    let mut dec = FrameDecoder::new();
                    let mut pos = 0;
                    while let (used, Some(_)) = dec.decode(&mut buf[pos..end]) {
                        pos += used;
                    }
                }
                let (h, len) = header(&buf);
                let mut again = Vec::new();
                h.encode_into(&mut again);
                assert_eq!(again, buf[..len]);
            }
        }
    }
}
