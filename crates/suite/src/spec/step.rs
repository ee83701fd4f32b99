//! The raw form of steps in a case file (the actions, `repeat`, `send_message` and `close`, and how a
//! step writes): read and validated into [`Step`]s, and written back from them.

use std::fmt;

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};
use toml::Spanned;
use wsspec_wire::CloseCode;

use super::expect::RawExpect;
use super::frame::RawFrame;
use super::payload::{OneOrMany, OpcodeValue, RawPayload};
use super::{DEFAULT_CHOP_DELAY_MS, DEFAULT_EXPECT_MS, SpanError, unspanned};
use crate::case::{ClosePayloadSpec, OnTimeout, Payload, Step, WritePlan};

/// Validates steps, keeping the span of the one at fault.
pub(super) fn into_steps(raw: Vec<Spanned<RawStep>>) -> Result<Vec<Step>, SpanError> {
    raw.into_iter()
        .map(|step| {
            let span = step.span();
            step.into_inner()
                .into_step()
                .map_err(|(inner, msg)| (inner.or(Some(span)), msg))
        })
        .collect()
}

/// `repeat = { times = N, steps = [...] }`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRepeat {
    times: u32,
    steps: Vec<Spanned<RawStep>>,
}

/// One step: exactly one action key, plus the modifiers that apply to it.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    send: Option<OneOrMany<RawFrame>>,
    send_message: Option<RawMessage>,
    send_raw: Option<RawPayload>,
    wait: Option<u64>,
    close: Option<RawClose>,
    drop: Option<bool>,
    half_close: Option<bool>,
    repeat: Option<RawRepeat>,
    expect: Option<RawExpect>,
    within_ms: Option<u64>,
    on_timeout: Option<String>,
    chop: Option<usize>,
    delay_ms: Option<u64>,
    per_frame: Option<bool>,
}

impl RawStep {
    fn into_step(self) -> Result<Step, SpanError> {
        if let Some(repeat) = self.repeat {
            let others = self.send.is_some() as u8
                + self.send_message.is_some() as u8
                + self.send_raw.is_some() as u8
                + self.wait.is_some() as u8
                + self.close.is_some() as u8
                + self.drop.is_some() as u8
                + self.half_close.is_some() as u8
                + self.expect.is_some() as u8;
            if others > 0 || self.chop.is_some() || self.within_ms.is_some() {
                return Err((
                    None,
                    "a `repeat` step has only `repeat = { times, steps }`".into(),
                ));
            }
            if repeat.times == 0 || repeat.steps.is_empty() {
                return Err((
                    None,
                    "`repeat` needs times >= 1 and at least one step".into(),
                ));
            }
            let steps = into_steps(repeat.steps)?;
            return Ok(Step::Repeat {
                times: repeat.times,
                steps,
            });
        }
        self.into_simple_step().map_err(|msg| (None, msg))
    }

