//! Writing to stdout, where a closed pipe (`wsspec list | head`) is not an error worth a panic.

use std::io::Write;

/// Writes `text` to stdout and flushes it; a write error (a closed pipe) is ignored.
pub(crate) fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
