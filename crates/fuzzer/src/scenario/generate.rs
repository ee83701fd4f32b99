//! Generating scenarios with [`arbitrary`]: the distributions behind [`Scenario::generate`].
//!
//! Each choice is drawn from the [`Unstructured`] bytes of one scenario; the target's [`Role`] picks
//! which side of the opening handshake is varied and whether the harness's bad frame is unmasked
//! (to a server) or masked (to a client). Sizes cluster where
//! implementations break: short payloads, the length encodings' boundaries (125/126, 65535/65536),
//! a full 125-byte control payload; text mixes ASCII, the edge code points of UTF-8's encodings
//! and any other character; invalid UTF-8 comes from Markus Kuhn's classes of malformed sequences
//! (or random bytes, checked to be invalid).

use arbitrary::Unstructured;
use wsspec_suite::{Role, handshake::HeaderCase};
use wsspec_wire::{CloseCode, Opcode};

use super::{
    AcceptEdit, Body, CONTROL_MAX, CloseEnding, Ending, Fragment, Item, MAX_FRAGMENTS, MAX_ITEMS,
    MAX_PIECES, Message, Opening, RefuseEdit, ResponseAcceptEdit, ResponseRefuseEdit, SPELLED_OUT,
    Scenario, Violation, ViolationKind,
};

/// A scenario for a target of `role`.
pub(super) fn scenario(u: &mut Unstructured<'_>, role: Role) -> arbitrary::Result<Scenario> {
    let opening = match (u.int_in_range(0..=99u8)?, role) {
        (0..=4, Role::Server) => Opening::Refused(refuse_edit(u)?),
        (0..=4, Role::Client) => Opening::ResponseRefused(response_refuse_edit(u)?),
        (5..=14, Role::Server) => {
            Opening::Accepted(distinct_edits(u, accept_edit, AcceptEdit::name)?)
        }
        (5..=14, Role::Client) => Opening::ResponseAccepted(distinct_edits(
            u,
            response_accept_edit,
            ResponseAcceptEdit::name,
        )?),
        _ => Opening::Standard,
    };
    if matches!(opening, Opening::Refused(_) | Opening::ResponseRefused(_)) {
        return Ok(Scenario {
            role,
            opening,
            items: Vec::new(),
            ending: Ending::Done,
        });
    }
    {
        let count = u.int_in_range(0..=MAX_ITEMS)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(match u.int_in_range(0..=9u8)? {
                0..=5 => Item::Message(message(u)?),
                6..=8 => Item::Ping(control_payload(u)?),
                _ => Item::Pong(control_payload(u)?),
            });
        }
        let ending = match u.int_in_range(0..=19u8)? {
            0..=6 => Ending::Done,
            7..=9 => Ending::Close(CloseEnding {
                code: valid_close_code(u)?,
                reason: {
                    let len = u.int_in_range(0..=123)?;
                    text_of_len(u, len)?
                },
                open: if u.ratio(1, 5)? {
                    Some(fragment(u)?)
                } else {
                    None
                },
            }),
            _ => Ending::Violation(violation(u, role)?),
        };
        Ok(Scenario {
            role,
            opening,
            items,
            ending,
        })
    }
}

/// One to three edits made by `edit`, one of each kind (a second would only replace the first).
fn distinct_edits<E>(
    u: &mut Unstructured<'_>,
    edit: fn(&mut Unstructured<'_>) -> arbitrary::Result<E>,
    kind: fn(&E) -> &'static str,
) -> arbitrary::Result<Vec<E>> {
    let count = u.int_in_range(1..=3)?;
    let mut edits: Vec<E> = Vec::with_capacity(count);
    for _ in 0..count {
        let edit = edit(u)?;
        if edits.iter().all(|e| kind(e) != kind(&edit)) {
            edits.push(edit);
        }
    }
    Ok(edits)
}

fn response_accept_edit(u: &mut Unstructured<'_>) -> arbitrary::Result<ResponseAcceptEdit> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => ResponseAcceptEdit::ValueCase {
            upgrade: u.choose(&["WebSocket", "WEBSOCKET", "webSocket"])?,
            connection: u.choose(&["upgrade", "UPGRADE", "uPgRaDe"])?,
        },
        1 => ResponseAcceptEdit::ConnectionList(u.choose(&[
            "keep-alive, Upgrade",
            "Upgrade, keep-alive",
            "upgrade,close",
        ])?),
        2 => ResponseAcceptEdit::LowerCaseNames,
        _ => ResponseAcceptEdit::FillerFields(u.int_in_range(1..=40)?),
    })
}

