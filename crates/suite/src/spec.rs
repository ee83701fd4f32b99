//! The case language: the case file's serde shapes (the raw forms), their validation into the
//! [`crate::case`] model, and the way back from the model to them.
//!
//! These types mirror the TOML exactly, in both directions: [`crate::load`] deserializes them and
//! validates them into the model (`into_case`, `into_step`, ...), and [`crate::write`] converts the
//! model back to them (`from_case`, `from_step`, ...) and serializes them. Each piece of the language
//! is read, validated and written in one place: this file holds a case's own keys and `deflate`,
//! [`step`] the steps, [`frame`] a frame, [`payload`] payloads and opcodes, [`expect`] the
//! expectations, [`handshake`] the `[case.handshake]` table.
//!
//! Reading, `deny_unknown_fields` is everywhere, so a typo is an error, not a silently ignored key.
//! Values that may be written short or long (`payload = "text"` or `payload = { hex = "ff" }`,
//! `expect = "echo"` or `expect = { fail = [1002] }`) deserialize through small hand-written
//! visitors, which keeps serde's precise error messages. Writing, a key is left out where the
//! loader's default gives the same value (`None` is no key at all in TOML; `skip_serializing_if`
//! leaves out the other defaults), the short form is written where it is enough, and keys come in
//! the order the raw form declares them (the order in which an unknown key's error lists them). A
//! `Spanned` value serializes as the value itself; the model has no spans, so the way back gives
//! its values an empty one ([`unspanned`]).

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::case::{Case, CaseId, Level, ObserveSpec, Role, Source, WritePlan};
use crate::handshake::{
    DeflateOffer, DeflateSpec, Handshake, HandshakeExpect, RequestSpec, ResponseSpec,
};

/// How long an expectation waits by default, in milliseconds. A conforming peer answers within a round
/// trip, so this only delays the verdict on peers that fail.
pub const DEFAULT_EXPECT_MS: u64 = 2_000;

/// The pause between the pieces of a chopped write when a step sets none, in milliseconds.
pub const DEFAULT_CHOP_DELAY_MS: u64 = 1;

mod expect;
mod frame;
mod handshake;
mod payload;
mod step;

use self::handshake::RawHandshake;
pub use self::payload::parse_hex;
use self::step::{RawStep, into_steps};

/// The most bytes of a payload the harness builds whole in memory: a `send_raw` payload, a close payload
/// or reason, and the pattern of a `repeat`. (A frame's payload is generated as it is written, so a
/// `send` or `send_message` payload can be of any length.) A case file cannot make the harness
/// allocate more than this.
pub const MAX_BUILT_PAYLOAD: u64 = 16 << 20;

type SpanError = (Option<Range<usize>>, String);

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCase {
    id: Spanned<String>,
    title: String,
    rfc: String,
    level: Level,
    requirement: String,
    #[serde(default)]
    requirements: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    roles: Option<Vec<Role>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "is_default")]
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
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeflate {
    #[serde(default)]
    offers: Option<Vec<DeflateOffer>>,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    peer_no_context_takeover: bool,
    #[serde(default)]
    peer_max_window_bits: Option<u8>,
    #[serde(default, skip_serializing_if = "is_default")]
    no_context_takeover: bool,
    #[serde(default)]
    max_window_bits: Option<u8>,
    #[serde(default, skip_serializing_if = "is_default")]
    hint_no_context_takeover: bool,
}

impl RawDeflate {
    fn into_spec(self) -> Result<DeflateSpec, String> {
        let single = DeflateOffer {
            peer_no_context_takeover: self.peer_no_context_takeover,
            peer_max_window_bits: self.peer_max_window_bits,
            no_context_takeover: self.no_context_takeover,
            max_window_bits: self.max_window_bits,
            hint_no_context_takeover: self.hint_no_context_takeover,
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

    /// Every offer written out in `offers`, and `required` always, as hand-written cases do.
    fn from_spec(spec: &DeflateSpec) -> RawDeflate {
        let DeflateSpec { offers, required } = spec;
        RawDeflate {
            offers: Some(offers.clone()),
            required: *required,
            peer_no_context_takeover: false,
            peer_max_window_bits: None,
            no_context_takeover: false,
            max_window_bits: None,
            hint_no_context_takeover: false,
        }
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
        let requirements = match self.requirements {
            Some(ids) => {
                let span = ids.span();
                let ids = ids.into_inner();
                crate::requirement::check_ids(&ids).map_err(|msg| (Some(span), msg))?;
                ids
            }
            None => Vec::new(),
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
            requirements,
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

    /// The raw form of a case: every key whose value is not the loader's default.
    pub(crate) fn from_case(case: &Case) -> RawCase {
        // Every field by name, so that a field added to `Case` does not compile until it is written.
        let Case {
            id,
            title,
            section_title: _,
            rfc,
            level,
            requirement,
            requirements,
            note,
            roles,
            steps,
            timeout_ms,
            performance,
            handshake,
            observe,
            deflate,
            source: _,
        } = case;
        RawCase {
            id: unspanned(id.as_str().to_owned()),
            title: title.clone(),
            rfc: rfc.clone(),
            level: *level,
            requirement: requirement.clone(),
            requirements: (!requirements.is_empty()).then(|| unspanned(requirements.clone())),
            note: note.clone(),
            roles: (*roles != crate::load::default_roles()).then(|| roles.clone()),
            timeout_ms: *timeout_ms,
            performance: *performance,
            handshake: (!handshake.is_standard())
                .then(|| unspanned(RawHandshake::from_handshake(handshake))),
            observe: observe.clone(),
            deflate: deflate
                .as_ref()
                .map(|spec| unspanned(RawDeflate::from_spec(spec))),
            steps: steps
                .iter()
                .map(|step| unspanned(RawStep::from_step(step)))
                .collect(),
        }
    }
}

/// A raw value made from the model, which has no place in a file: its span is empty.
fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

fn yes() -> bool {
    true
}

/// Whether a key that defaults to `true` holds it, and is left out when written.
fn is_yes(value: &bool) -> bool {
    *value
}

/// Whether a key holds the loader's default (`false`, `0`, an empty list), and is left out when written.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
