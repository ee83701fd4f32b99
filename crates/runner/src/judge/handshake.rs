//! Judging the server's answer to an opening handshake (RFC 6455 §4.1, §4.2.2, §4.4; RFC 7692 §7.1).
//!
//! Every upgrade is checked against what the request offered ([`Offer`]): the status, `Upgrade`,
//! `Connection`, the exact `Sec-WebSocket-Accept`, and that any subprotocol or extension chosen was
//! offered (with valid parameters, for permessage-deflate). A case that expects a refusal judges the
//! answer with [`judge_refusal`].

use wsspec_suite::{
    handshake::{HandshakePolicy, Refusal},
    results::Verdict,
};
use wsspec_wire::{
    Response, accept_key,
    deflate::{DeflateParams, PERMESSAGE_DEFLATE, ParamError},
    extension_list_problem, header_has_token,
};

use crate::handshake::{Offer, header_values, list_items, parse_extensions};

/// Everything wrong with `response` as an acceptance of a request that offered `offer`; empty when it
/// is a correct upgrade.
pub fn check_upgrade_response(
    response: &Response,
    offer: &Offer,
    policy: &HandshakePolicy,
) -> Vec<HandshakeProblem> {
    let mut problems = Vec::new();
    if response.status != 101 {
        // Refusing is the server's right (§4.2.2 point 2); the case cannot run.
        problems.push(HandshakeProblem::new(
            &[],
            format!(
                "the server answered {} {} instead of 101",
                response.status, response.reason
            ),
        ));
        return problems;
    }
    const VALID_RESPONSE: &[&str] = &["6455-4.2.2-12"];
    match response.header("upgrade") {
        Some(value) if value.trim().eq_ignore_ascii_case("websocket") => {}
        Some(value) => problems.push(HandshakeProblem::new(
            VALID_RESPONSE,
            format!("`Upgrade: {value}` is not websocket (§4.1 point 2)"),
        )),
        None => problems.push(HandshakeProblem::new(
            &["6455-4.2.2-12", "9110-7.8-4"],
            "no Upgrade header (§4.1 point 2; RFC 9110 §7.8: a 101 response MUST carry Upgrade)"
                .into(),
        )),
    }
    match response.header("connection") {
        Some(value) if header_has_token(value, "upgrade") => {}
        Some(value) => problems.push(HandshakeProblem::new(
            VALID_RESPONSE,
            format!("`Connection: {value}` has no upgrade token (§4.1 point 3)"),
        )),
        None => problems.push(HandshakeProblem::new(
            VALID_RESPONSE,
            "no Connection header (§4.1 point 3)".into(),
        )),
    }
    let accepts: Vec<&str> = header_values(&response.headers, "sec-websocket-accept").collect();
    match (&offer.key, accepts.as_slice()) {
        (None, _) => problems.push(HandshakeProblem::new(
            &["6455-4.2.1-1"],
            "the server upgraded a request without a single valid Sec-WebSocket-Key (§4.2.1 point 5)"
                .into(),
        )),
        (Some(_), []) => problems.push(HandshakeProblem::new(
            VALID_RESPONSE,
            "no Sec-WebSocket-Accept header (§4.1 point 4)".into(),
        )),
        (Some(key), [value]) => {
            let expected = accept_key(key);
            if value.trim() != expected {
                problems.push(HandshakeProblem::new(
                    VALID_RESPONSE,
                    format!("Sec-WebSocket-Accept is {value}, not {expected} (§4.1 point 4)"),
                ));
            }
        }
        (Some(_), _) => problems.push(HandshakeProblem::new(
            &["6455-11.3.3-1"],
            "more than one Sec-WebSocket-Accept header (§4.1 point 4)".into(),
        )),
    }
    problems.extend(subprotocol_problems(response, offer, policy));
    if header_values(&response.headers, "sec-websocket-extensions").count() > 1 {
        problems.push(HandshakeProblem::new(
            &["6455-11.3.2-2"],
            "more than one Sec-WebSocket-Extensions header (§11.3.2: it MUST NOT appear more than once in a response)"
                .into(),
        ));
    }
    // A quoted parameter value MUST be a token once unescaped (§9.1); the rest of the ABNF is the
    // recipient's to enforce (the harness fails the connection on any of it).
    if let Some(error) = header_values(&response.headers, "sec-websocket-extensions")
        .find_map(extension_list_problem)
    {
        let breaks: &'static [&'static str] = if error.quoted {
            &["6455-4.3-1", "6455-9.1-2"]
        } else {
            &[]
        };
        problems.push(HandshakeProblem::new(
            breaks,
            format!("Sec-WebSocket-Extensions does not conform to RFC 6455 §9.1: {error}"),
        ));
    }
    problems.extend(extension_problems(response, offer));
    problems
}

