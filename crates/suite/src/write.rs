//! Writing cases back as a case file: the inverse of [`crate::load`].
//!
//! [`write_file`] turns loaded or generated [`Case`]s into the TOML that `cases/README.md` documents,
//! one `[[case]]` table per case, each step an inline table on a line of its own. Loading the text
//! again gives back equal cases (all but [`Case::source`], which names where a case was read from):
//! the tests check this on every built-in case. The network fuzzer saves its findings with it.
//!
//! Every field is written out explicitly where it differs from the loader's default, and left out
//! where it does not, so a written case reads like a hand-written one. Integers are TOML's 64-bit
//! signed integers: a length or count over `i64::MAX` cannot be written, just as it cannot be loaded.

mod handshake;

use self::handshake::handshake_entries;

use std::fmt::Write as _;

use wsspec_wire::{CloseCode, Opcode};

use crate::{
    DEFAULT_EXPECT_MS,
    case::{
        AltVerdict, Alternative, Case, ClosePayloadSpec, Expect, FrameMatch, FrameSpec,
        LengthFormSpec, MaskSpec, ObserveSpec, OnTimeout, Payload, Step, WritePlan,
    },
    handshake::{
        DeflateOffer, DeflateSpec, Handshake, HandshakeExpect, HeaderCase, Refusal, RequestEdit,
        RequestSpec, ResponseEdit, ResponseSpec,
    },
    spec::DEFAULT_CHOP_DELAY_MS,
};

/// A TOML value as the writer builds it: scalars, arrays and inline tables.
#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(u64),
    Bool(bool),
    Array(Vec<Value>),
    Table(Vec<(&'static str, Value)>),
}

impl Value {
    fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    /// Renders the value inline (tables as `{ k = v, ... }`).
    fn render(&self, out: &mut String) {
        match self {
            Value::Str(text) => out.push_str(&quote(text)),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Value::Table(entries) if entries.is_empty() => out.push_str("{}"),
            Value::Table(entries) => {
                out.push_str("{ ");
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    out.push_str(" = ");
                    value.render(out);
                }
                out.push_str(" }");
            }
        }
    }

    fn to_inline(&self) -> String {
        let mut out = String::new();
        self.render(&mut out);
        out
    }
}

/// A TOML basic string with every character that needs it escaped.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Writes one case file: the section's number and title, then each case as a `[[case]]` table.
/// Every case's id should start with `section`, as the loader requires.
pub fn write_file(section: u32, title: &str, cases: &[Case]) -> String {
    let mut out = format!(
        "section = {}\ntitle = {}\n",
        quote(&section.to_string()),
        quote(title)
    );
    for case in cases {
        out.push('\n');
        write_case(&mut out, case);
    }
    out
}

