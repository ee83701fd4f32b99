//! Why a client run ended, and what that says in the results.

use super::ClientOptions;

/// Why a client run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// A driver asked for the reports (`/updateReports`).
    ReportsRequested,
    /// Every `--exec` command ran.
    CommandsDone,
    /// No client connected for [`ClientOptions::idle`].
    Idle,
    /// [`ClientOptions::deadline`] passed.
    Deadline,
    /// The `stop` future completed (Ctrl-C).
    Stopped,
}

impl RunEnd {
    /// Why a run that ended this way stopped before its time, for the results; `None` when it ended
    /// as it should.
    pub fn stopped(self, options: &ClientOptions) -> Option<String> {
        match self {
            RunEnd::ReportsRequested | RunEnd::CommandsDone => None,
            RunEnd::Idle => Some(format!(
                "no client connected for the idle time of {}",
                humantime::format_duration(options.idle)
            )),
            RunEnd::Deadline => Some(format!(
                "the run's deadline of {} passed",
                humantime::format_duration(options.deadline)
            )),
            RunEnd::Stopped => Some("interrupted".to_owned()),
        }
    }
}
