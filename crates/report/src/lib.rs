//! Reporters: each renders [`RunResults`] and nothing else, so a saved `results.json` can be rendered
//! again without running anything.
//!
//! - [`terminal`]: the summary printed at the end of a run (comfy-table);
//! - [`junit`]: JUnit XML for the test tabs of CI systems;
//! - [`json`]: `results.json` (our versioned schema), Autobahn's `index.json` and per-case files, all
//!   written atomically into the output folder.

pub mod json;
pub mod junit;
pub mod terminal;

pub use wsspec_suite::results::RunResults;