/// §4.1 point 6: at most one subprotocol, one that was offered; §4.2.2: when the server supports an
/// offered subprotocol (as declared with `--subprotocol`), it selects one.
fn subprotocol_problems(
    response: &Response,
    offer: &Offer,
    policy: &HandshakePolicy,
) -> Vec<HandshakeProblem> {
    let fields: Vec<&str> = header_values(&response.headers, "sec-websocket-protocol").collect();
    let mut problems = Vec::new();
    if fields.len() > 1 {
        problems.push(HandshakeProblem::new(
            &["6455-11.3.4-2"],
            format!(
                "{} Sec-WebSocket-Protocol headers (§11.3.4: it MUST NOT appear more than once in a response)",
                fields.len()
            ),
        ));
    }
    // The selection is judged on the first field; a repeated one is the problem above.
    let chosen: Vec<String> = fields
        .first()
        .copied()
        .map(list_items)
        .into_iter()
        .flatten()
        .collect();
    problems.extend(match chosen.as_slice() {
        [] => {
            let supported: Vec<&String> = offer
                .subprotocols
                .iter()
                .filter(|offered| policy.subprotocols.contains(offered))
                .collect();
            match supported.first() {
                // What the user declared, not a sentence of the RFC: selecting none is allowed.
                Some(protocol) => vec![HandshakeProblem::new(
                    &[],
                    format!(
                        "the server selected no subprotocol, although `{protocol}` was offered and is declared supported (--subprotocol)"
                    ),
                )],
                None => Vec::new(),
            }
        }
        [one] if offer.subprotocols.contains(one) => Vec::new(),
        [one] if offer.subprotocols.is_empty() => vec![HandshakeProblem::new(
            &["6455-4.2.2-9"],
            format!("the server selected subprotocol `{one}`, but none was offered (§4.1 point 6)"),
        )],
        // Not agreeing to an offered one, it MUST NOT send the field at all (§4.2.2-9).
        [one] => vec![HandshakeProblem::new(
            &["6455-4.2.2-8", "6455-4.2.2-9"],
            format!(
                "the server selected subprotocol `{one}`, which was not offered ({}) (§4.1 point 6)",
                offer.subprotocols.join(", ")
            ),
        )],
        many => vec![HandshakeProblem::new(
            &["6455-4.2.2-8"],
            format!(
                "the server selected {} subprotocols ({}); it may select one (§4.2.2)",
                many.len(),
                many.join(", ")
            ),
        )],
    });
    problems
}

