//! Reporters: each renders [`RunResults`] and nothing else, so a saved `results.json` can be rendered
//! again without running anything.
//!
//! - [`terminal`]: the summary printed at the end of a run (comfy-table);
//! - [`junit`]: JUnit XML for the test tabs of CI systems;
//! - [`json`]: `results.json` (our versioned schema), Autobahn's `index.json` and per-case files, all
//!   written atomically into the output folder;
//! - [`html`]: `index.html`, one self-contained page with the scores, the matrix of agents × cases,
//!   every case's detail and wire transcript, and throughput charts;
//! - [`badge`]: `badge.svg`, the grade for a project's README;
//! - [`job_summary`]: Markdown for a CI run's page (GitHub's job summary);
//! - [`score`]: the compliance score and grade that the others show;
//! - [`merge`]: several runs into one comparison (`wsspec report`), shards of one run into one;
//! - [`baseline`]: expected verdicts per agent and case, and the diff of a run against them.

pub mod badge;
pub mod baseline;
pub mod html;
pub mod job_summary;
pub mod json;
pub mod junit;
pub mod merge;
pub mod score;
pub mod terminal;

#[cfg(test)]
mod fixtures;

pub use wsspec_suite::results::RunResults;
