//! The integration tests of the `wsspec` binary, one module per subject, built as one test binary so
//! that a test run links the dependency graph once instead of once per file. The verdict snapshot is
//! its own binary (`tests/snapshot.rs`): it is the heaviest job and runs best alone.

#[path = "../support/common.rs"]
mod common;
#[path = "../support/driver.rs"]
mod driver;
#[path = "../support/fake_github.rs"]
mod fake_github;

mod action;
mod baseline;
mod cli_docs;
mod clients;
mod errors;
mod fuzz;
mod hostile;
mod hostile_clients;
mod html;
mod interruptions;
mod mutants;
mod peers;
mod readme;
mod reference;
mod report_scale;
mod spec;
mod steps;
mod tls;