/// Appends one `[[case]]` table.
fn write_case(out: &mut String, case: &Case) {
    // Every field by name, so that a field added to `Case` does not compile until it is written.
    let Case {
        id,
        title,
        section_title: _,
        rfc,
        level,
        requirement,
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
    out.push_str("[[case]]\n");
    let mut line = |key: &str, value: Value| {
        let _ = writeln!(out, "{key} = {}", value.to_inline());
    };
    line("id", Value::str(id.as_str()));
    line("title", Value::str(title));
    line("rfc", Value::str(rfc));
    line("level", Value::str(level.name()));
    line("requirement", Value::str(requirement));
    if let Some(note) = note {
        line("note", Value::str(note));
    }
    if *roles != crate::load::default_roles() {
        let roles = roles
            .iter()
            .map(|role| {
                Value::str(match role {
                    crate::Role::Server => "server",
                    crate::Role::Client => "client",
                })
            })
            .collect();
        line("roles", Value::Array(roles));
    }
    if let Some(ms) = timeout_ms {
        line("timeout_ms", Value::Int(*ms));
    }
    if *performance {
        line("performance", Value::Bool(true));
    }
    if let Some(observe) = observe {
        line("observe", observe_value(observe));
    }
    if let Some(deflate) = deflate {
        line("deflate", deflate_value(deflate));
    }
    if steps.is_empty() {
        out.push_str("steps = []\n");
    } else {
        out.push_str("steps = [\n");
        for step in steps {
            let _ = writeln!(out, "  {},", step_value(step).to_inline());
        }
        out.push_str("]\n");
    }
    if !handshake.is_standard() {
        out.push_str("\n[case.handshake]\n");
        for (key, value) in handshake_entries(handshake) {
            let _ = writeln!(out, "{key} = {}", value.to_inline());
        }
    }
}

/// `deflate = { offers = [...], required = ... }`, every offer written out in full.
fn deflate_value(deflate: &DeflateSpec) -> Value {
    let DeflateSpec { offers, required } = deflate;
    let offers = offers
        .iter()
        .map(|offer| {
            let DeflateOffer {
                peer_no_context_takeover,
                peer_max_window_bits,
                no_context_takeover,
                max_window_bits,
            } = offer;
            let mut table = Vec::new();
            if *peer_no_context_takeover {
                table.push(("peer_no_context_takeover", Value::Bool(true)));
            }
            if let Some(bits) = peer_max_window_bits {
                table.push(("peer_max_window_bits", Value::Int(u64::from(*bits))));
            }
            if *no_context_takeover {
                table.push(("no_context_takeover", Value::Bool(true)));
            }
            if let Some(bits) = max_window_bits {
                table.push(("max_window_bits", Value::Int(u64::from(*bits))));
            }
            Value::Table(table)
        })
        .collect();
    Value::Table(vec![
        ("offers", Value::Array(offers)),
        ("required", Value::Bool(*required)),
    ])
}

fn observe_value(observe: &ObserveSpec) -> Value {
    let ObserveSpec {
        code,
        clean,
        reason,
    } = observe;
    let mut table = Vec::new();
    if let Some(code) = code {
        table.push(("code", Value::Int(u64::from(code.0))));
    }
    if let Some(clean) = clean {
        table.push(("clean", Value::Bool(*clean)));
    }
    if let Some(reason) = reason {
        table.push(("reason", Value::str(reason)));
    }
    Value::Table(table)
}

/// A payload as written: a string for text, `{ hex }` for bytes, `{ repeat, count }` for patterns.
fn payload_value(payload: &Payload) -> Value {
    match payload {
        Payload::Text(text) => Value::str(text),
        Payload::Bytes(bytes) => Value::Table(vec![("hex", Value::Str(hex(bytes)))]),
        Payload::Repeat { pattern, count } => Value::Table(vec![
            ("repeat", pattern_value(pattern)),
            ("count", Value::Int(*count)),
        ]),
        Payload::OverLimit { pattern, extra } => Value::Table(vec![
            ("repeat", pattern_value(pattern)),
            ("count_over_limit", Value::Int(*extra)),
        ]),
        Payload::Corpus { corpus, count } => Value::Table(vec![
            ("corpus", Value::str(corpus.name())),
            ("count", Value::Int(*count)),
        ]),
        Payload::Deflated(inner) => Value::Table(vec![("deflate", payload_value(inner))]),
    }
}

/// A `repeat` pattern: the loader keeps only its bytes, so text reads better where it is text.
fn pattern_value(pattern: &[u8]) -> Value {
    match std::str::from_utf8(pattern) {
        Ok(text) if !text.chars().any(char::is_control) => Value::str(text),
        _ => Value::Table(vec![("hex", Value::Str(hex(pattern)))]),
    }
}

/// Lower-case hex digits, no separators.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// An opcode by name where it has one, else its number.
fn opcode_value(opcode: Opcode) -> Value {
    match opcode {
        Opcode::Reserved(_) => Value::Int(u64::from(opcode.as_u8())),
        named => Value::str(named.name()),
    }
}

fn frame_value(frame: &FrameSpec) -> Value {
    let FrameSpec {
        fin,
        rsv,
        opcode,
        mask,
        payload,
        length_form,
        declared_len,
    } = frame;
    let mut table = vec![("opcode", opcode_value(*opcode))];
    if !fin {
        table.push(("fin", Value::Bool(false)));
    }
    if *rsv != 0 {
        table.push(("rsv", Value::Int(u64::from(*rsv))));
    }
    if *payload != Payload::default() {
        table.push(("payload", payload_value(payload)));
    }
    match mask {
        MaskSpec::Auto => {}
        MaskSpec::None => table.push(("mask", Value::str("none"))),
        MaskSpec::Random => table.push(("mask", Value::str("random"))),
        MaskSpec::AutoZero => table.push(("mask", Value::str("auto-zero"))),
        MaskSpec::Key(key) => table.push(("mask", Value::Str(hex(key)))),
    }
    if let Some(form) = length_form {
        let name = match form {
            LengthFormSpec::Short => "short",
            LengthFormSpec::U16 => "u16",
            LengthFormSpec::U64 => "u64",
        };
        table.push(("length_form", Value::str(name)));
    }
    if let Some(len) = declared_len {
        table.push(("declared_len", Value::Int(*len)));
    }
    Value::Table(table)
}

/// One frame as a table, several as an array of them.
fn frames_value(frames: &[FrameSpec]) -> Value {
    match frames {
        [one] => frame_value(one),
        many => Value::Array(many.iter().map(frame_value).collect()),
    }
}

/// The `chop`, `delay_ms` and `per_frame` keys of a step that writes (or of a handshake).
fn write_plan_entries(plan: &WritePlan, table: &mut Vec<(&'static str, Value)>) {
    let WritePlan {
        chop,
        delay_ms,
        per_frame,
    } = plan;
    if *per_frame {
        table.push(("per_frame", Value::Bool(true)));
    }
    if let Some(chop) = chop {
        table.push(("chop", Value::Int(*chop as u64)));
    }
    let default_delay = if chop.is_some() {
        DEFAULT_CHOP_DELAY_MS
    } else {
        0
    };
    if *delay_ms != default_delay {
        table.push(("delay_ms", Value::Int(*delay_ms)));
    }
}

fn step_value(step: &Step) -> Value {
    let mut table = Vec::new();
    match step {
        Step::Send { frames, write } => {
            table.push(("send", frames_value(frames)));
            write_plan_entries(write, &mut table);
        }
        Step::SendMessage {
            opcode,
            payload,
            fragment,
            compress,
            write,
        } => {
            let mut message = vec![
                ("opcode", opcode_value(*opcode)),
                ("payload", payload_value(payload)),
            ];
            if let Some(size) = fragment {
                message.push(("fragment", Value::Int(*size)));
            }
            if let Some(compress) = compress {
                message.push(("compress", Value::Bool(*compress)));
            }
            table.push(("send_message", Value::Table(message)));
            write_plan_entries(write, &mut table);
        }
        Step::SendRaw { bytes, write } => {
            table.push((
                "send_raw",
                Value::Table(vec![("hex", Value::Str(hex(bytes)))]),
            ));
            write_plan_entries(write, &mut table);
        }
        Step::Wait { ms } => table.push(("wait", Value::Int(*ms))),
        Step::Close { payload, write } => {
            let close = match payload {
                ClosePayloadSpec::Code { code, reason } if *reason == Payload::default() => {
                    Value::Int(u64::from(code.0))
                }
                ClosePayloadSpec::Code { code, reason } => Value::Table(vec![
                    ("code", Value::Int(u64::from(code.0))),
                    ("reason", payload_value(reason)),
                ]),
                ClosePayloadSpec::Raw(payload) => {
                    Value::Table(vec![("payload", payload_value(payload))])
                }
            };
            table.push(("close", close));
            write_plan_entries(write, &mut table);
        }
        Step::Drop => table.push(("drop", Value::Bool(true))),
        Step::HalfClose => table.push(("half_close", Value::Bool(true))),
        Step::Repeat { times, steps } => table.push((
            "repeat",
            Value::Table(vec![
                ("times", Value::Int(u64::from(*times))),
                (
                    "steps",
                    Value::Array(steps.iter().map(step_value).collect()),
                ),
            ]),
        )),
        Step::Expect {
            expect,
            within_ms,
            on_timeout,
        } => {
            table.push(("expect", expect_value(expect)));
            if *within_ms != DEFAULT_EXPECT_MS {
                table.push(("within_ms", Value::Int(*within_ms)));
            }
            match on_timeout {
                OnTimeout::Fail => {}
                OnTimeout::NonStrict => table.push(("on_timeout", Value::str("non-strict"))),
                OnTimeout::Pass => table.push(("on_timeout", Value::str("pass"))),
            }
        }
    }
    Value::Table(table)
}

fn close_codes_value(codes: &[CloseCode]) -> Value {
    Value::Array(codes.iter().map(|c| Value::Int(u64::from(c.0))).collect())
}

fn expect_value(expect: &Expect) -> Value {
    match expect {
        Expect::Echo => Value::str("echo"),
        Expect::Message(FrameMatch { opcode, payload }) => Value::Table(vec![(
            "message",
            Value::Table(vec![
                ("opcode", opcode_value(*opcode)),
                ("payload", payload_value(payload)),
            ]),
        )]),
        Expect::Pong(payload) => Value::Table(vec![("pong", payload_value(payload))]),
        Expect::PongsFor(pings) => Value::Table(vec![(
            "pongs_for",
            Value::Array(pings.iter().map(payload_value).collect()),
        )]),
        Expect::Fail(codes) if codes.is_empty() => Value::str("fail"),
        Expect::Fail(codes) => Value::Table(vec![("fail", close_codes_value(codes))]),
        Expect::Close(codes) if codes.is_empty() => Value::str("close"),
        Expect::Close(codes) => Value::Table(vec![("close", close_codes_value(codes))]),
        Expect::Nothing(ms) => Value::Table(vec![("nothing", Value::Int(*ms))]),
        Expect::OneOf(alternatives) => Value::Table(vec![(
            "one_of",
            Value::Array(alternatives.iter().map(alternative_value).collect()),
        )]),
    }
}

fn alternative_value(alternative: &Alternative) -> Value {
    let Alternative { expect, verdict } = alternative;
    let mut table = vec![(
        "expect",
        Value::Array(expect.iter().map(expect_value).collect()),
    )];
    match verdict {
        AltVerdict::Ok => {}
        AltVerdict::NonStrict => table.push(("verdict", Value::str("non-strict"))),
        AltVerdict::Informational => table.push(("verdict", Value::str("informational"))),
    }
    Value::Table(table)
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, collections::BTreeMap};

    use super::*;
    use crate::{Suite, case::Source};

    /// Loads `text` as one file and returns its cases with their sources cleared.
    fn load(name: &str, text: &str) -> Vec<Case> {
        let suite = Suite::from_sources([(name.to_owned(), Cow::Borrowed(text))])
            .unwrap_or_else(|err| panic!("{err}\n{text}"));
        suite.cases.into_iter().map(without_source).collect()
    }

    fn without_source(mut case: Case) -> Case {
        case.source = Source {
            file: String::new(),
            line: 0,
        };
        case
    }

    #[test]
    fn every_builtin_case_round_trips() {
        let suite = Suite::builtin().unwrap();
        let mut by_section: BTreeMap<u32, Vec<Case>> = BTreeMap::new();
        for case in &suite.cases {
            by_section
                .entry(case.id.section())
                .or_default()
                .push(case.clone());
        }
        for (section, cases) in by_section {
            let title = &suite.sections[&section];
            let text = write_file(section, title, &cases);
            let again = load(&format!("{section}.toml"), &text);
            assert_eq!(again.len(), cases.len(), "section {section}");
            for (written, read) in cases.into_iter().map(without_source).zip(again) {
                assert_eq!(
                    written, read,
                    "case {} differs after writing:\n{text}",
                    written.id
                );
            }
        }
    }

    #[test]
    fn written_cases_read_like_hand_written_ones() {
        let text = "section = \"2\"\ntitle = \"Pings\"\n\n[[case]]\nid = \"2.1\"\ntitle = \"t\"\n\
                    rfc = \"RFC 6455 §5.5.2\"\nlevel = \"must\"\nrequirement = \"q\"\n\
                    steps = [{ send = { opcode = \"ping\", payload = { hex = \"00ff\" } }, chop = 1 }, \
                    { expect = { pong = { hex = \"00ff\" } }, within_ms = 500 }]\n";
        let cases = load("a.toml", text);
        let written = write_file(2, "Pings", &cases);
        assert!(
            written.contains(
                "  { send = { opcode = \"ping\", payload = { hex = \"00ff\" } }, chop = 1 },\n"
            ),
            "{written}"
        );
        assert!(
            written.contains("  { expect = { pong = { hex = \"00ff\" } }, within_ms = 500 },\n"),
            "{written}"
        );
        assert!(!written.contains("delay_ms"), "{written}");
    }

    #[test]
    fn strings_are_escaped_and_odd_values_survive() {
        let mut cases = load(
            "b.toml",
            "section = \"3\"\ntitle = \"x\"\n[[case]]\nid = \"3.1\"\ntitle = \"t\"\nrfc = \"r\"\n\
             level = \"should\"\nrequirement = \"q\"\nsteps = [{ expect = \"echo\" }]\n",
        );
        let case = &mut cases[0];
        case.title = "quote \" backslash \\ newline \n tab \t nul \u{0} κόσμε".into();
        case.timeout_ms = Some(1234);
        case.steps = vec![
            Step::Send {
                frames: vec![FrameSpec {
                    fin: false,
                    rsv: wsspec_wire::RSV1 | wsspec_wire::RSV3,
                    opcode: Opcode::Reserved(13),
                    mask: MaskSpec::Key([1, 2, 3, 4]),
                    payload: Payload::Repeat {
                        pattern: vec![0, 0xff],
                        count: 300,
                    },
                    length_form: Some(LengthFormSpec::U64),
                    declared_len: Some(i64::MAX as u64),
                }],
                write: WritePlan {
                    chop: Some(7),
                    delay_ms: 0,
                    per_frame: true,
                },
            },
            Step::Close {
                payload: ClosePayloadSpec::Code {
                    code: CloseCode::NORMAL,
                    reason: Payload::Text(String::new()),
                },
                write: WritePlan::default(),
            },
            Step::Close {
                payload: ClosePayloadSpec::Raw(Payload::Bytes(vec![3])),
                write: WritePlan::default(),
            },
            Step::Expect {
                expect: Expect::Fail(vec![CloseCode::PROTOCOL_ERROR, CloseCode::INVALID_PAYLOAD]),
                within_ms: 10,
                on_timeout: OnTimeout::Pass,
            },
        ];
        let text = write_file(3, "x", &cases);
        let again = load("c.toml", &text);
        assert_eq!(again, vec![without_source(cases[0].clone())], "{text}");
    }
}