/// §4.1 point 5: only offered extensions; RFC 7692 §7: only a valid permessage-deflate offer, answered
/// with valid parameters.
fn extension_problems(response: &Response, offer: &Offer) -> Vec<HandshakeProblem> {
    let mut problems = Vec::new();
    let accepted: Vec<_> = header_values(&response.headers, "sec-websocket-extensions")
        .flat_map(parse_extensions)
        .collect();
    if let (Some(why), false) = (&offer.malformed_extensions, accepted.is_empty()) {
        problems.push(HandshakeProblem::new(
            &["6455-9.1-1"],
            format!(
                "the server accepted an extension from an offer that does not conform to RFC 6455 §9.1 ({why}): it MUST fail the connection"
            ),
        ));
    }
    for extension in &accepted {
        let offered: Vec<_> = offer
            .extensions
            .iter()
            .filter(|offered| offered.name.eq_ignore_ascii_case(&extension.name))
            .collect();
        if offered.is_empty() {
            problems.push(HandshakeProblem::new(
                &["6455-4.2.2-10", "6455-4.2.2-11", "6455-9-2"],
                format!(
                    "the server accepted extension `{}`, which was not offered (§4.1 point 5)",
                    extension.name
                ),
            ));
            continue;
        }
        if !REGISTERED_EXTENSIONS
            .iter()
            .any(|registered| registered.eq_ignore_ascii_case(&extension.name))
        {
            problems.push(HandshakeProblem::new(
                &["6455-9.1-4"],
                format!(
                    "the server accepted extension `{}`, which is no registered extension token (§9.1; the IANA registry of §11.4 holds {})",
                    extension.name,
                    REGISTERED_EXTENSIONS.join(", ")
                ),
            ));
        }
        if !extension.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
            continue;
        }
        // §7: a server MUST decline an offer with an unknown, repeated or invalid parameter, so only
        // the valid offers may be accepted; the response must be valid for at least one of them.
        let valid: Vec<DeflateParams> = offered
            .iter()
            .filter_map(|offered| DeflateParams::parse(&offered.params).ok())
            .collect();
        if valid.is_empty() {
            let why = offered
                .iter()
                .find_map(|offered| DeflateParams::parse(&offered.params).err())
                .map_or_else(String::new, |err| format!(" ({err})"));
            problems.push(HandshakeProblem::new(
                &["7692-7-1"],
                format!(
                    "the server accepted a permessage-deflate offer that it MUST decline{why} (RFC 7692 §7)"
                ),
            ));
            continue;
        }
        let per_offer: Vec<Vec<HandshakeProblem>> = valid
            .iter()
            .map(|offered| deflate_response_problems(&extension.params, offered))
            .collect();
        if per_offer.iter().all(|list| !list.is_empty()) {
            problems.extend(per_offer.into_iter().next().unwrap_or_default());
        }
    }
    let deflates = accepted
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .count();
    let rivals: Vec<&str> = accepted
        .iter()
        .map(|e| e.name.as_str())
        .filter(|name| !name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) && uses_rsv1(name))
        .collect();
    if deflates > 0 && !rivals.is_empty() {
        problems.push(HandshakeProblem::new(
            &["7692-5-4"],
            format!(
                "the server accepted permessage-deflate together with {}, which also uses RSV1 (RFC 7692 §5)",
                rivals.join(", ")
            ),
        ));
    }
    if deflates > 1 {
        problems.push(HandshakeProblem::new(
            &["7692-5-3"],
            format!(
                "the server accepted permessage-deflate {deflates} times; it accepts one offer (RFC 7692 §5)"
            ),
        ));
    }
    problems
}

/// What a server broke that, after the TLS handshake, sent `cleartext` outside the tunnel: RFC 6455
/// §4.2.2, "all further communication for the connection (including the server's handshake) MUST run
/// through the encrypted tunnel".
pub fn response_outside_tls(cleartext: &[u8]) -> HandshakeProblem {
    let line_end = cleartext.iter().position(|&b| b == b'\r' || b == b'\n');
    let first_line = String::from_utf8_lossy(&cleartext[..line_end.unwrap_or(cleartext.len())]);
    HandshakeProblem::new(
        &["6455-4.2.2-2"],
        format!(
            "after the TLS handshake the server sent {} bytes in the clear, outside the tunnel, starting `{}` (§4.2.2: the server's handshake MUST run through the encrypted tunnel)",
            cleartext.len(),
            first_line.chars().take(80).collect::<String>()
        ),
    )
}

/// The names in the IANA WebSocket Extension Name Registry (RFC 6455 §11.4), as of January 2026.
const REGISTERED_EXTENSIONS: &[&str] = &[PERMESSAGE_DEFLATE, "bbf-usp-protocol"];

/// Whether extension `name` gives RSV1 a meaning: every per-message compression extension does
/// (RFC 7692 §6), as did the per-frame compression drafts that browsers offered before it.
fn uses_rsv1(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("permessage-")
        || [
            "deflate-frame",
            "x-webkit-deflate-frame",
            "perframe-deflate",
        ]
        .contains(&name.as_str())
}

