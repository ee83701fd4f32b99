//! Fuzz target `case_file`: the case-file loader, [`Suite::from_sources`], on any UTF-8 text.
//!
//! The input is the text of one file named `fuzz.toml` (inputs that are not UTF-8 are skipped).
//! Checked: loading never panics, whatever the text; an error names that file and a line that
//! exists in it (1-based); a loaded suite's cases all come from that file, sorted by id without
//! duplicates.

#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use wsspec_suite::Suite;

fuzz_target!(|text: &str| {
    match Suite::from_sources([("fuzz.toml".to_string(), Cow::Borrowed(text))]) {
        Ok(suite) => {
            for case in &suite.cases {
                assert_eq!(case.source.file, "fuzz.toml");
            }
            for pair in suite.cases.windows(2) {
                assert!(pair[0].id < pair[1].id, "ids out of order or repeated");
            }
            let _ = suite.to_string();
        }
        Err(err) => {
            assert_eq!(err.file, "fuzz.toml");
            let lines = text.matches('\n').count() + 1;
            assert!(
                (1..=lines).contains(&err.line),
                "line {} of a {lines}-line file: {err}",
                err.line
            );
        }
    }
});
