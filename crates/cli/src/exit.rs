//! How a command ends: the documented exit codes, and [`Exit`], a failure with its code and its
//! one-line message.

/// No case failed.
pub(crate) const OK: u8 = 0;
/// At least one case failed.
pub(crate) const FAILED: u8 = 1;
/// Usage, configuration or case-file error.
pub(crate) const USAGE: u8 = 2;
/// The target could not be reached.
pub(crate) const UNREACHABLE: u8 = 3;
/// The run's `--deadline` passed before every case ran; the results so far were still written, marked
/// incomplete.
pub(crate) const DEADLINE: u8 = 4;
/// Interrupted by Ctrl-C (SIGINT) or SIGTERM; the results so far were still written, marked
/// incomplete.
pub(crate) const INTERRUPTED: u8 = 130;

/// A failure that ends the command with an exit code and a one-line message.
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Exit {
    /// A usage, configuration or case-file error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Exit {
            code: USAGE,
            message: message.into(),
        }
    }
}