/// What is wrong with a permessage-deflate response element's parameters as the acceptance of
/// `offer` (RFC 7692 §7.1); empty when the client can use what it says.
pub fn deflate_response_problems(
    response: &[(String, Option<String>)],
    offer: &DeflateParams,
) -> Vec<HandshakeProblem> {
    // The response conditions on which a client MUST fail the connection (RFC 7692 §7) are what a
    // server breaks of RFC 6455 §9: parameters "chosen in accordance with the specification of the
    // extension", and only parameters "defined for that extension".
    const VALID_DEFLATE_RESPONSE: &[&str] = &["6455-9-3"];
    let problem = |text: String| vec![HandshakeProblem::new(VALID_DEFLATE_RESPONSE, text)];
    let params = match DeflateParams::parse(response) {
        Ok(params) => params,
        Err(ParamError::Duplicate(name)) => {
            return problem(format!("parameter `{name}` appears twice (RFC 7692 §7)"));
        }
        Err(ParamError::Unknown(name)) => {
            return vec![HandshakeProblem::new(
                &["6455-9.1-5", "6455-9-3"],
                format!("unknown permessage-deflate parameter `{name}` (RFC 7692 §7)"),
            )];
        }
        Err(ParamError::Invalid { name, value })
            if name.to_ascii_lowercase().ends_with("_window_bits") =>
        {
            let value = value.map_or_else(|| "no value".to_owned(), |v| format!("`{v}`"));
            return problem(format!(
                "`{name}` in a response needs a value from 8 to 15, not {value} (RFC 7692 §7.1.2)"
            ));
        }
        Err(ParamError::Invalid { name, value }) => {
            return problem(format!(
                "`{name}={}` takes no value (RFC 7692 §7.1.1)",
                value.unwrap_or_default()
            ));
        }
    };
    let mut problems = Vec::new();
    let mut problem = |breaks: &'static [&'static str], text: String| {
        problems.push(HandshakeProblem::new(breaks, text));
    };
    match (params.client_max_window_bits, offer.client_max_window_bits) {
        (Some(None), _) => problem(
            VALID_DEFLATE_RESPONSE,
            "`client_max_window_bits` in a response needs a value from 8 to 15 (RFC 7692 §7.1.2.2)"
                .into(),
        ),
        (Some(Some(bits)), None) => problem(
            &["7692-7.1.2.2-5"],
            format!(
                "`client_max_window_bits={bits}` was not offered; without it in the offer the response MUST NOT include it (RFC 7692 §7.1.2.2)"
            ),
        ),
        (Some(Some(bits)), Some(Some(limit))) if bits > limit => problem(
            VALID_DEFLATE_RESPONSE,
            format!(
                "`client_max_window_bits={bits}` is larger than the {limit} the client offered (RFC 7692 §7.1.2.2)"
            ),
        ),
        _ => {}
    }
    match (params.server_max_window_bits, offer.server_max_window_bits) {
        (Some(bits), Some(limit)) if bits > limit => problem(
            VALID_DEFLATE_RESPONSE,
            format!(
                "`server_max_window_bits={bits}` is larger than the {limit} offered (RFC 7692 §7.1.2.1)"
            ),
        ),
        (None, Some(limit)) => problem(
            VALID_DEFLATE_RESPONSE,
            format!(
                "the offer limits the server's window with `server_max_window_bits={limit}`, and a server accepts that by answering with it, with the same or a smaller value (RFC 7692 §7.1.2.1)"
            ),
        ),
        _ => {}
    }
    if offer.server_no_context_takeover && !params.server_no_context_takeover {
        problem(
            VALID_DEFLATE_RESPONSE,
            "the offer asks for `server_no_context_takeover`, and a server accepts that by answering with it (RFC 7692 §7.1.1.1)"
                .into(),
        );
    }
    problems
}

/// One thing wrong with a peer's opening handshake: what, and the requirements it breaks (none
/// when no sentence of the RFCs decides it, such as a refusal of a valid request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeProblem {
    /// The problem, in words.
    pub text: String,
    /// The ids of the requirements it breaks.
    pub breaks: &'static [&'static str],
}

impl HandshakeProblem {
    fn new(breaks: &'static [&'static str], text: String) -> HandshakeProblem {
        HandshakeProblem { text, breaks }
    }

    /// The problems in one line, `; ` between them.
    pub fn list(problems: &[HandshakeProblem]) -> String {
        let texts: Vec<&str> = problems.iter().map(|p| p.text.as_str()).collect();
        texts.join("; ")
    }
}

