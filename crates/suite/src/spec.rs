//! The case file's serde shapes, and their validation into the [`crate::case`] model.
//!
//! These types mirror the TOML exactly (`deny_unknown_fields` everywhere, so a typo is an error, not a
//! silently ignored key). Values that may be written short or long (`payload = "text"` or
//! `payload = { hex = "ff" }`, `expect = "echo"` or `expect = { fail = [1002] }`) deserialize through
//! small hand-written visitors, which keeps serde's precise error messages.

use std::{fmt, marker::PhantomData, ops::Range};

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};
use toml::Spanned;
use wsspec_wire::{CloseCode, Opcode};

use crate::case::{
    AltVerdict, Alternative, Case, CaseId, ClosePayloadSpec, Expect, FrameMatch, FrameSpec,
    LengthFormSpec, Level, MaskSpec, ObserveSpec, OnTimeout, Payload, Role, Source, Step,
    WritePlan,
};

/// How long an expectation waits by default, in milliseconds. A conforming peer answers within a round
/// trip, so this only delays the verdict on peers that fail.
pub const DEFAULT_EXPECT_MS: u64 = 2_000;

/// The pause between the pieces of a chopped write when a step sets none, in milliseconds.
pub const DEFAULT_CHOP_DELAY_MS: u64 = 1;

mod expect;
mod handshake;
mod payload;

use self::expect::RawExpect;
use self::handshake::RawHandshake;
pub use self::payload::parse_hex;
use self::payload::{OneOrMany, OpcodeValue, RawPayload};
use crate::corpus::Corpus;
use crate::handshake::{
    DeflateOffer, DeflateSpec, Handshake, HandshakeExpect, RequestSpec, ResponseSpec,
};

/// The most bytes of a payload the harness builds whole in memory: a `send_raw` payload, a close payload
/// or reason, and the pattern of a `repeat`. (A frame's payload is generated as it is written, so a
/// `send` or `send_message` payload can be of any length.) A case file cannot make the harness
/// allocate more than this.
pub const MAX_BUILT_PAYLOAD: u64 = 16 << 20;

type SpanError = (Option<Range<usize>>, String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCase {
    id: Spanned<String>,
    title: String,
    rfc: String,
    level: Level,
    requirement: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    roles: Option<Vec<Role>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    performance: bool,
    #[serde(default)]
    handshake: Option<Spanned<RawHandshake>>,
    #[serde(default)]
    observe: Option<ObserveSpec>,
    #[serde(default)]
    deflate: Option<Spanned<RawDeflate>>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
}

/// `deflate = { peer_max_window_bits = 9 }` (one offer), or `deflate = { offers = [..], required = false }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeflate {
    #[serde(default)]
    offers: Option<Vec<DeflateOffer>>,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    peer_no_context_takeover: bool,
    #[serde(default)]
    peer_max_window_bits: Option<u8>,
    #[serde(default)]
    no_context_takeover: bool,
    #[serde(default)]
    max_window_bits: Option<u8>,
}

impl RawDeflate {
    fn into_spec(self) -> Result<DeflateSpec, String> {
        let single = DeflateOffer {
            peer_no_context_takeover: self.peer_no_context_takeover,
            peer_max_window_bits: self.peer_max_window_bits,
            no_context_takeover: self.no_context_takeover,
            max_window_bits: self.max_window_bits,
        };
        let offers = match self.offers {
            Some(_) if single != DeflateOffer::default() => {
                return Err(
                    "`deflate` takes `offers = [..]` or the parameters of one offer, not both"
                        .into(),
                );
            }
            Some(offers) if offers.is_empty() => {
                return Err("`deflate.offers` needs at least one offer".into());
            }
            Some(offers) => offers,
            None => vec![single],
        };
        for offer in &offers {
            for bits in [offer.peer_max_window_bits, offer.max_window_bits]
                .into_iter()
                .flatten()
            {
                if !(8..=15).contains(&bits) {
                    return Err(format!(
                        "window bits {bits} are outside 8-15 (RFC 7692 §7.1.2); send invalid offers with [case.handshake] set"
                    ));
                }
            }
        }
        Ok(DeflateSpec {
            offers,
            required: self.required,
        })
    }
}

