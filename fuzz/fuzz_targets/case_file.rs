//! Fuzz target `case_file`: the case-file loader, [`Suite::from_sources`], on any UTF-8 text.
//!
//! The input is the text of one file named `fuzz.toml` (inputs that are not UTF-8 are skipped).
//! Checked: loading never panics, whatever the text; an error names that file and a line that
//! exists in it (1-based); a loaded suite's cases all come from that file, sorted by id without
//! duplicates; and written back with [`write_file`], the cases load again unchanged (all but their
//! source line): the writer that saves the network fuzzer's findings round-trips whatever the loader
//! accepts.

#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use wsspec_suite::{Suite, write_file};

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
            let Some((&section, title)) = suite.sections.iter().next() else {
                assert!(suite.cases.is_empty());
                return;
            };
            let written = write_file(section, title, &suite.cases);
            let again =
                Suite::from_sources([("again.toml".to_string(), Cow::Borrowed(written.as_str()))])
                    .unwrap_or_else(|err| {
                        panic!("the written file does not load: {err}\n{written}")
                    });
            assert_eq!(again.cases.len(), suite.cases.len());
            for (before, mut after) in suite.cases.iter().zip(again.cases) {
                after.source = before.source.clone();
                assert_eq!(
                    *before, after,
                    "case {} changed when written:\n{written}",
                    before.id
                );
            }
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