    fn into_simple_step(self) -> Result<Step, String> {
        let actions = [
            ("send", self.send.is_some()),
            ("send_message", self.send_message.is_some()),
            ("send_raw", self.send_raw.is_some()),
            ("wait", self.wait.is_some()),
            ("close", self.close.is_some()),
            ("drop", self.drop.is_some()),
            ("half_close", self.half_close.is_some()),
            ("expect", self.expect.is_some()),
        ];
        let present: Vec<&str> = actions
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect();
        match present.as_slice() {
            [_] => {}
            [] => return Err("a step needs one action: send, send_message, send_raw, wait, close, drop, half_close, repeat or expect".into()),
            many => return Err(format!("a step has one action, this one has {}", many.join(" and "))),
        }
        let writes = matches!(present[0], "send" | "send_message" | "send_raw" | "close");
        if !writes && (self.chop.is_some() || self.delay_ms.is_some()) {
            return Err(format!(
                "`chop` and `delay_ms` apply to steps that write, not to `{}`",
                present[0]
            ));
        }
        if self.per_frame.is_some() && self.send.is_none() {
            return Err("`per_frame` applies only to `send`".into());
        }
        if self.expect.is_none() && (self.within_ms.is_some() || self.on_timeout.is_some()) {
            return Err("`within_ms` and `on_timeout` apply only to `expect` steps".into());
        }
        let on_timeout = match self.on_timeout.as_deref() {
            None | Some("fail") => OnTimeout::Fail,
            Some("non-strict") => OnTimeout::NonStrict,
            Some("pass") => OnTimeout::Pass,
            Some(other) => {
                return Err(format!(
                    "on_timeout {other:?} must be \"fail\", \"non-strict\" or \"pass\""
                ));
            }
        };
        let write = write_plan(self.chop, self.delay_ms, self.per_frame.unwrap_or(false));
        Ok(if let Some(frames) = self.send {
            let frames = frames
                .0
                .into_iter()
                .map(RawFrame::into_frame)
                .collect::<Result<Vec<_>, _>>()?;
            Step::Send { frames, write }
        } else if let Some(message) = self.send_message {
            Step::SendMessage {
                opcode: message.opcode.0,
                payload: message.payload.into_payload()?,
                fragment: message.fragment.filter(|bytes| *bytes > 0),
                compress: message.compress.filter(|compress| !compress),
                write,
            }
        } else if let Some(raw) = self.send_raw {
            Step::SendRaw {
                bytes: raw.into_built("a `send_raw` payload")?.to_bytes(),
                write,
            }
        } else if let Some(ms) = self.wait {
            Step::Wait { ms }
        } else if let Some(close) = self.close {
            Step::Close {
                payload: close.into_spec()?,
                write,
            }
        } else if self.drop.is_some() {
            Step::Drop
        } else if self.half_close.is_some() {
            Step::HalfClose
        } else {
            let expect = self
                .expect
                .map(RawExpect::into_expect)
                .transpose()?
                .ok_or("no expectation")?;
            Step::Expect {
                expect,
                within_ms: self.within_ms.unwrap_or(DEFAULT_EXPECT_MS),
                on_timeout,
            }
        })
    }

    /// The raw form of a step: its action, and the modifiers that differ from the defaults.
    pub(super) fn from_step(step: &Step) -> RawStep {
        let mut raw = RawStep::default();
        match step {
            Step::Send { frames, .. } => {
                raw.send = Some(OneOrMany(frames.iter().map(RawFrame::from_frame).collect()));
            }
            Step::SendMessage {
                opcode,
                payload,
                fragment,
                compress,
                ..
            } => {
                raw.send_message = Some(RawMessage {
                    opcode: OpcodeValue(*opcode),
                    payload: RawPayload::from_payload(payload),
                    fragment: *fragment,
                    compress: *compress,
                });
            }
            Step::SendRaw { bytes, .. } => raw.send_raw = Some(RawPayload::from_bytes(bytes)),
            Step::Wait { ms } => raw.wait = Some(*ms),
            Step::Close { payload, .. } => raw.close = Some(RawClose::from_spec(payload)),
            Step::Drop => raw.drop = Some(true),
            Step::HalfClose => raw.half_close = Some(true),
            Step::Repeat { times, steps } => {
                raw.repeat = Some(RawRepeat {
                    times: *times,
                    steps: steps
                        .iter()
                        .map(|step| unspanned(RawStep::from_step(step)))
                        .collect(),
                });
            }
            Step::Expect {
                expect,
                within_ms,
                on_timeout,
            } => {
                raw.expect = Some(RawExpect::from_expect(expect));
                raw.within_ms = Some(*within_ms).filter(|ms| *ms != DEFAULT_EXPECT_MS);
                raw.on_timeout = match on_timeout {
                    OnTimeout::Fail => None,
                    OnTimeout::NonStrict => Some("non-strict".to_owned()),
                    OnTimeout::Pass => Some("pass".to_owned()),
                };
            }
        }
        if let Some(write) = step.write_plan() {
            (raw.chop, raw.delay_ms) = chop_keys(write);
            raw.per_frame = write.per_frame.then_some(true);
        }
        raw
    }
}

/// The write plan that a step's (or a handshake's) `chop` and `delay_ms` keys give.
pub(super) fn write_plan(chop: Option<usize>, delay_ms: Option<u64>, per_frame: bool) -> WritePlan {
    let chop = chop.filter(|bytes| *bytes > 0);
    WritePlan {
        chop,
        delay_ms: delay_ms.unwrap_or(default_delay_ms(chop)),
        per_frame,
    }
}

