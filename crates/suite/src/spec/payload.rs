//! The raw forms of payloads, opcodes and one-or-many lists in a case file: read and validated into
//! the model, and written back from it.

use std::{fmt, fmt::Write as _, marker::PhantomData};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};
use wsspec_wire::Opcode;

use super::MAX_BUILT_PAYLOAD;
use crate::case::Payload;
use crate::corpus::Corpus;

/// An opcode written as a name (`"ping"`) or a number (`9`, `11`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpcodeValue(pub(super) Opcode);

impl<'de> Deserialize<'de> for OpcodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OpcodeValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an opcode name (continuation, text, binary, close, ping, pong) or a number 0-15")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<OpcodeValue, E> {
                u8::try_from(n)
                    .ok()
                    .filter(|n| *n <= 15)
                    .map(|n| OpcodeValue(Opcode::from_u8(n)))
                    .ok_or_else(|| E::custom(format!("opcode {n} is outside 0-15")))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<OpcodeValue, E> {
                Opcode::named(name)
                    .map(OpcodeValue)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(name), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// An opcode by name where it has one, else by number.
impl Serialize for OpcodeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Opcode::Reserved(_) => serializer.serialize_u8(self.0.as_u8()),
            named => serializer.serialize_str(named.name()),
        }
    }
}

/// A single table or an array of them.
pub(crate) struct OneOrMany<T>(pub(super) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table or an array of tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|one| OneOrMany(vec![one]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// One item as itself, any other number as an array.
impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

/// A payload: `"text"`, `{ hex = "..." }`, or `{ repeat = <payload>, count = N }`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum RawPayload {
    Text(String),
    Table(Box<PayloadTable>),
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayloadTable {
    text: Option<String>,
    hex: Option<String>,
    repeat: Option<RawPayload>,
    count: Option<u64>,
    count_over_limit: Option<u64>,
    corpus: Option<Corpus>,
    deflate: Option<RawPayload>,
}

impl<'de> Deserialize<'de> for RawPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPayload;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, { hex = \"..\" }, { repeat = .., count = N }, { corpus = .., count = N } or { deflate = .. }")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawPayload, E> {
                Ok(RawPayload::Text(text.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawPayload, A::Error> {
                PayloadTable::deserialize(MapAccessDeserializer::new(map))
                    .map(|t| RawPayload::Table(Box::new(t)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl RawPayload {
    /// A payload that is built whole in memory: at most [`MAX_BUILT_PAYLOAD`] bytes.
    pub(super) fn into_built(self, what: &str) -> Result<Payload, String> {
        let payload = self.into_payload()?;
        if payload.len() > MAX_BUILT_PAYLOAD {
            return Err(format!(
                "{what} of {} bytes is over the {MAX_BUILT_PAYLOAD} bytes built in memory (a `send` payload can be of any length)",
                payload.len()
            ));
        }
        Ok(payload)
    }

    pub(super) fn into_payload(self) -> Result<Payload, String> {
        let table = match self {
            RawPayload::Text(text) => return Ok(Payload::Text(text)),
            RawPayload::Table(table) => *table,
        };
        if let Some(corpus) = table.corpus {
            return match (
                table.text,
                table.hex,
                table.repeat,
                table.count_over_limit,
                table.deflate,
                table.count,
            ) {
                (None, None, None, None, None, Some(count)) => {
                    Ok(Payload::Corpus { corpus, count })
                }
                _ => Err("a `corpus` payload takes only `count`".into()),
            };
        }
        if let Some(inner) = table.deflate {
            return match (
                table.text,
                table.hex,
                table.repeat,
                table.count,
                table.count_over_limit,
            ) {
                (None, None, None, None, None) => Ok(Payload::Deflated(Box::new(
                    inner.into_built("a `deflate` payload")?,
                ))),
                _ => Err("a `deflate` payload is only `{ deflate = PAYLOAD }`".into()),
            };
        }
        match (table.text, table.hex, table.repeat, table.count, table.count_over_limit) {
            (Some(text), None, None, None, None) => Ok(Payload::Text(text)),
            (None, Some(hex), None, None, None) => parse_hex(&hex).map(Payload::Bytes),
            (None, None, Some(pattern), count, over) => {
                let pattern = pattern.into_built("a `repeat` pattern")?.to_bytes();
                if pattern.is_empty() {
                    return Err("`repeat` needs a non-empty pattern".into());
                }
                match (count, over) {
                    (Some(count), None) => Ok(Payload::Repeat { pattern, count }),
                    (None, Some(extra)) => Ok(Payload::OverLimit { pattern, extra }),
                    _ => Err("`repeat` needs `count` (the length in bytes) or `count_over_limit`".into()),
                }
            }
            _ => Err(
                "a payload table has exactly one of `text`, `hex`, or `repeat` with `count` or `count_over_limit`"
                    .into(),
            ),
        }
    }

    /// The raw form of a payload: text as a string, bytes as `{ hex }`, and the tables of the others.
    pub(super) fn from_payload(payload: &Payload) -> RawPayload {
        let table = match payload {
            Payload::Text(text) => return RawPayload::Text(text.clone()),
            Payload::Bytes(bytes) => return RawPayload::from_bytes(bytes),
            Payload::Repeat { pattern, count } => PayloadTable {
                repeat: Some(RawPayload::from_pattern(pattern)),
                count: Some(*count),
                ..PayloadTable::default()
            },
            Payload::OverLimit { pattern, extra } => PayloadTable {
                repeat: Some(RawPayload::from_pattern(pattern)),
                count_over_limit: Some(*extra),
                ..PayloadTable::default()
            },
            Payload::Corpus { corpus, count } => PayloadTable {
                corpus: Some(*corpus),
                count: Some(*count),
                ..PayloadTable::default()
            },
            Payload::Deflated(inner) => PayloadTable {
                deflate: Some(RawPayload::from_payload(inner)),
                ..PayloadTable::default()
            },
        };
        RawPayload::Table(Box::new(table))
    }

    /// Bytes as `{ hex = "..." }`.
    pub(super) fn from_bytes(bytes: &[u8]) -> RawPayload {
        RawPayload::Table(Box::new(PayloadTable {
            hex: Some(to_hex(bytes)),
            ..PayloadTable::default()
        }))
    }

    /// A `repeat` pattern: the loader keeps only its bytes, so text reads better where it is text.
    fn from_pattern(pattern: &[u8]) -> RawPayload {
        match std::str::from_utf8(pattern) {
            Ok(text) if !text.chars().any(char::is_control) => RawPayload::Text(text.to_owned()),
            _ => RawPayload::from_bytes(pattern),
        }
    }
}

/// Parses hex digits; spaces, newlines and `_` between bytes are allowed.
pub fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'_'))
        .collect();
    if digits.len() % 2 != 0 {
        return Err(format!("hex payload {hex:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("hex payload {hex:?} has a non-hex digit"))
        })
        .collect()
}

/// Lower-case hex digits, no separators: what [`parse_hex`] reads.
pub(super) fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_allows_spaces_and_rejects_odd_digits() {
        assert_eq!(parse_hex("ce ba_e1").unwrap(), vec![0xce, 0xba, 0xe1]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
