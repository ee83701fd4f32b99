//! JUnit XML (through quick-junit), for the test tab of CI systems: one testsuite per section, one
//! testcase per case. A failure carries what was expected, what happened, the notes and the start of
//! the wire transcript; UNIMPLEMENTED cases are skipped; NON-STRICT fails only in a strict run.

use std::{path::Path, time::Duration};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use wsspec_suite::results::{CaseResult, Direction, EntryKind, RunResults, Verdict};

use crate::json::{WriteError, write_atomically};

/// How many transcript entries a failure shows.
const EXCERPT_ENTRIES: usize = 30;

/// The JUnit XML for a run.
pub fn junit(results: &RunResults) -> Result<String, String> {
    let mut report = Report::new(format!("wsspec {}", results.agent));
    report.set_time(Duration::from_millis(results.duration_ms));
    let sections = results.by_section();
    for (section, cases) in sections {
        let mut suite = TestSuite::new(format!("{} section {section}", results.agent));
        for case in cases {
            suite.add_test_case(test_case(case, results.strict));
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|err| err.to_string())
}

/// Writes the JUnit XML to `path`, atomically.
pub fn write_junit(path: &Path, results: &RunResults) -> Result<(), WriteError> {
    let xml = junit(results).map_err(|msg| WriteError {
        path: path.to_owned(),
        source: std::io::Error::other(msg),
    })?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_owned(),
            source,
        })?;
    }
    write_atomically(path, |file| file.write_all(xml.as_bytes()))
}

fn test_case(case: &CaseResult, strict: bool) -> TestCase {
    let details = format!(
        "{}\nrequirement ({}): {}\nexpected: {}\nactual: {}\nverdict: {}, close: {}{}\n\n{}",
        case.title,
        case.rfc,
        case.requirement,
        case.expected,
        case.actual,
        case.verdict.autobahn_name(),
        case.behavior_close.autobahn_name(),
        case.notes
            .iter()
            .map(|n| format!("\nnote: {n}"))
            .collect::<String>(),
        excerpt(case)
    );
    let status = match case.verdict {
        Verdict::Unimplemented => {
            let mut status = TestCaseStatus::skipped();
            status.set_message("the peer does not implement this optional feature");
            status
        }
        verdict if verdict.is_failure(strict) => {
            let kind = if verdict == Verdict::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            status.set_message(case.actual.chars().take(300).collect::<String>());
            status.set_type(verdict.autobahn_name());
            status.set_description(details.clone());
            status
        }
        _ => TestCaseStatus::success(),
    };
    let mut test = TestCase::new(format!("{} {}", case.id, case.title), status);
    test.set_classname(format!("wsspec.{}", case.id));
    test.set_time(Duration::from_millis(case.duration_ms));
    if !case.verdict.is_failure(strict) && case.verdict != Verdict::Pass {
        test.set_system_out(details);
    }
    test
}

/// The first transcript entries, one per line.
fn excerpt(case: &CaseResult) -> String {
    let mut lines: Vec<String> = case
        .transcript
        .entries
        .iter()
        .take(EXCERPT_ENTRIES)
        .map(|entry| {
            let dir = match entry.dir {
                Direction::Sent => "->",
                Direction::Received => "<-",
                Direction::Note => "--",
            };
            let what = match &entry.kind {
                EntryKind::Bytes { len, data } => format!("{len} bytes {data}"),
                EntryKind::Frame {
                    fin,
                    rsv,
                    opcode,
                    len,
                    payload,
                    ..
                } => format!("frame op={opcode} fin={fin} rsv={rsv} len={len} {payload}"),
                EntryKind::Event { text } => text.clone(),
            };
            let again = match entry.repeats {
                0 => String::new(),
                n => format!(" (x{} in a row)", n + 1),
            };
            format!(
                "{:>10.3} ms {dir} {what}{again}",
                entry.at_us as f64 / 1000.0
            )
        })
        .collect();
    let more = case
        .transcript
        .entries
        .len()
        .saturating_sub(EXCERPT_ENTRIES) as u64
        + case.transcript.dropped;
    if more > 0 {
        lines.push(format!("... {more} more entries in results.json"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};

    #[test]
    fn failures_carry_expected_actual_and_transcript() {
        let results = run(
            "echo",
            vec![
                case("2.5", Verdict::Fail),
                case("2.4", Verdict::Pass),
                case("12.1.1", Verdict::Unimplemented),
                case("3.2", Verdict::NonStrict),
            ],
        );
        let xml = junit(&results).unwrap();
        assert!(
            xml.contains(r#"<testsuite name="echo section 2" tests="2""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="the peer answered with a pong" type="FAILED">"#),
            "{xml}"
        );
        assert!(xml.contains("expected: peer fails the connection"), "{xml}");
        assert!(
            xml.contains("1.500 ms -- hello") || xml.contains("1.500 ms -&gt; hello"),
            "{xml}"
        );
        assert!(xml.contains("<skipped"), "{xml}");
        assert_eq!(
            xml.matches("<failure").count(),
            1,
            "NON-STRICT passes unless strict: {xml}"
        );
        let strict = RunResults {
            strict: true,
            ..results
        };
        assert_eq!(junit(&strict).unwrap().matches("<failure").count(), 2);
    }
}