/// The `chop` and `delay_ms` keys that give `plan` back, each left out where it is the default.
pub(super) fn chop_keys(plan: &WritePlan) -> (Option<usize>, Option<u64>) {
    let delay_ms = Some(plan.delay_ms).filter(|ms| *ms != default_delay_ms(plan.chop));
    (plan.chop, delay_ms)
}

/// The `delay_ms` of a write that sets none: a short pause between chopped pieces, none otherwise.
/// Pieces written back to back can merge in the peer's receive buffer, and then a byte-by-byte case
/// tests nothing; the pause makes each piece arrive on its own, as Autobahn's synchronous writes do.
fn default_delay_ms(chop: Option<usize>) -> u64 {
    if chop.is_some() {
        DEFAULT_CHOP_DELAY_MS
    } else {
        0
    }
}

/// `send_message = { opcode, payload, fragment = N, compress = false }`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMessage {
    opcode: OpcodeValue,
    payload: RawPayload,
    #[serde(default)]
    fragment: Option<u64>,
    #[serde(default)]
    compress: Option<bool>,
}

/// `close = 1000`, or `close = { code = 1000, reason = "bye" }`, or `close = { payload = { hex = "03" } }`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum RawClose {
    Code(u16),
    Table(CloseTable),
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseTable {
    code: Option<u16>,
    reason: Option<RawPayload>,
    payload: Option<RawPayload>,
}

