//! The case details, in id order under their sections: the title, the RFC reference and sentence, the
//! requirement level and what was expected, then for each agent the verdicts, what happened, the notes,
//! the close behaviour, and a `<details>` whose handshake and wire transcript the page's script draws
//! from the embedded JSON when it is opened.

use maud::{Markup, html};
use wsspec_suite::results::{CaseResult, CloseInfo, Observation, RunResults, Side};

use super::{Report, Row, agent_label, duration, result_anchor, verdict_chip, wire};

/// Every case's detail.
pub(super) fn cases(report: &Report) -> Markup {
    html! {
        section #cases {
            h2 { "Cases" }
            @for (number, title) in report.sections() {
                h3.section-title id={"section-" (number)} { span.num { (number) } " " (title) }
                @for row in report.rows.iter().filter(|row| row.section == number) {
                    (case(report, row))
                }
            }
        }
    }
}

fn case(report: &Report, row: &Row) -> Markup {
    let first = row.first;
    html! {
        article.case id={"case-" (row.id)} data-case=(row.id) {
            header {
                a.id href={"#case-" (row.id)} { (row.id) }
                h4 { (first.title) }
                span class={"level level-" (first.level.name())} { (first.level.name().to_uppercase()) }
                span.rfc { (first.rfc) }
            }
            @if !first.requirement.is_empty() { blockquote { (first.requirement) } }
            p.expected { span.k { "Expected" } (first.expected) }
            @for (index, result) in row.results.iter().enumerate() {
                @if let Some(result) = result {
                    (outcome(index, &report.runs[index], result, first))
                }
            }
        }
    }
}

fn outcome(index: usize, run: &RunResults, case: &CaseResult, first: &CaseResult) -> Markup {
    let entries = case.transcript.entries.len() as u64 + case.transcript.dropped;
    html! {
        section class={"outcome v-" (case.verdict.name())} id=(result_anchor(index, &case.id))
            data-agent=(run.agent) data-verdict=(case.verdict.name()) {
            div.outcome-head {
                span.who { (agent_label(run)) }
                (verdict_chip(case.verdict))
                span.aspect { "behaviour " b { (case.behavior.autobahn_name()) } }
                span.aspect { "close " b { (case.behavior_close.autobahn_name()) } }
                span.aspect { (duration(case.duration_ms)) }
                @if let Some(throughput) = case.throughput {
                    span.aspect.perf { (format!("{:.1} MB/s · {:.0} msgs/s", throughput.mb_per_s(), throughput.messages_per_s())) }
                }
            }
            @if case.expected != first.expected { p.expected { span.k { "Expected" } (case.expected) } }
            p.actual { span.k { "Happened" } (case.actual) }
            @if !case.notes.is_empty() {
                ul.notes { @for note in &case.notes { li { (note) } } }
            }
            p.close { span.k { "Close" } (close_text(&case.close)) }
            @if let Some(seen) = &case.observation {
                p.close { span.k { "Client saw" } (observation_text(seen)) }
            }
            details.wire data-wire=(wire::key(index, &case.id)) {
                summary {
                    "Wire transcript: " (entries) " entries"
                    @if case.handshake.is_some() { ", with the opening handshake" }
                }
                // Empty until the script draws it; the style sheet says so meanwhile.
                div.wire-body {}
            }
        }
    }
}

/// `code 1000 "bye" · wasClean=true`: what a client's application reported.
fn observation_text(seen: &Observation) -> String {
    let code = seen
        .code
        .map_or("no code".to_owned(), |code| format!("code {code}"));
    let reason = if seen.reason.is_empty() {
        String::new()
    } else {
        format!(" {:?}", seen.reason)
    };
    format!("{code}{reason} · wasClean={}", seen.clean)
}

/// `the peer started the close: peer code 1002 "bad frame", harness code 1002, clean, TCP closed by the peer`.
fn close_text(close: &CloseInfo) -> String {
    let side = |side: Side| match side {
        Side::Harness => "wsspec",
        Side::Peer => "the peer",
    };
    let mut parts = vec![match close.initiated_by {
        Some(who) => format!("{} sent the first close frame", side(who)),
        None => "no close frame".to_owned(),
    }];
    match (close.peer_code, &close.peer_reason) {
        (Some(code), Some(reason)) if !reason.is_empty() => {
            parts.push(format!("peer code {code} {reason:?}"))
        }
        (Some(code), _) => parts.push(format!("peer code {code}")),
        (None, _) if close.initiated_by.is_some() => parts.push("no peer code".to_owned()),
        (None, _) => {}
    }
    if let Some(code) = close.harness_code {
        parts.push(format!("wsspec code {code}"));
    }
    parts.push(if close.clean { "clean" } else { "not clean" }.to_owned());
    parts.push(match close.tcp_closed_by {
        Some(who) => format!("TCP closed by {}", side(who)),
        None => "TCP still open at the end".to_owned(),
    });
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation_text_names_code_reason_and_clean() {
        let seen = Observation {
            code: Some(4000),
            reason: "bye".into(),
            clean: true,
        };
        assert_eq!(observation_text(&seen), "code 4000 \"bye\" · wasClean=true");
        let dropped = Observation {
            code: None,
            ..Observation::default()
        };
        assert_eq!(observation_text(&dropped), "no code · wasClean=false");
    }

    #[test]
    fn close_text_names_codes_and_sides() {
        let close = CloseInfo {
            initiated_by: Some(Side::Peer),
            peer_code: Some(1002),
            peer_reason: Some("bad".into()),
            harness_code: Some(1002),
            clean: true,
            tcp_closed_by: Some(Side::Peer),
        };
        assert_eq!(
            close_text(&close),
            "the peer sent the first close frame · peer code 1002 \"bad\" · wsspec code 1002 · clean · TCP closed by the peer"
        );
        assert_eq!(
            close_text(&CloseInfo::default()),
            "no close frame · not clean · TCP still open at the end"
        );
    }
}