fn response_refuse_edit(u: &mut Unstructured<'_>) -> arbitrary::Result<ResponseRefuseEdit> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    Ok(match u.int_in_range(0..=7u8)? {
        0 => ResponseRefuseEdit::Status(*u.choose(&[200, 204, 400, 403, 404, 426, 500])?),
        1 => ResponseRefuseEdit::Remove(u.choose(&[
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Accept",
        ])?),
        2 => {
            // The accept value of another key: 20 bytes, like a SHA-1, in base64.
            let mut digest = [0u8; 20];
            u.fill_buffer(&mut digest)?;
            ResponseRefuseEdit::Accept(base64(&digest, ALPHABET))
        }
        3 => ResponseRefuseEdit::KeyAsAccept,
        4 => {
            ResponseRefuseEdit::Upgrade(u.choose(&["h2c", "websocket2", "HTTP/2.0", "TLS/1.2"])?)
        }
        5 => ResponseRefuseEdit::Connection(u.choose(&["keep-alive", "close"])?),
        6 => ResponseRefuseEdit::Subprotocol(u.choose(&["wsspec.never-offered", "chat"])?),
        _ => ResponseRefuseEdit::Extension(
            u.choose(&["x-wsspec-never-offered", "permessage-deflate"])?,
        ),
    })
}

fn accept_edit(u: &mut Unstructured<'_>) -> arbitrary::Result<AcceptEdit> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => AcceptEdit::HeaderCase(if u.arbitrary()? {
            HeaderCase::Lower
        } else {
            HeaderCase::Upper
        }),
        1 => AcceptEdit::FillerFields(u.int_in_range(1..=40)?),
        2 => {
            let len = u.int_in_range(1..=24)?;
            let mut query = String::with_capacity(len + 2);
            query.push_str("q=");
            for _ in 0..len {
                query.push(*u.choose(b"abcdefghijklmnopqrstuvwxyz0123456789-._~%20")? as char);
            }
            AcceptEdit::Query(query)
        }
        _ => AcceptEdit::Chopped(u.int_in_range(1..=64)?),
    })
}

fn refuse_edit(u: &mut Unstructured<'_>) -> arbitrary::Result<RefuseEdit> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => RefuseEdit::Remove(u.choose(&[
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version",
            "Upgrade",
            "Connection",
            "Host",
        ])?),
        1 => {
            if u.arbitrary()? {
                RefuseEdit::Duplicate("Host", "other.wsspec.invalid".into())
            } else {
                RefuseEdit::Duplicate("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==".into())
            }
        }
        2 => RefuseEdit::Key(bad_key(u)?),
        3 => RefuseEdit::Version({
            let version: u8 = u.arbitrary()?;
            match version {
                7 | 8 | 13 => (*u.choose(&["banana", "13.0", "14", "0"])?).to_owned(),
                n => n.to_string(),
            }
        }),
        4 => RefuseEdit::Method(u.choose(&["POST", "PUT", "HEAD", "DELETE", "PATCH", "OPTIONS"])?),
        5 => RefuseEdit::Http10,
        6 => RefuseEdit::Upgrade(
            (*u.choose(&["h2c", "websocket2", "HTTP/2.0", "wss", "TLS/1.2", "foo"])?).to_owned(),
        ),
        _ => RefuseEdit::Connection(u.choose(&["keep-alive", "close"])?),
    })
}

/// A `Sec-WebSocket-Key` that is not 16 bytes of base64: another length, or a character outside
/// the alphabet.
fn bad_key(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if u.arbitrary()? {
        // Base64 of n bytes, n != 16.
        let mut n = u.int_in_range(0..=32usize)?;
        if n == 16 {
            n = 17;
        }
        let mut bytes = vec![0u8; n];
        u.fill_buffer(&mut bytes)?;
        Ok(base64(&bytes, ALPHABET))
    } else {
        // 24 characters with one that base64 does not have.
        let mut key: Vec<u8> = (0..22)
            .map(|_| u.choose(ALPHABET).copied())
            .collect::<arbitrary::Result<_>>()?;
        key.extend_from_slice(b"==");
        let at = u.int_in_range(0..=21)?;
        key[at] = *u.choose(b"-_!*.~ ")?;
        Ok(String::from_utf8_lossy(&key).into_owned())
    }
}

