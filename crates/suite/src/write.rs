//! Writing cases back as a case file: the inverse of [`crate::load`].
//!
//! [`write_file`] turns loaded or generated [`Case`]s into the TOML that `cases/README.md` documents.
//! Loading the text again gives back equal cases (all but [`Case::source`], which names where a case
//! was read from): the tests check this on every built-in case. The network fuzzer saves its findings
//! with it.
//!
//! What a case says in TOML is not decided here: each case is converted to its raw form (the case
//! language of the crate's `spec` module, which leaves out every key that holds the loader's default
//! and writes short forms where they are enough), and toml serializes that. This module only lays the
//! result out as a hand-written file: one `[[case]]` table per case, its keys one per line in the
//! order the raw form declares them, each step an inline table on a line of its own, and the
//! handshake as a `[case.handshake]` table.
//!
//! A `toml::Value` would lose that order: its tables sort their keys (putting `chop` before `send`)
//! unless toml's `preserve_order` feature is on, and that feature would also change the order in
//! which the loader meets a file's keys, and so which of several errors it reports. So toml renders
//! each case as one inline table, which keeps the order, and the layout cuts that text at the spans
//! of its entries. Should toml fail to serialize a case, a comment saying so stands in its place.
//! Integers are TOML's 64-bit signed integers: a length or count over `i64::MAX` cannot be written,
//! just as it cannot be loaded.

use std::fmt::Write as _;

use serde::Serialize;
use toml::{
    Spanned,
    de::{DeTable, DeValue},
};

use crate::{case::Case, spec::RawCase};

/// Writes one case file: the section's number and title, then each case as a `[[case]]` table.
/// Every case's id should start with `section`, as the loader requires.
pub fn write_file(section: u32, title: &str, cases: &[Case]) -> String {
    let mut out = format!(
        "section = {}\ntitle = {}\n",
        toml::Value::from(section.to_string()),
        toml::Value::from(title)
    );
    for case in cases {
        out.push('\n');
        match case_table(case) {
            Ok(table) => out.push_str(&table),
            Err(err) => {
                let _ = writeln!(out, "# case {} cannot be written: {err}", case.id);
            }
        }
    }
    out
}

/// One `[[case]]` table: the case's keys, its steps one per line, then `[case.handshake]`.
fn case_table(case: &Case) -> Result<String, String> {
    let mut inline = String::new();
    RawCase::from_case(case)
        .serialize(toml::ser::ValueSerializer::new(&mut inline))
        .map_err(|err| err.to_string())?;
    let parsed = DeValue::parse(&inline).map_err(|err| err.to_string())?;
    let DeValue::Table(entries) = parsed.get_ref() else {
        return Err("a case serializes to a table".into());
    };
    let text = |value: &Spanned<DeValue>| &inline[value.span()];
    let mut out = String::from("[[case]]\n");
    let mut handshake = None;
    for (key, value) in in_written_order(entries) {
        match (key, value.get_ref()) {
            ("handshake", DeValue::Table(entries)) => handshake = Some(entries),
            ("steps", DeValue::Array(steps)) if !steps.is_empty() => {
                out.push_str("steps = [\n");
                for step in steps.iter() {
                    let _ = writeln!(out, "  {},", text(step));
                }
                out.push_str("]\n");
            }
            (key, _) => {
                let _ = writeln!(out, "{key} = {}", text(value));
            }
        }
    }
    if let Some(entries) = handshake {
        out.push_str("\n[case.handshake]\n");
        for (key, value) in in_written_order(entries) {
            let _ = writeln!(out, "{key} = {}", text(value));
        }
    }
    Ok(out)
}

/// A parsed table's entries in the order they were written (the table itself sorts them by key).
fn in_written_order<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t str, &'t Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
        .into_iter()
        .map(|(key, value)| (key.get_ref().as_ref(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, collections::BTreeMap};

    use wsspec_wire::{CloseCode, Opcode};

    use super::*;
    use crate::{
        Suite,
        case::{
            ClosePayloadSpec, Expect, FrameSpec, LengthFormSpec, MaskSpec, OnTimeout, Payload,
            Source, Step, WritePlan,
        },
    };

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
