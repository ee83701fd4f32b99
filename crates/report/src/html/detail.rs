//! The case details, in id order under their sections: the title, the RFC reference and sentence, the
//! requirement level and what was expected. Each agent's outcome of the case (the verdicts, what
//! happened, the notes, the close, and a `<details>` with the handshake and wire transcript) is drawn
//! by the page's script from the case data ([`super::data`]) when the case comes near the view or is
//! linked to, as `section.outcome#r{agent index}-{case id}`: with 12 agents, that markup for every case
//! would be most of the page. The texts of the close and of what a client saw are made here.

use maud::{Markup, html};
use wsspec_suite::results::{CloseInfo, Observation, Side};

use super::{Report, Row};

/// Every case's detail.
pub(super) fn cases(report: &Report) -> Markup {
    html! {
        section #cases {
            h2 { "Cases" }
            @for (number, title) in report.sections() {
                h3.section-title id={"section-" (number)} { span.num { (number) } " " (title) }
                @for row in report.rows.iter().filter(|row| row.section == number) {
                    (case(row))
                }
            }
        }
    }
}

fn case(row: &Row) -> Markup {
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
            // Empty until the script draws it; the style sheet says so meanwhile.
            div.outcomes data-agents=(row.results.iter().flatten().count()) {}
        }
    }
}

/// `code 1000 "bye" · wasClean=true`: what a client's application reported.
pub(super) fn observation_text(seen: &Observation) -> String {
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
pub(super) fn close_text(close: &CloseInfo) -> String {
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