/// Padded base64 in `alphabet`.
fn base64(bytes: &[u8], alphabet: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A message length: mostly short, sometimes at the length encodings' boundaries (125/126,
/// 65535/65536).
fn message_len(u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=99u8)? {
        0..=59 => u.int_in_range(0..=40)?,
        60..=84 => u.int_in_range(41..=1500)?,
        85..=97 => *u.choose(&[0, 1, 124, 125, 126, 127, 128, 255, 256, 1024, 4096])?,
        _ => *u.choose(&[65535, 65536, 65537])?,
    })
}

fn message(u: &mut Unstructured<'_>) -> arbitrary::Result<Message> {
    let opcode = if u.arbitrary()? {
        Opcode::Text
    } else {
        Opcode::Binary
    };
    let len = message_len(u)?;
    let body = body(u, opcode, len)?;
    let cuts = if u.ratio(2, 5)? {
        cuts(u, len)?
    } else {
        Vec::new()
    };
    let mut pings = Vec::new();
    if !cuts.is_empty() && u.ratio(1, 3)? {
        let count = u.int_in_range(1..=3)?;
        for _ in 0..count {
            let after = u.int_in_range(0..=cuts.len() - 1)?;
            pings.push((after, control_payload(u)?));
        }
        pings.sort_by_key(|(after, _)| *after);
    }
    let chop = if u.ratio(1, 10)? {
        let wire =
            len + 14 * (cuts.len() as u64 + 1 + pings.len() as u64) + 125 * pings.len() as u64;
        Some(chop_size(u, wire)?)
    } else {
        None
    };
    Ok(Message {
        opcode,
        body,
        cuts,
        pings,
        chop,
    })
}

/// A piece size for chopping `wire` bytes into at most about [`MAX_PIECES`] writes.
fn chop_size(u: &mut Unstructured<'_>, wire: u64) -> arbitrary::Result<usize> {
    let floor = wire.div_ceil(MAX_PIECES).max(1);
    let size = u64::from(u.int_in_range(1..=32u8)?).max(floor);
    Ok(usize::try_from(size).unwrap_or(usize::MAX))
}

/// Between 1 and [`MAX_FRAGMENTS`] - 1 cut points in `0..=len`, in order.
fn cuts(u: &mut Unstructured<'_>, len: u64) -> arbitrary::Result<Vec<u64>> {
    let count = u.int_in_range(1..=MAX_FRAGMENTS - 1)?;
    let mut cuts = Vec::with_capacity(count);
    for _ in 0..count {
        cuts.push(u.int_in_range(0..=len)?);
    }
    cuts.sort_unstable();
    Ok(cuts)
}

fn body(u: &mut Unstructured<'_>, opcode: Opcode, len: u64) -> arbitrary::Result<Body> {
    if len > SPELLED_OUT {
        let pattern_len = u.int_in_range(1..=8)?;
        let mut pattern = vec![0u8; pattern_len];
        if opcode == Opcode::Text {
            for byte in &mut pattern {
                *byte = u.int_in_range(b' '..=b'~')?;
            }
        } else {
            u.fill_buffer(&mut pattern)?;
        }
        return Ok(Body::Repeat { pattern, len });
    }
    let len = len as usize;
    Ok(Body::Bytes(if opcode == Opcode::Text {
        text_of_len(u, len)?.into_bytes()
    } else {
        let mut bytes = vec![0u8; len];
        u.fill_buffer(&mut bytes)?;
        bytes
    }))
}

/// Code points at the edges of UTF-8's encodings (Markus Kuhn's boundary samples), and others that
/// implementations get wrong.
const EDGE_CHARS: [char; 16] = [
    '\u{0}',
    '\u{7f}',
    '\u{80}',
    '\u{7ff}',
    '\u{800}',
    '\u{fff}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fdd0}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10000}',
    '\u{10fff}',
    '\u{10ffff}',
    'κ',
];

/// Valid UTF-8 text of exactly `len` bytes: ASCII, edge code points and any other characters.
fn text_of_len(u: &mut Unstructured<'_>, len: usize) -> arbitrary::Result<String> {
    let mut text = String::with_capacity(len);
    while text.len() < len {
        let c = match u.int_in_range(0..=9u8)? {
            0..=4 => char::from(u.int_in_range(b' '..=b'~')?),
            5..=6 => *u.choose(&EDGE_CHARS)?,
            _ => u.arbitrary::<char>()?,
        };
        if text.len() + c.len_utf8() <= len {
            text.push(c);
        } else {
            text.push('.');
        }
    }
    Ok(text)
}

