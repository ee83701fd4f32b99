//! A result's handshake and wire transcript as the page's script draws them (it sits in the case
//! data, [`super::data`]). It is compact (an entry is a short array) and cut readably: the first
//! [`HEAD`] and last [`TAIL`] entries, payload previews of [`PAYLOAD_PREVIEW`] bytes and raw byte runs
//! of [`BYTES_PREVIEW`]; results.json keeps what the runner recorded.
//!
//! Shape: `{"h": [request, response], "e": [entry, …], "g": [index, count]}` where an entry is `[µs, dir, "b", len, hex]` (bytes), `[µs, dir, "f", fin, rsv, opcode, mask, len,
//! payload, is_hex]` (a frame) or `[µs, dir, "e", text]` (an event), with the entry's repeat count
//! after them when it has one; `dir` is `s`ent, `r`eceived or `n`ote, and `g` says that `count`
//! entries were left out before entry `index`.

use serde_json::{Map, Value, json};
use wsspec_suite::results::{CaseResult, Data, Direction, Entry, EntryKind};

/// Entries kept from the start of a transcript.
const HEAD: usize = 24;
/// Entries kept from its end.
const TAIL: usize = 12;
/// Payload bytes shown per frame.
const PAYLOAD_PREVIEW: usize = 64;
/// Bytes shown per raw read or write.
const BYTES_PREVIEW: usize = 256;
/// Characters kept of each handshake head.
const HANDSHAKE_PREVIEW: usize = 8 * 1024;

/// One result's handshake and transcript, cut.
pub(super) fn transcript(case: &CaseResult) -> Value {
    let entries = &case.transcript.entries;
    let mut out = Map::new();
    if let Some(handshake) = &case.handshake {
        out.insert(
            "h".into(),
            json!([
                cut_chars(&handshake.request, HANDSHAKE_PREVIEW),
                cut_chars(&handshake.response, HANDSHAKE_PREVIEW)
            ]),
        );
    }
    let recorded_gap = case.transcript.dropped as usize;
    let (kept, gap): (Vec<&Entry>, Option<(usize, usize)>) = if entries.len() > HEAD + TAIL {
        let omitted = entries.len() - HEAD - TAIL;
        let kept = entries[..HEAD]
            .iter()
            .chain(&entries[entries.len() - TAIL..])
            .collect();
        (kept, Some((HEAD, omitted + recorded_gap)))
    } else if recorded_gap > 0 {
        // The runner keeps a head and a tail, about 3:1; the gap is between them.
        (
            entries.iter().collect(),
            Some((entries.len() * 3 / 4, recorded_gap)),
        )
    } else {
        (entries.iter().collect(), None)
    };
    out.insert(
        "e".into(),
        Value::Array(kept.into_iter().map(entry).collect()),
    );
    if let Some((at, count)) = gap {
        out.insert("g".into(), json!([at, count]));
    }
    Value::Object(out)
}

fn entry(entry: &Entry) -> Value {
    let mut value = fields(entry);
    if let (Value::Array(fields), 1..) = (&mut value, entry.repeats) {
        fields.push(entry.repeats.into());
    }
    value
}

/// An entry's fields, without its repeat count.
fn fields(entry: &Entry) -> Value {
    let dir = match entry.dir {
        Direction::Sent => "s",
        Direction::Received => "r",
        Direction::Note => "n",
    };
    match &entry.kind {
        EntryKind::Bytes { len, data } => {
            json!([
                entry.at_us,
                dir,
                "b",
                len,
                cut_bytes(data, BYTES_PREVIEW * 2)
            ])
        }
        EntryKind::Frame {
            fin,
            rsv,
            opcode,
            mask,
            len,
            payload,
        } => {
            let (payload, is_hex) = match payload {
                Data::Text(text) => (cut_chars(text, PAYLOAD_PREVIEW), 0),
                Data::Hex(hex) => (cut_bytes(hex, PAYLOAD_PREVIEW * 2).to_owned(), 1),
            };
            json!([
                entry.at_us,
                dir,
                "f",
                u8::from(*fin),
                rsv,
                opcode,
                mask.as_deref().unwrap_or(""),
                len,
                payload,
                is_hex
            ])
        }
        EntryKind::Event { text } => json!([entry.at_us, dir, "e", text]),
    }
}

/// The first `max` characters.
fn cut_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The first `max` bytes of an ASCII text (hex), whole if shorter.
fn cut_bytes(hex: &str, max: usize) -> &str {
    hex.get(..max).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::case;
    use wsspec_suite::results::Verdict;

    #[test]
    fn a_repeated_entry_carries_its_count_after_its_fields() {
        let mut flood = case("1.1.1", Verdict::Fail);
        flood.transcript.entries[0].repeats = 41;
        let value = transcript(&flood);
        assert_eq!(value["e"][0], json!([1500, "s", "e", "hello", 41]));
        let once = transcript(&case("1.1.1", Verdict::Pass));
        assert_eq!(once["e"][0], json!([1500, "s", "e", "hello"]));
    }

    #[test]
    fn long_transcripts_keep_head_and_tail_with_the_gap_counted() {
        let mut long = case("9.1.1", Verdict::Pass);
        long.transcript.entries = (0..100)
            .map(|n| Entry {
                at_us: n,
                dir: Direction::Received,
                kind: EntryKind::Frame {
                    fin: true,
                    rsv: 0,
                    opcode: 2,
                    mask: None,
                    len: 1 << 20,
                    payload: Data::Hex("ab".repeat(1000)),
                },
                repeats: 0,
            })
            .collect();
        long.transcript.dropped = 5;
        let value = transcript(&long);
        assert_eq!(value["e"].as_array().unwrap().len(), HEAD + TAIL);
        assert_eq!(value["g"], json!([HEAD, 100 - HEAD - TAIL + 5]));
        assert_eq!(
            value["e"][0][8].as_str().unwrap().len(),
            PAYLOAD_PREVIEW * 2
        );
        assert_eq!(value["e"][HEAD][0], 100 - TAIL as u64);
    }
}
