//! The raw form of expectations in a case file: read and validated into an [`Expect`], and written
//! back from one (in the short form where it is enough).

use std::fmt;

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};
use wsspec_wire::CloseCode;

use super::payload::{OpcodeValue, RawPayload};
use crate::case::{AltVerdict, Alternative, Expect, FrameMatch};

/// `expect = "echo"` or one of the atom tables.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum RawExpect {
    Short(ShortExpect),
    Table(Box<ExpectTable>),
}

/// The atoms that are written as a bare string: `"echo"`, and `"fail"` or `"close"` with any code.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ShortExpect {
    Echo,
    Fail,
    Close,
}

#[derive(Default, Deserialize, Serialize)]
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
                let short = match text {
                    "echo" => ShortExpect::Echo,
                    "fail" => ShortExpect::Fail,
                    "close" => ShortExpect::Close,
                    _ => return Err(E::invalid_value(de::Unexpected::Str(text), &self)),
                };
                Ok(RawExpect::Short(short))
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
        let table = match self {
            RawExpect::Short(ShortExpect::Echo) => return Ok(Expect::Echo),
            RawExpect::Short(ShortExpect::Fail) => return Ok(Expect::Fail(Vec::new())),
            RawExpect::Short(ShortExpect::Close) => return Ok(Expect::Close(Vec::new())),
            RawExpect::Table(table) => table,
        };
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

    /// The raw form of an expectation: the short form where there is one, else its atom's table.
    pub(super) fn from_expect(expect: &Expect) -> RawExpect {
        let codes = |codes: &[CloseCode]| Some(codes.iter().map(|code| code.0).collect());
        let mut table = ExpectTable::default();
        match expect {
            Expect::Echo => return RawExpect::Short(ShortExpect::Echo),
            Expect::Fail(any) if any.is_empty() => return RawExpect::Short(ShortExpect::Fail),
            Expect::Close(any) if any.is_empty() => return RawExpect::Short(ShortExpect::Close),
            Expect::Message(FrameMatch { opcode, payload }) => {
                table.message = Some(RawFrameMatch {
                    opcode: OpcodeValue(*opcode),
                    payload: RawPayload::from_payload(payload),
                });
            }
            Expect::Pong(payload) => table.pong = Some(RawPayload::from_payload(payload)),
            Expect::PongsFor(pings) => {
                table.pongs_for = Some(pings.iter().map(RawPayload::from_payload).collect());
            }
            Expect::Fail(fail) => table.fail = codes(fail),
            Expect::Close(close) => table.close = codes(close),
            Expect::Nothing(ms) => table.nothing = Some(*ms),
            Expect::OneOf(alternatives) => {
                table.one_of = Some(
                    alternatives
                        .iter()
                        .map(RawAlternative::from_alternative)
                        .collect(),
                );
            }
        }
        RawExpect::Table(Box::new(table))
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrameMatch {
    opcode: OpcodeValue,
    payload: RawPayload,
}

/// `{ expect = [ATOM, ...], verdict = "non-strict" }`: one ranked alternative of a `one_of`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlternative {
    expect: Vec<RawExpect>,
    verdict: Option<AltVerdict>,
}

impl RawAlternative {
    /// Its atoms, and its verdict unless it is the default `ok`.
    fn from_alternative(alternative: &Alternative) -> RawAlternative {
        let Alternative { expect, verdict } = alternative;
        RawAlternative {
            expect: expect.iter().map(RawExpect::from_expect).collect(),
            verdict: (*verdict != AltVerdict::Ok).then_some(*verdict),
        }
    }
}
