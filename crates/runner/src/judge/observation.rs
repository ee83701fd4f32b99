//! Judgement of what a client's application reported: the `observe` expectation of a case run
//! against a client, and its effect on the case's result.

use wsspec_suite::{
    Level,
    case::ObserveSpec,
    results::{CaseResult, Observation, Verdict},
};

use super::overall;

/// Judges what a client's application reported about the close against what the case expects. A
/// driver that reports nothing earns INFORMATIONAL: the check could not be made.
pub fn judge_observation(expect: &ObserveSpec, seen: Option<&Observation>) -> (Verdict, String) {
    let Some(seen) = seen else {
        return (
            Verdict::Informational,
            format!("the client's driver reported no observation, so `{expect}` was not checked"),
        );
    };
    let mut wrong = Vec::new();
    if let Some(code) = expect.code.filter(|code| seen.code != Some(code.0)) {
        let got = seen.code.map_or("no code".to_owned(), |c| c.to_string());
        wrong.push(format!("code {got} instead of {}", code.0));
    }
    if let Some(clean) = expect.clean.filter(|clean| seen.clean != *clean) {
        wrong.push(format!("wasClean={} instead of {clean}", seen.clean));
    }
    if let Some(reason) = expect
        .reason
        .as_ref()
        .filter(|reason| seen.reason != **reason)
    {
        wrong.push(format!("reason {:?} instead of {reason:?}", seen.reason));
    }
    if wrong.is_empty() {
        (Verdict::Pass, format!("{expect}, as reported"))
    } else {
        (
            Verdict::Fail,
            format!("the client's application saw {}", wrong.join(", ")),
        )
    }
}

/// Adds the judgement of what the client's application reported (`seen`) against `expect` to the
/// case's `result`: the verdict, capped by the case's `level`, can only make it worse; a failure
/// opens the result's account of what happened and breaks the case's `requirements`, anything else
/// becomes a note.
pub fn add_observation(
    result: &mut CaseResult,
    level: Level,
    requirements: &[String],
    expect: &ObserveSpec,
    seen: Option<&Observation>,
) {
    let (verdict, what) = judge_observation(expect, seen);
    let capped = overall(level, verdict, Verdict::Pass);
    result.verdict = result.verdict.max(capped);
    result.observation = seen.cloned();
    if verdict == Verdict::Fail {
        result.actual = format!("{what}. {}", result.actual);
        for id in requirements {
            if !result.broken.contains(id) {
                result.broken.push(id.clone());
            }
        }
    } else {
        result.notes.push(what);
    }
}
