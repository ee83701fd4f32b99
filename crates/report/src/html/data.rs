//! The case data: what the page's script draws a case's outcomes from, per agent, when the case is
//! about to be seen (or linked to): what happened, the notes, the close, the handshake and the wire
//! transcript. It sits in one `<script type="application/json" id="case-data">` block, each case's
//! part compressed by itself, so the page stays small with many agents (12 agents × 635 cases hold
//! about 20 MB of such JSON, about 2.5 MB compressed) and opening a case inflates only that case.
//!
//! Shape: `{"agents": [{"n": name, "r": "server" | "client"}, …], "cases": {"<case id>": packed}}`
//! where `packed` is the base64 of the gzip of a JSON array with one entry per agent (by index),
//! `null` where the agent did not run the case, else an object:
//!
//! | key | what |
//! |---|---|
//! | `v`, `V` | the verdict's name (`fail`) and its Autobahn name (`FAILED`) |
//! | `b`, `c` | the behaviour and close verdicts (Autobahn names) |
//! | `d` | the duration, as text |
//! | `p` | the throughput, as text (performance cases only) |
//! | `x` | what was expected, where it differs from the first agent's |
//! | `a` | what happened |
//! | `n` | the notes (absent when none) |
//! | `k` | the close, as text |
//! | `o` | what a client's application saw (client cases only) |
//! | `m` | how many transcript entries the run recorded |
//! | `w` | the handshake and transcript, cut as [`super::wire`] says |
//!
//! Agents that ran a case are side by side in its part, so gzip finds what they share. Browsers
//! inflate it with `DecompressionStream`, which every current one has; the page works from `file://`
//! and offline, as the data is in the page.

use base64::Engine;
use flate2::{Compression, write::GzEncoder};
use serde_json::{Map, Value, json};
use wsspec_suite::{Role, results::CaseResult};

use super::{Report, Row, detail, duration, wire};

/// The JSON block, safe to place inside a `<script>` element: `<`, `>` and `&` are `\u` escapes
/// (base64 has none of them; agent names may).
pub(super) fn block(report: &Report) -> String {
    let agents: Vec<Value> = report
        .runs
        .iter()
        .map(|run| {
            let role = match run.target.role {
                Role::Server => "server",
                Role::Client => "client",
            };
            json!({"n": run.agent, "r": role})
        })
        .collect();
    let mut cases = Map::new();
    for row in &report.rows {
        cases.insert(row.id.to_owned(), Value::String(pack(&results(row))));
    }
    script_safe(&json!({"agents": agents, "cases": cases}).to_string())
}

/// Each agent's part of one case, by agent index.
fn results(row: &Row) -> Value {
    Value::Array(
        row.results
            .iter()
            .map(|result| match result {
                Some(case) => outcome(case, row.first),
                None => Value::Null,
            })
            .collect(),
    )
}

/// One agent's outcome of a case (see the module documentation for the keys).
fn outcome(case: &CaseResult, first: &CaseResult) -> Value {
    let mut out = Map::new();
    out.insert("v".into(), case.verdict.name().into());
    out.insert("V".into(), case.verdict.autobahn_name().into());
    out.insert("b".into(), case.behavior.autobahn_name().into());
    out.insert("c".into(), case.behavior_close.autobahn_name().into());
    out.insert("d".into(), duration(case.duration_ms).into());
    if let Some(throughput) = case.throughput {
        let text = format!(
            "{:.1} MB/s · {:.0} msgs/s",
            throughput.mb_per_s(),
            throughput.messages_per_s()
        );
        out.insert("p".into(), text.into());
    }
    if case.expected != first.expected {
        out.insert("x".into(), case.expected.clone().into());
    }
    out.insert("a".into(), case.actual.clone().into());
    if !case.notes.is_empty() {
        out.insert("n".into(), json!(case.notes));
    }
    out.insert("k".into(), detail::close_text(&case.close).into());
    if let Some(seen) = &case.observation {
        out.insert("o".into(), detail::observation_text(seen).into());
    }
    let entries = case.transcript.entries.len() as u64 + case.transcript.dropped;
    out.insert("m".into(), entries.into());
    out.insert("w".into(), wire::transcript(case));
    Value::Object(out)
}

/// The base64 of the gzip of a value's JSON.
pub(super) fn pack(value: &Value) -> String {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    let bytes = serde_json::to_writer(&mut gzip, value)
        .ok()
        .and_then(|()| gzip.finish().ok())
        .unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// JSON text with `<`, `>` and `&` as `\u` escapes, so that it cannot end or open an element.
fn script_safe(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            c => safe.push(c),
        }
    }
    safe
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::fixtures::{case, run};
    use std::io::Read;
    use wsspec_suite::results::{EntryKind, Verdict};

    /// The block's cases, inflated: case id → the array of agents' outcomes.
    pub(in crate::html) fn unpack(block: &str) -> (Value, Map<String, Value>) {
        let parsed: Value = serde_json::from_str(block).unwrap();
        let cases = parsed["cases"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, packed)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(packed.as_str().unwrap())
                    .unwrap();
                let mut text = String::new();
                flate2::read::GzDecoder::new(bytes.as_slice())
                    .read_to_string(&mut text)
                    .unwrap();
                (id.clone(), serde_json::from_str(&text).unwrap())
            })
            .collect();
        (parsed["agents"].clone(), cases)
    }

    #[test]
    fn each_case_packs_every_agents_outcome_by_index() {
        let mut failed = case("2.5", Verdict::Fail);
        failed.notes = vec!["a note".into()];
        let runs = [
            run("a", vec![case("1.1.1", Verdict::Pass)]),
            run("b", vec![case("1.1.1", Verdict::Pass), failed]),
        ];
        let (agents, cases) = unpack(&block(&Report::new(&runs)));
        assert_eq!(
            agents,
            json!([{"n": "a", "r": "server"}, {"n": "b", "r": "server"}])
        );
        assert_eq!(cases["2.5"][0], Value::Null, "a did not run 2.5");
        let outcome = &cases["2.5"][1];
        assert_eq!(outcome["v"], "fail");
        assert_eq!(outcome["V"], "FAILED");
        assert_eq!(outcome["n"], json!(["a note"]));
        assert_eq!(outcome["m"], 1);
        assert_eq!(outcome["w"]["e"][0], json!([1500, "s", "e", "hello"]));
        assert!(cases["1.1.1"][0].get("n").is_none());
    }

    #[test]
    fn the_block_cannot_end_its_script_element() {
        let mut evil = case("1.1.1", Verdict::Pass);
        evil.transcript.entries[0].kind = EntryKind::Event {
            text: "</script> & <!--".into(),
        };
        let runs = [run("</script>", vec![evil])];
        let text = block(&Report::new(&runs));
        assert!(!text.contains('<') && !text.contains('&'), "{text}");
        let (agents, cases) = unpack(&text);
        assert_eq!(agents[0]["n"], "</script>");
        assert_eq!(cases["1.1.1"][0]["w"]["e"][0][3], "</script> & <!--");
    }
}
