//! The raw form of expectations in a case file, as serde reads them, and their conversion to the model.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};
use wsspec_wire::CloseCode;

use super::payload::{OpcodeValue, RawPayload};
use crate::case::{AltVerdict, Alternative, Expect, FrameMatch};

/// `expect = "echo"` or one of the atom tables.
pub(crate) enum RawExpect {
    Table(Box<ExpectTable>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectTable {
    echo: Option<bool>,
    message: Option<RawFrameMatch>,
    pong: Option<RawPayload>,
    pongs_for: Option<Vec<RawPayload>>,
    fail: Option<Vec<u16>>,
    close: Option<Vec<u16>>,
    nothing: Option<u64>,
    one_of: Option<Vec<RawAlternative>>,
}

impl<'de> Deserialize<'de> for RawExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawExpect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"echo\", \"fail\", \"close\", or a table such as { fail = [1002] }")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawExpect, E> {
                let mut table = ExpectTable {
                    echo: None,
                    message: None,
                    pong: None,
                    pongs_for: None,
                    fail: None,
                    close: None,
                    nothing: None,
                    one_of: None,
                };
                match text {
                    "echo" => table.echo = Some(true),
                    "fail" => table.fail = Some(Vec::new()),
                    "close" => table.close = Some(Vec::new()),
                    _ => return Err(E::invalid_value(de::Unexpected::Str(text), &self)),
                }
                Ok(RawExpect::Table(Box::new(table)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawExpect, A::Error> {
                ExpectTable::deserialize(MapAccessDeserializer::new(map))
                    .map(|t| RawExpect::Table(Box::new(t)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl RawExpect {
    pub(super) fn into_expect(self) -> Result<Expect, String> {
        let RawExpect::Table(table) = self;
        let ExpectTable {
            echo,
            message,
            pong,
            pongs_for,
            fail,
            close,
            nothing,
            one_of,
        } = *table;
        let count = [
            echo.is_some(),
            message.is_some(),
            pong.is_some(),
            pongs_for.is_some(),
            fail.is_some(),
            close.is_some(),
            nothing.is_some(),
            one_of.is_some(),
        ]
        .iter()
        .filter(|on| **on)
        .count();
        if count != 1 {
            return Err(
                "an expectation has exactly one of echo, message, pong, pongs_for, fail, close, nothing, one_of".into(),
            );
        }
        Ok(if echo == Some(false) {
            return Err("`echo = false` means nothing; leave it out".into());
        } else if echo.is_some() {
            Expect::Echo
        } else if let Some(message) = message {
            Expect::Message(FrameMatch {
                opcode: message.opcode.0,
                payload: message.payload.into_payload()?,
            })
        } else if let Some(pong) = pong {
            Expect::Pong(pong.into_payload()?)
        } else if let Some(pings) = pongs_for {
            if pings.is_empty() {
                return Err("`pongs_for` needs the payloads of the pings sent".into());
            }
            Expect::PongsFor(
                pings
                    .into_iter()
                    .map(RawPayload::into_payload)
                    .collect::<Result<_, _>>()?,
            )
        } else if let Some(codes) = fail {
            Expect::Fail(codes.into_iter().map(CloseCode).collect())
        } else if let Some(codes) = close {
            Expect::Close(codes.into_iter().map(CloseCode).collect())
        } else if let Some(ms) = nothing {
            Expect::Nothing(ms)
        } else {
            let alternatives = one_of.unwrap_or_default();
            if alternatives.len() < 2 {
                return Err("`one_of` needs at least two alternatives".into());
            }
            let mut out = Vec::with_capacity(alternatives.len());
            for alt in alternatives {
                let expect = alt
                    .expect
                    .into_iter()
                    .map(RawExpect::into_expect)
                    .collect::<Result<Vec<_>, _>>()?;
                if expect.is_empty()
                    || expect
                        .iter()
                        .any(|e| matches!(e, Expect::OneOf(_) | Expect::Nothing(_)))
                {
                    return Err("a `one_of` alternative is a non-empty list of simple atoms (no one_of, no nothing)".into());
                }
                out.push(Alternative {
                    expect,
                    verdict: alt.verdict.unwrap_or(AltVerdict::Ok),
                });
            }
            Expect::OneOf(out)
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrameMatch {
    opcode: OpcodeValue,
    payload: RawPayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlternative {
    expect: Vec<RawExpect>,
    verdict: Option<AltVerdict>,
}