/// A control frame payload: 0-125 bytes, often short, sometimes exactly 125.
fn control_payload(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let len = match u.int_in_range(0..=9u8)? {
        0..=6 => u.int_in_range(0..=16)?,
        7..=8 => u.int_in_range(17..=CONTROL_MAX as usize)?,
        _ => CONTROL_MAX as usize,
    };
    let mut payload = vec![0u8; len];
    u.fill_buffer(&mut payload)?;
    Ok(payload)
}

/// A short payload for a frame that is not checked for UTF-8.
fn small_payload(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(0..=32)?;
    let mut payload = vec![0u8; len];
    u.fill_buffer(&mut payload)?;
    Ok(payload)
}

/// Up to `max` ASCII bytes.
fn ascii(u: &mut Unstructured<'_>, max: usize) -> arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(0..=max)?;
    (0..len).map(|_| u.int_in_range(b' '..=b'~')).collect()
}

/// The first fragment of a message left open: ASCII for text, so it stays valid UTF-8.
fn fragment(u: &mut Unstructured<'_>) -> arbitrary::Result<Fragment> {
    let opcode = if u.arbitrary()? {
        Opcode::Text
    } else {
        Opcode::Binary
    };
    let payload = if opcode == Opcode::Text {
        ascii(u, 32)?
    } else {
        small_payload(u)?
    };
    Ok(Fragment { opcode, payload })
}

/// A code a close frame may carry: 1000, another defined or registered one, a library or a private
/// one.
fn valid_close_code(u: &mut Unstructured<'_>) -> arbitrary::Result<CloseCode> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => CloseCode::NORMAL,
        1 => *u.choose(&[
            CloseCode::GOING_AWAY,
            CloseCode::PROTOCOL_ERROR,
            CloseCode::UNSUPPORTED_DATA,
            CloseCode::INVALID_PAYLOAD,
            CloseCode::POLICY_VIOLATION,
            CloseCode::MESSAGE_TOO_BIG,
            CloseCode::MANDATORY_EXTENSION,
            CloseCode::INTERNAL_ERROR,
            CloseCode::SERVICE_RESTART,
            CloseCode::TRY_AGAIN_LATER,
            CloseCode::BAD_GATEWAY,
        ])?,
        2 => CloseCode(u.int_in_range(3000..=3999)?),
        _ => CloseCode(u.int_in_range(4000..=4999)?),
    })
}

/// A code a close frame may not carry (§7.4.1, §7.4.2): unused, reserved or never sent.
fn invalid_close_code(u: &mut Unstructured<'_>) -> arbitrary::Result<CloseCode> {
    // 0 and 999, the codes RFC 6455 names that are not sent, and the edges of the reserved range.
    const SAMPLES: [u16; 10] = [
        0,
        999,
        CloseCode::RESERVED.0,
        CloseCode::NO_STATUS_RECEIVED.0,
        CloseCode::ABNORMAL_CLOSURE.0,
        CloseCode::TLS_HANDSHAKE.0,
        1016,
        1100,
        2000,
        2999,
    ];
    let code = CloseCode(match u.int_in_range(0..=3u8)? {
        0 => u.int_in_range(0..=999)?,
        1 => *u.choose(&SAMPLES[2..7])?,
        2 => u.int_in_range(1016..=2999)?,
        _ => *u.choose(&SAMPLES)?,
    });
    debug_assert!(!code.may_be_sent());
    Ok(code)
}

/// Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, surrogates, code
/// points over U+10FFFF, bytes that never occur, and sequences cut short.
const INVALID_UTF8: [&[u8]; 20] = [
    &[0x80],
    &[0xbf],
    &[0x80, 0xbf, 0x80],
    &[0xc0, 0xaf],
    &[0xc1, 0xbf],
    &[0xe0, 0x80, 0xaf],
    &[0xe0, 0x9f, 0xbf],
    &[0xf0, 0x80, 0x80, 0xaf],
    &[0xf0, 0x8f, 0xbf, 0xbf],
    &[0xed, 0xa0, 0x80],
    &[0xed, 0xbf, 0xbf],
    &[0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80],
    &[0xf4, 0x90, 0x80, 0x80],
    &[0xf5, 0x80, 0x80, 0x80],
    &[0xf8, 0x88, 0x80, 0x80, 0x80],
    &[0xfe],
    &[0xff],
    &[0xc3, 0x28],
    &[0xe2, 0x82],
    &[0xf0, 0x9f, 0x98],
];

