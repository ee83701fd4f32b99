//! The wsspec case model.
//!
//! Cases are data: TOML files, one per section, in the workspace's `cases/` folder (embedded into the
//! binary at build time) or in any folder a user names. This crate loads them with errors that name
//! `file:line` ([`load`]), describes them as a typed model ([`case`]), selects them with Autobahn-style
//! wildcards ([`select`]), reads Autobahn's spec files ([`autobahn`]), writes cases back as case files
//! ([`write`]), and defines [`results::RunResults`], the one type the runner produces and the
//! reporters render. Loading and writing go through one definition of the case language, the raw
//! forms of the private `spec` module.
//!
//! ```
//! let suite = wsspec_suite::Suite::builtin().expect("the built-in cases load");
//! let picked = wsspec_suite::select::select(&suite.cases, &["2.*".into()], &[]).expect("2.* exists");
//! assert!(picked.cases.iter().all(|case| case.id.section() == 2));
//! ```

pub mod autobahn;
pub mod case;
pub mod corpus;
pub mod handshake;
pub mod load;
pub mod requirement;
pub mod results;
pub mod select;
mod spec;
pub mod write;

pub use case::{Case, CaseId, Level, Role};
pub use load::{LoadError, Suite};
pub use spec::{DEFAULT_EXPECT_MS, parse_hex};
pub use write::write_file;

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));
