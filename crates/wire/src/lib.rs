//! wsspec-wire: the WebSocket (RFC 6455) wire format, sans-IO.
//!
//! This crate turns values into bytes and bytes into values, and nothing else. It owns no socket,
//! spawns no task and never waits: callers hand it buffers and get back frames, events, and HTTP
//! heads. That keeps it deterministic and lets the same code serve the test runner, the reference
//! server and the fuzzers.
//!
//! It is built for a conformance tool, so it is deliberately permissive in both directions:
//!
//! - **Encoding writes what it is told.** [`FrameSpec`] builds honest frames by default, and its
//!   public fields build any broken frame a test needs: RSV bits, reserved opcodes, a mask on the
//!   wrong side, non-minimal or lying lengths, oversized or fragmented control frames.
//! - **Decoding never judges.** [`decode_header`] and [`FrameDecoder`] report every field as read;
//!   none of the above is an error here. What a peer should have done is for the suite to say.
//! - **Nothing panics, whatever the input**, and nothing is allocated because a length field asked
//!   for it: a frame declaring 2^63 bytes costs nothing until its bytes actually arrive.
//!
//! Modules: [`frame`] (headers, encoding, incremental decoding), [`mask`], [`close`] (close
//! payloads and status codes), [`utf8`] (incremental validation for text messages),
//! [`handshake`] (the HTTP upgrade), [`head_reader`] (a head that arrives in pieces) and [`deflate`] (permessage-deflate, RFC 7692: its parameters and
//! its per-message codec).

pub mod close;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod head_reader;
pub mod mask;
pub mod utf8;

pub use close::{CloseCode, CloseCodeClass, ClosePayload, encode_close_payload};
pub use frame::{
    DecodeEvent, FrameDecoder, FrameHeader, FrameSpec, HeaderDecode, LengthForm, MAX_HEADER_LEN,
    Opcode, RSV1, RSV2, RSV3, decode_header, encode_frame, encode_frame_into,
};
pub use handshake::{
    Extension, ExtensionSyntaxError, HeadError, MAX_HEAD_BYTES, MAX_HEADERS, Parsed, Request,
    Response, WEBSOCKET_GUID, accept_key, accept_key_with_guid, extension_list_problem,
    generate_key, header_has_token, is_token, list_items, parse_extensions, parse_request,
    parse_response,
};
pub use head_reader::{Head, HeadReader};
pub use mask::apply_mask;
pub use utf8::{Utf8Error, Utf8Validator, is_valid_utf8};