/// Valid text with an invalid sequence somewhere in it (at the very end, a sequence cut short is
/// invalid too: the message ends inside a code point).
fn invalid_utf8(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let before = u.int_in_range(0..=24)?;
    let after = u.int_in_range(0..=24)?;
    let mut bytes = text_of_len(u, before)?.into_bytes();
    if u.ratio(1, 4)? {
        let random_len = u.int_in_range(1..=4)?;
        let mut random = vec![0u8; random_len];
        u.fill_buffer(&mut random)?;
        bytes.extend_from_slice(&random);
    } else {
        bytes.extend_from_slice(u.choose(&INVALID_UTF8)?);
    }
    bytes.extend_from_slice(text_of_len(u, after)?.as_bytes());
    if std::str::from_utf8(&bytes).is_ok() {
        bytes.push(0xff);
    }
    Ok(bytes)
}

fn violation(u: &mut Unstructured<'_>, role: Role) -> arbitrary::Result<Violation> {
    let kind = match u.int_in_range(0..=10u8)? {
        // ASCII payloads: a server that checks UTF-8 before the RSV bits must not fail with 1007.
        0 => ViolationKind::Rsv {
            rsv: u.int_in_range(1..=7)?,
            opcode: *u.choose(&[
                Opcode::Text,
                Opcode::Binary,
                Opcode::Ping,
                Opcode::Pong,
                Opcode::Continuation,
            ])?,
            payload: ascii(u, 32)?,
        },
        1 => ViolationKind::ReservedOpcode {
            opcode: Opcode::from_u8(*u.choose(&[3, 4, 5, 6, 7, 11, 12, 13, 14, 15])?),
            fin: !u.ratio(1, 4)?,
            payload: small_payload(u)?,
        },
        2 => ViolationKind::OversizedControl {
            opcode: *u.choose(&[Opcode::Ping, Opcode::Pong, Opcode::Close])?,
            len: match u.int_in_range(0..=3u8)? {
                0 => 126,
                1 => 127,
                2 => *u.choose(&[65535, 65536])?,
                _ => u.int_in_range(128..=1024)?,
            },
        },
        3 => ViolationKind::FragmentedControl {
            opcode: *u.choose(&[Opcode::Ping, Opcode::Pong])?,
            first: small_payload(u)?,
            rest: if u.ratio(2, 3)? {
                Some(small_payload(u)?)
            } else {
                None
            },
        },
        4 => ViolationKind::StrayContinuation {
            fin: u.arbitrary()?,
            payload: small_payload(u)?,
        },
        5 => ViolationKind::NewMessage {
            opcode: *u.choose(&[Opcode::Text, Opcode::Binary])?,
            fin: u.arbitrary()?,
            payload: ascii(u, 16)?,
        },
        6 => {
            let bytes = invalid_utf8(u)?;
            let cuts = if u.ratio(1, 2)? {
                cuts(u, bytes.len() as u64)?
            } else {
                Vec::new()
            };
            ViolationKind::InvalidUtf8 { bytes, cuts }
        }
        7 => ViolationKind::InvalidCloseCode {
            code: invalid_close_code(u)?,
            reason: {
                let len = u.int_in_range(0..=16)?;
                text_of_len(u, len)?
            },
        },
        8 => ViolationKind::OneByteClose(u.arbitrary()?),
        9 => ViolationKind::InvalidCloseReason {
            code: valid_close_code(u)?,
            reason: invalid_utf8(u)?.into_iter().take(123).collect(),
        },
        _ => {
            let opcode = *u.choose(&[Opcode::Text, Opcode::Binary, Opcode::Ping])?;
            let payload = ascii(u, 16)?;
            match role {
                Role::Server => ViolationKind::Unmasked { opcode, payload },
                Role::Client => ViolationKind::Masked { opcode, payload },
            }
        }
    };
    let open = if kind.needs_open() || (kind.allows_open() && u.ratio(1, 4)?) {
        Some(fragment(u)?)
    } else {
        None
    };
    let chop = if u.ratio(1, 8)? {
        Some(chop_size(u, 2048)?)
    } else {
        None
    };
    Ok(Violation { kind, open, chop })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads() {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        assert_eq!(base64(b"", A), "");
        assert_eq!(base64(b"f", A), "Zg==");
        assert_eq!(base64(b"fo", A), "Zm8=");
        assert_eq!(base64(b"foo", A), "Zm9v");
        assert_eq!(base64(&[1; 16], A).len(), 24);
    }
}