impl RawCase {
    pub(crate) fn into_case(self, section_title: &str, source: Source) -> Result<Case, SpanError> {
        let id = CaseId::parse(self.id.get_ref()).map_err(|msg| (Some(self.id.span()), msg))?;
        let steps = into_steps(self.steps)?;
        let handshake = match self.handshake {
            Some(raw) => {
                let span = raw.span();
                raw.into_inner()
                    .into_handshake()
                    .map_err(|msg| (Some(span), msg))?
            }
            None => Handshake::default(),
        };
        let deflate = match self.deflate {
            Some(raw) => {
                let span = raw.span();
                Some(
                    raw.into_inner()
                        .into_spec()
                        .map_err(|msg| (Some(span), msg))?,
                )
            }
            None => None,
        };
        let roles = self.roles.unwrap_or_else(crate::load::default_roles);
        let request_changed = handshake.request != RequestSpec::default()
            || handshake.write != WritePlan::default()
            || !handshake.pipelined.is_empty()
            || handshake.then_connect
            || handshake.expect != HandshakeExpect::Upgrade;
        if request_changed && roles.contains(&Role::Client) {
            return Err((
                None,
                format!(
                    "case {id} changes the request or expects a refusal, which only a server target answers: set roles = [\"server\"]"
                ),
            ));
        }
        if handshake.response != ResponseSpec::Upgrade && roles.contains(&Role::Server) {
            return Err((
                None,
                format!(
                    "case {id} changes the response, which only a client target receives: set roles = [\"client\"]"
                ),
            ));
        }
        if self.observe.is_some() && roles.contains(&Role::Server) {
            return Err((
                None,
                format!(
                    "case {id} checks what a client's application observed: set roles = [\"client\"]"
                ),
            ));
        }
        match handshake.expect {
            HandshakeExpect::Refuse(_) if !steps.is_empty() => {
                return Err((
                    None,
                    format!("case {id} expects the handshake to be refused, so it has no steps"),
                ));
            }
            HandshakeExpect::Upgrade if steps.is_empty() && handshake.is_standard() => {
                return Err((None, format!("case {id} has no steps")));
            }
            _ => {}
        }
        Ok(Case {
            id,
            title: self.title,
            section_title: section_title.to_owned(),
            rfc: self.rfc,
            level: self.level,
            requirement: self.requirement,
            note: self.note,
            roles,
            steps,
            timeout_ms: self.timeout_ms,
            performance: self.performance,
            handshake,
            observe: self.observe,
            deflate,
            source,
        })
    }
}

/// Validates steps, keeping the span of the one at fault.
fn into_steps(raw: Vec<Spanned<RawStep>>) -> Result<Vec<Step>, SpanError> {
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRepeat {
    times: u32,
    steps: Vec<Spanned<RawStep>>,
}

/// One step: exactly one action key, plus the modifiers that apply to it.
#[derive(Deserialize)]
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
        let chop = self.chop.filter(|bytes| *bytes > 0);
        let write = WritePlan {
            chop,
            // Pieces written back to back can merge in the peer's receive buffer, and then a byte-by-byte
            // case tests nothing. A short pause makes each piece arrive on its own, as Autobahn's
            // synchronous writes do.
            delay_ms: self.delay_ms.unwrap_or(if chop.is_some() {
                DEFAULT_CHOP_DELAY_MS
            } else {
                0
            }),
            per_frame: self.per_frame.unwrap_or(false),
        };
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrame {
    opcode: OpcodeValue,
    #[serde(default = "yes")]
    fin: bool,
    #[serde(default)]
    rsv: u8,
    #[serde(default)]
    mask: Option<String>,
    #[serde(default)]
    payload: Option<RawPayload>,
    #[serde(default)]
    length_form: Option<String>,
    #[serde(default)]
    declared_len: Option<u64>,
}

fn yes() -> bool {
    true
}

impl RawFrame {
    fn into_frame(self) -> Result<FrameSpec, String> {
        if self.rsv > 7 {
            return Err(format!(
                "rsv {} is outside 0-7 (RSV1 = 4, RSV2 = 2, RSV3 = 1)",
                self.rsv
            ));
        }
        let mask = match self.mask.as_deref() {
            None | Some("auto") => MaskSpec::Auto,
            Some("none") => MaskSpec::None,
            Some("random") => MaskSpec::Random,
            Some("auto-zero") => MaskSpec::AutoZero,
            Some(hex) => {
                let key: [u8; 4] = parse_hex(hex)?.try_into().map_err(|_| {
                    format!("mask {hex:?} must be auto, none, random or 4 bytes of hex")
                })?;
                MaskSpec::Key(key)
            }
        };
        let length_form = match self.length_form.as_deref() {
            None => None,
            Some("short" | "7") => Some(LengthFormSpec::Short),
            Some("u16" | "16") => Some(LengthFormSpec::U16),
            Some("u64" | "64") => Some(LengthFormSpec::U64),
            Some(other) => return Err(format!("length_form {other:?} must be short, u16 or u64")),
        };
        Ok(FrameSpec {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode.0,
            mask,
            payload: self
                .payload
                .map(RawPayload::into_payload)
                .transpose()?
                .unwrap_or_default(),
            length_form,
            declared_len: self.declared_len,
        })
    }
}

#[derive(Deserialize)]
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
pub(crate) enum RawClose {
    Code(u16),
    Table(CloseTable),
}

#[derive(Deserialize)]
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn hex_allows_spaces_and_rejects_odd_digits() {
        assert_eq!(parse_hex("ce ba_e1").unwrap(), vec![0xce, 0xba, 0xe1]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
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
