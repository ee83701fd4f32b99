//! Where the cases come from: the built-in ones, or the case files of `--cases-dir`.

use std::path::PathBuf;

use wsspec_suite::Suite;

use crate::exit::Exit;

/// Loads the cases of `cases_dir`, or the built-in cases when there is none; an unusable case file is
/// a usage error.
pub(crate) fn load_suite(cases_dir: Option<&PathBuf>) -> Result<Suite, Exit> {
    match cases_dir {
        Some(dir) => Suite::from_dir(dir),
        None => Suite::builtin(),
    }
    .map_err(|err| Exit::usage(err.to_string()))
}