impl<'de> Deserialize<'de> for RawClose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawClose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a close code, or { code, reason } or { payload }")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawClose, E> {
                u16::try_from(n)
                    .map(RawClose::Code)
                    .map_err(|_| E::custom(format!("close code {n} does not fit in 16 bits")))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawClose, A::Error> {
                CloseTable::deserialize(MapAccessDeserializer::new(map)).map(RawClose::Table)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl RawClose {
    fn into_spec(self) -> Result<ClosePayloadSpec, String> {
        match self {
            RawClose::Code(code) => Ok(ClosePayloadSpec::Code {
                code: CloseCode(code),
                reason: Payload::default(),
            }),
            RawClose::Table(CloseTable {
                code: Some(code),
                reason,
                payload: None,
            }) => Ok(ClosePayloadSpec::Code {
                code: CloseCode(code),
                reason: reason
                    .map(|reason| reason.into_built("a close reason"))
                    .transpose()?
                    .unwrap_or_default(),
            }),
            RawClose::Table(CloseTable {
                code: None,
                reason: None,
                payload: Some(payload),
            }) => Ok(ClosePayloadSpec::Raw(
                payload.into_built("a close payload")?,
            )),
            RawClose::Table(_) => {
                Err("`close` takes `code` (and `reason`), or only `payload`".into())
            }
        }
    }

    /// The raw form of a close payload: the bare code when it has no reason.
    fn from_spec(spec: &ClosePayloadSpec) -> RawClose {
        match spec {
            ClosePayloadSpec::Code { code, reason } if *reason == Payload::default() => {
                RawClose::Code(code.0)
            }
            ClosePayloadSpec::Code { code, reason } => RawClose::Table(CloseTable {
                code: Some(code.0),
                reason: Some(RawPayload::from_payload(reason)),
                payload: None,
            }),
            ClosePayloadSpec::Raw(payload) => RawClose::Table(CloseTable {
                code: None,
                reason: None,
                payload: Some(RawPayload::from_payload(payload)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use wsspec_wire::Opcode;

    use super::*;
    use crate::case::{AltVerdict, Expect};

    fn step(text: &str) -> Result<Step, String> {
        let raw: RawStep = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        raw.into_step().map_err(|(_, msg)| msg)
    }

    #[test]
    fn repeat_nests_steps() {
        let Step::Repeat { times, steps } =
            step("repeat = { times = 3, steps = [{ send_message = { opcode = 'text', payload = 'x' } }, { expect = 'echo' }] }")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!((times, steps.len()), (3, 2));
        assert!(step("repeat = { times = 0, steps = [{ wait = 1 }] }").is_err());
        assert!(step("repeat = { times = 2, steps = [{ wait = 1 }] }\nwait = 3").is_err());
    }

    #[test]
    fn payloads_built_in_memory_are_bounded() {
        for text in [
            "send_raw = { repeat = 'x', count = 1_000_000_000_000 }",
            "close = { code = 1000, reason = { repeat = 'x', count = 1_000_000_000_000 } }",
            "close = { payload = { repeat = 'x', count = 1_000_000_000_000 } }",
            "send = { opcode = 'text', payload = { repeat = { repeat = 'x', count = 1_000_000_000_000 }, count = 1 } }",
        ] {
            let err = step(text).unwrap_err();
            assert!(
                err.contains("over the 16777216 bytes built in memory"),
                "{text}: {err}"
            );
        }
        // A frame's payload is generated as it is written: any length is fine.
        assert!(
            step(
                "send = { opcode = 'text', payload = { repeat = 'x', count = 1_000_000_000_000 } }"
            )
            .is_ok()
        );
    }

    #[test]
    fn send_accepts_one_frame_or_many() {
        let one = step("send = { opcode = 'text', payload = 'hi' }").unwrap();
        let Step::Send { frames, .. } = one else {
            panic!()
        };
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].payload, Payload::Text("hi".into()));
        let many =
            step("send = [{ opcode = 1, fin = false }, { opcode = 'continuation' }]\nchop = 1")
                .unwrap();
        let Step::Send { frames, write } = many else {
            panic!()
        };
        assert_eq!(
            (frames.len(), frames[0].fin, write.chop),
            (2, false, Some(1))
        );
    }

    #[test]
    fn step_needs_exactly_one_action() {
        assert!(
            step("wait = 5\nexpect = 'echo'")
                .unwrap_err()
                .contains("wait and expect")
        );
        assert!(step("chop = 3").unwrap_err().contains("needs one action"));
        assert!(
            step("wait = 5\nchop = 3")
                .unwrap_err()
                .contains("apply to steps that write")
        );
    }

    #[test]
    fn expect_short_and_long_forms() {
        assert_eq!(
            step("expect = 'echo'").unwrap(),
            Step::Expect {
                expect: Expect::Echo,
                within_ms: DEFAULT_EXPECT_MS,
                on_timeout: OnTimeout::Fail,
            }
        );
        let Step::Expect {
            expect, within_ms, ..
        } = step("expect = { fail = [1002] }\nwithin_ms = 500").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (expect, within_ms),
            (Expect::Fail(vec![CloseCode::PROTOCOL_ERROR]), 500)
        );
        assert!(step("expect = { fail = [1002], echo = true }").is_err());
        assert!(step("expect = 'pong'").is_err());
    }

    #[test]
    fn one_of_ranks_alternatives() {
        let Step::Expect { expect: Expect::OneOf(alts), .. } = step(
            "expect = { one_of = [{ expect = ['echo', { fail = [1002] }] }, { expect = [{ fail = [1002] }], verdict = 'non-strict' }] }",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(alts[0].verdict, AltVerdict::Ok);
        assert_eq!(alts[1].verdict, AltVerdict::NonStrict);
        assert_eq!(
            alts[0].expect,
            vec![Expect::Echo, Expect::Fail(vec![CloseCode::PROTOCOL_ERROR])]
        );
    }

    #[test]
    fn opcodes_by_name_or_number() {
        let Step::Send { frames, .. } = step("send = { opcode = 11 }").unwrap() else {
            panic!()
        };
        assert_eq!(frames[0].opcode, Opcode::Reserved(11));
        assert!(
            step("send = { opcode = 16 }")
                .unwrap_err()
                .contains("outside 0-15")
        );
        assert!(step("send = { opcode = 'pingg' }").is_err());
    }

    #[test]
    fn repeat_payload_and_close_forms() {
        let Step::Send { frames, .. } =
            step("send = { opcode = 'ping', payload = { repeat = { hex = 'fe' }, count = 3 } }")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(frames[0].payload.to_bytes(), vec![0xfe; 3]);
        let Step::Close { payload, .. } = step("close = { payload = { hex = '03' } }").unwrap()
        else {
            panic!()
        };
        assert_eq!(payload, ClosePayloadSpec::Raw(Payload::Bytes(vec![3])));
        assert!(step("close = { code = 1000, payload = 'x' }").is_err());
    }
}