impl std::fmt::Display for HandshakeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What came back for a request the server must refuse.
#[derive(Debug)]
pub enum Answer<'a> {
    /// A response head, and what is wrong with it as an upgrade (empty: a correct upgrade).
    Response {
        /// The response.
        response: &'a Response,
        /// [`check_upgrade_response`]'s findings.
        upgrade_problems: &'a [HandshakeProblem],
    },
    /// No response: the connection closed or timed out, for this reason.
    Nothing(&'a str),
}

/// The judgement of a handshake answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeJudgement {
    /// The verdict before the case's level caps it.
    pub verdict: Verdict,
    /// What happened, in one sentence.
    pub what: String,
    /// A remark worth keeping beside a passing verdict.
    pub note: Option<String>,
    /// The rules a failure turned on, where they are other than the case's own: those of an
    /// invalid 101.
    pub breaks: Vec<&'static str>,
}

/// Judges the answer to a request that RFC 6455 says the server must refuse with an HTTP error.
pub fn judge_refusal(refusal: &Refusal, answer: Answer<'_>) -> HandshakeJudgement {
    let judged = |verdict, what: String| HandshakeJudgement {
        verdict,
        what,
        note: None,
        breaks: Vec::new(),
    };
    let response = match answer {
        Answer::Nothing(reason) => {
            return judged(
                refusal.if_no_response,
                format!("no HTTP response: {reason}"),
            );
        }
        Answer::Response {
            response,
            upgrade_problems,
        } if response.status == 101 => {
            return if upgrade_problems.is_empty() {
                let what = if refusal.if_upgraded == Verdict::Pass {
                    "the server upgraded the connection with a correct 101"
                } else {
                    "the server upgraded the connection (101) instead of refusing the request"
                };
                judged(refusal.if_upgraded, what.into())
            } else {
                HandshakeJudgement {
                    breaks: upgrade_problems
                        .iter()
                        .flat_map(|problem| problem.breaks.iter().copied())
                        .collect(),
                    ..judged(
                        Verdict::Fail,
                        format!(
                            "the server answered 101, and not even a correct one: {}",
                            HandshakeProblem::list(upgrade_problems)
                        ),
                    )
                }
            };
        }
        Answer::Response { response, .. } => response,
    };
    let status = response.status;
    let line = format!("{status} {}", response.reason)
        .trim_end()
        .to_owned();
    match status {
        _ if (400..=499).contains(&status) || refusal.typical.contains(&status) => {
            let versions: Vec<String> = header_values(&response.headers, "sec-websocket-version")
                .flat_map(list_items)
                .collect();
            if refusal.version_header && versions.is_empty() {
                return judged(
                    Verdict::Fail,
                    format!(
                        "the server refused with {line} but sent no Sec-WebSocket-Version listing the versions it supports (§4.4)"
                    ),
                );
            }
            if status == 426 && header_values(&response.headers, "upgrade").next().is_none() {
                return judged(
                    Verdict::Fail,
                    format!(
                        "the server refused with {line} but sent no Upgrade field naming the protocols it accepts (RFC 9110 §7.8: a 426 MUST carry one)"
                    ),
                );
            }
            let mut what = format!("the server refused with {line}");
            if refusal.version_header {
                what.push_str(&format!(", supporting version {}", versions.join(", ")));
            }
            let note =
                (!refusal.typical.is_empty() && !refusal.typical.contains(&status)).then(|| {
                    let typical: Vec<String> =
                        refusal.typical.iter().map(ToString::to_string).collect();
                    format!(
                        "{status} is fine; the RFC's example for this refusal is {}",
                        typical.join("/")
                    )
                });
            HandshakeJudgement {
                note,
                ..judged(Verdict::Pass, what)
            }
        }
        500..=599 => judged(
            refusal.if_server_error,
            format!("the server refused with {line}, a server error for a bad request"),
        ),
        _ => judged(
            refusal.if_not_error,
            format!("the server answered {line}, which is not an HTTP error"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn offer(subprotocols: &[&str], extensions: &str) -> Offer {
        Offer {
            key: Some(KEY.into()),
            subprotocols: subprotocols.iter().map(|s| (*s).to_owned()).collect(),
            extensions: parse_extensions(extensions),
            malformed_extensions: wsspec_wire::extension_list_problem(extensions).map(|e| e.text),
        }
    }

    fn upgrade(extra: &[(&str, &str)]) -> Response {
        let mut response = Response::switching_protocols(KEY);
        for (name, value) in extra {
            response.headers.push(((*name).into(), (*value).into()));
        }
        response
    }

    /// The problems' texts.
    fn problems(response: &Response, offer: &Offer) -> Vec<String> {
        let found = check_upgrade_response(response, offer, &HandshakePolicy::default());
        found.into_iter().map(|problem| problem.text).collect()
    }

    #[test]
    fn a_correct_upgrade_has_no_problems() {
        assert!(problems(&upgrade(&[]), &offer(&[], "")).is_empty());
        let chosen = upgrade(&[("Sec-WebSocket-Protocol", "b")]);
        assert!(problems(&chosen, &offer(&["a", "b"], "")).is_empty());
    }

    #[test]
    fn the_accept_key_must_match_the_key_sent() {
        let mut response = upgrade(&[]);
        response.set_header("Sec-WebSocket-Accept", "x3JJHMbDL1EzLkh9GBhXDw==");
        let found = problems(&response, &offer(&[], ""));
        assert!(
            found[0].contains("not s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{found:?}"
        );
        let no_key = Offer::default();
        assert!(problems(&upgrade(&[]), &no_key)[0].contains("without a single valid"));
    }

    #[test]
    fn subprotocols_must_be_offered_single_and_chosen_when_supported() {
        let unoffered = upgrade(&[("Sec-WebSocket-Protocol", "c")]);
        assert!(problems(&unoffered, &offer(&["a"], ""))[0].contains("not offered (a)"));
        assert!(problems(&unoffered, &offer(&[], ""))[0].contains("none was offered"));
        let two = upgrade(&[("Sec-WebSocket-Protocol", "a, b")]);
        assert!(problems(&two, &offer(&["a", "b"], ""))[0].contains("2 subprotocols"));
        let policy = HandshakePolicy {
            subprotocols: vec!["b".into()],
            ..HandshakePolicy::default()
        };
        let none = check_upgrade_response(&upgrade(&[]), &offer(&["a", "b"], ""), &policy);
        assert!(
            none[0]
                .text
                .contains("`b` was offered and is declared supported")
        );
        assert!(
            none[0].breaks.is_empty(),
            "selecting none is no break of the RFC"
        );
    }

    #[test]
    fn extensions_come_in_one_field_of_the_response() {
        let both = offer(&[], "permessage-deflate, bbf-usp-protocol");
        let one_field = upgrade(&[(
            "Sec-WebSocket-Extensions",
            "permessage-deflate, bbf-usp-protocol",
        )]);
        assert!(problems(&one_field, &both).is_empty());
        let two_fields = upgrade(&[
            ("Sec-WebSocket-Extensions", "permessage-deflate"),
            ("Sec-WebSocket-Extensions", "bbf-usp-protocol"),
        ]);
        let found = problems(&two_fields, &both);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("§11.3.2"), "{found:?}");
    }

    #[test]
    fn a_subprotocol_comes_in_one_field_of_the_response() {
        let twice = upgrade(&[
            ("Sec-WebSocket-Protocol", "chat"),
            ("Sec-WebSocket-Protocol", "chat"),
        ]);
        let found = check_upgrade_response(&twice, &offer(&["chat"], ""), &Default::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].breaks, ["6455-11.3.4-2"]);
    }

    #[test]
    fn accepted_extensions_are_registered_and_share_rsv1_with_no_other() {
        let offered = offer(
            &[],
            "permessage-deflate, x-webkit-deflate-frame, x-wsspec-unknown",
        );
        let judged = |accepted: &str| {
            let response = upgrade(&[("Sec-WebSocket-Extensions", accepted)]);
            check_upgrade_response(&response, &offered, &HandshakePolicy::default())
        };
        assert!(judged("permessage-deflate").is_empty());
        let unknown = judged("x-wsspec-unknown");
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert_eq!(unknown[0].breaks, ["6455-9.1-4"]);
        assert!(
            unknown[0]
                .text
                .contains("permessage-deflate, bbf-usp-protocol")
        );
        let both = judged("permessage-deflate, x-webkit-deflate-frame");
        let breaks: Vec<_> = both.iter().flat_map(|p| p.breaks.iter().copied()).collect();
        assert_eq!(breaks, ["6455-9.1-4", "7692-5-4"], "{both:?}");
    }

    #[test]
    fn extensions_must_be_offered_with_valid_deflate_parameters() {
        let deflate = |params: &str| upgrade(&[("Sec-WebSocket-Extensions", params)]);
        let plain = offer(&[], "permessage-deflate");
        let with_client_bits = offer(&[], "permessage-deflate; client_max_window_bits");
        for (response, offered, fragment) in [
            (deflate("x-other"), &plain, "not offered"),
            (
                deflate("permessage-deflate"),
                &offer(&[], ""),
                "not offered",
            ),
            (
                deflate("permessage-deflate; server_max_window_bits"),
                &plain,
                "needs a value",
            ),
            (
                deflate("permessage-deflate; server_max_window_bits=16"),
                &plain,
                "needs a value",
            ),
            (
                deflate("permessage-deflate; client_max_window_bits=10"),
                &plain,
                "was not offered",
            ),
            (deflate("permessage-deflate; foo"), &plain, "unknown"),
            (
                deflate("permessage-deflate; server_no_context_takeover=1"),
                &plain,
                "takes no value",
            ),
            (
                deflate(
                    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                ),
                &plain,
                "twice",
            ),
            (
                deflate("permessage-deflate, permessage-deflate"),
                &plain,
                "2 times",
            ),
        ] {
            let found = problems(&response, offered);
            assert!(
                found.iter().any(|p| p.contains(fragment)),
                "{fragment}: {found:?}"
            );
        }
        for (params, offered) in [
            ("permessage-deflate", &plain),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
                &plain,
            ),
            (
                "permessage-deflate; client_max_window_bits=9",
                &with_client_bits,
            ),
        ] {
            assert!(problems(&deflate(params), offered).is_empty(), "{params}");
        }
        let narrowed = offer(&[], "permessage-deflate; server_max_window_bits=10");
        let wider = deflate("permessage-deflate; server_max_window_bits=12");
        assert!(problems(&wider, &narrowed)[0].contains("larger than the 10 offered"));
    }

    #[test]
    fn deflate_offers_must_be_valid_and_answered_as_they_ask() {
        let deflate = |params: &str| upgrade(&[("Sec-WebSocket-Extensions", params)]);
        let accepted = deflate("permessage-deflate");
        for (offered, fragment) in [
            ("permessage-deflate; x-unknown", "MUST decline"),
            (
                "permessage-deflate; server_max_window_bits=16",
                "MUST decline",
            ),
            (
                "permessage-deflate; server_no_context_takeover",
                "server_no_context_takeover",
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "same or a smaller value",
            ),
        ] {
            let found = problems(&accepted, &offer(&[], offered));
            assert!(
                found.iter().any(|p| p.contains(fragment)),
                "{offered}: {found:?}"
            );
        }
        let over = deflate("permessage-deflate; client_max_window_bits=12");
        let found = problems(
            &over,
            &offer(&[], "permessage-deflate; client_max_window_bits=10"),
        );
        assert!(found[0].contains("larger than the 10"), "{found:?}");
        // An invalid offer followed by a valid one: accepting the valid one is fine.
        let both = offer(&[], "permessage-deflate; x-unknown, permessage-deflate");
        assert!(problems(&accepted, &both).is_empty());
    }

    fn refusal_of(refusal: &Refusal, status: u16, headers: &[(&str, &str)]) -> HandshakeJudgement {
        let mut response = Response::switching_protocols(KEY);
        response.status = status;
        response.reason = "Reason".into();
        response.headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let upgrade_problems =
            check_upgrade_response(&response, &offer(&[], ""), &HandshakePolicy::default());
        judge_refusal(
            refusal,
            Answer::Response {
                response: &response,
                upgrade_problems: &upgrade_problems,
            },
        )
    }

    #[test]
    fn a_quoted_parameter_value_in_a_response_must_be_a_token() {
        let offered = offer(&[], "permessage-deflate; client_max_window_bits");
        let policy = HandshakePolicy::default();
        let quoted = upgrade(&[(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits=\"10\"",
        )]);
        assert!(check_upgrade_response(&quoted, &offered, &policy).is_empty());
        let bad = upgrade(&[(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits=\"1 0\"",
        )]);
        let found = check_upgrade_response(&bad, &offered, &policy);
        assert!(
            found
                .iter()
                .any(|p| p.breaks == ["6455-4.3-1", "6455-9.1-2"]),
            "{found:?}"
        );
    }

    #[test]
    fn an_extension_accepted_from_a_malformed_offer_breaks_section_9_1() {
        let accepted = upgrade(&[("Sec-WebSocket-Extensions", "permessage-deflate")]);
        let malformed = offer(&[], "permessage-deflate; =15");
        let found = check_upgrade_response(&accepted, &malformed, &HandshakePolicy::default());
        assert!(
            found.iter().any(|p| p.breaks == ["6455-9.1-1"]),
            "{found:?}"
        );
        // Declining it (no extension in the response) is not this problem.
        let declined =
            check_upgrade_response(&upgrade(&[]), &malformed, &HandshakePolicy::default());
        assert!(
            declined.iter().all(|p| p.breaks != ["6455-9.1-1"]),
            "{declined:?}"
        );
    }

    #[test]
    fn refusals_are_ranked_by_status() {
        let plain = Refusal::default();
        assert_eq!(refusal_of(&plain, 400, &[]).verdict, Verdict::Pass);
        assert_eq!(refusal_of(&plain, 503, &[]).verdict, Verdict::NonStrict);
        let version = Refusal {
            typical: vec![400, 505],
            ..Refusal::default()
        };
        assert_eq!(refusal_of(&version, 505, &[]).verdict, Verdict::Pass);
        assert_eq!(refusal_of(&plain, 200, &[]).verdict, Verdict::Fail);
        let no_answer = judge_refusal(&plain, Answer::Nothing("closed"));
        assert_eq!(no_answer.verdict, Verdict::Fail);
        assert!(no_answer.what.contains("no HTTP response"));
    }

    #[test]
    fn an_upgrade_is_judged_by_the_case_unless_it_is_wrong() {
        let version_8 = Refusal {
            version_header: true,
            typical: vec![426],
            if_upgraded: Verdict::Informational,
            ..Refusal::default()
        };
        let upgraded = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ];
        assert_eq!(
            refusal_of(&version_8, 101, &upgraded).verdict,
            Verdict::Informational
        );
        let wrong = refusal_of(&version_8, 101, &upgraded[..2]);
        assert_eq!(wrong.verdict, Verdict::Fail);
        assert!(wrong.what.contains("not even a correct one"));
        assert_eq!(
            refusal_of(&Refusal::default(), 101, &upgraded).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn a_refused_version_lists_the_supported_ones() {
        let version = Refusal {
            version_header: true,
            typical: vec![426],
            ..Refusal::default()
        };
        let bare = refusal_of(&version, 426, &[]);
        assert_eq!(bare.verdict, Verdict::Fail);
        assert!(bare.what.contains("§4.4"));
        let no_upgrade = refusal_of(&version, 426, &[("Sec-WebSocket-Version", "13")]);
        assert_eq!(no_upgrade.verdict, Verdict::Fail);
        assert!(
            no_upgrade.what.contains("RFC 9110 §7.8"),
            "{}",
            no_upgrade.what
        );
        let upgrade_required = refusal_of(
            &version,
            426,
            &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")],
        );
        assert_eq!(upgrade_required.verdict, Verdict::Pass);
        let listed = refusal_of(&version, 400, &[("Sec-WebSocket-Version", "13")]);
        assert_eq!(listed.verdict, Verdict::Pass);
        assert!(
            listed
                .note
                .unwrap()
                .contains("example for this refusal is 426")
        );
    }
}
