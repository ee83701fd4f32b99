//! Progress while cases run, drawn from the runner's [`Observer`] calls (the runner never prints).
//!
//! - On a terminal (stderr is a TTY and `CI` is not set): an indicatif progress bar on stderr, with the
//!   count of failures so far; each failing case is printed above the bar as it finishes.
//! - Otherwise (a pipe, a log file, CI): plain lines on stderr, one per failing case as it finishes,
//!   and a count at every tenth of the run, so that a CI log shows the run moving and what failed.
//!
//! `NO_COLOR` turns the bar's colours off.

use std::{io::IsTerminal, sync::Mutex, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use wsspec_runner::Observer;
use wsspec_suite::results::CaseResult;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// A progress bar on a terminal.
    Bar,
    /// Plain lines, for logs.
    Lines,
}

impl ProgressMode {
    /// A bar when stderr is a terminal and `CI` is not set; lines otherwise.
    pub(crate) fn detect() -> ProgressMode {
        if std::io::stderr().is_terminal() && !in_ci() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// Whether the `CI` variable says this is a CI job (set, and not `false` or `0`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"))
}

/// Whether colours are allowed (`NO_COLOR` unset or empty).
pub(crate) fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Counts so far.
#[derive(Default)]
struct Counts {
    total: usize,
    done: usize,
    failed: usize,
    /// The next count at which a plain line is printed.
    next_line: usize,
}

/// An [`Observer`] that shows the run's progress on stderr.
pub(crate) struct Progress {
    label: String,
    strict: bool,
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
}

impl Progress {
    /// Progress for the run of `label` (the agent), `strict` if NON-STRICT fails.
    pub(crate) fn new(mode: ProgressMode, label: &str, strict: bool) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let template = if color_allowed() {
                "{prefix} [{bar:30.cyan/blue}] {pos}/{len} cases {msg} {elapsed}"
            } else {
                "{prefix} [{bar:30}] {pos}/{len} cases {msg} {elapsed}"
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let bar = ProgressBar::new(0).with_style(style);
            bar.set_prefix(label.to_owned());
            bar
        });
        Progress {
            label: label.to_owned(),
            strict,
            bar,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Removes the bar, once the run is over (the summary follows).
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How many cases pass between two plain progress lines: a tenth of the run.
fn line_step(total: usize) -> usize {
    total.div_ceil(10).max(1)
}

impl Observer for Progress {
    fn started(&self, total: usize) {
        let mut counts = self.counts();
        counts.total += total;
        counts.next_line = counts.done + line_step(counts.total);
        if let Some(bar) = &self.bar {
            bar.set_length(counts.total as u64);
            // Ticks redraw the elapsed time while the cases that pause are the only ones left.
            bar.enable_steady_tick(Duration::from_millis(250));
        }
    }

    fn finished(&self, result: &CaseResult) {
        let mut counts = self.counts();
        counts.done += 1;
        let failed = result.verdict.is_failure(self.strict);
        if failed {
            counts.failed += 1;
        }
        let failure_line = failed.then(|| {
            format!(
                "wsspec: {}: {} {} {}",
                self.label,
                result.verdict.autobahn_name(),
                result.id,
                result.title
            )
        });
        match &self.bar {
            Some(bar) => {
                if let Some(line) = failure_line {
                    bar.println(line);
                }
                if counts.done as u64 > bar.length().unwrap_or(0) {
                    bar.set_length(counts.done as u64);
                }
                bar.set_position(counts.done as u64);
                if counts.failed > 0 {
                    bar.set_message(format!("({} failed)", counts.failed));
                }
            }
            None => {
                if let Some(line) = failure_line {
                    eprintln!("{line}");
                }
                if counts.done >= counts.next_line || counts.done == counts.total {
                    counts.next_line = counts.done + line_step(counts.total);
                    eprintln!(
                        "wsspec: {}: {}/{} cases done, {} failed",
                        self.label,
                        counts.done,
                        counts.total.max(counts.done),
                        counts.failed
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_every_tenth() {
        assert_eq!(line_step(301), 31);
        assert_eq!(line_step(5), 1);
        assert_eq!(line_step(0), 1);
    }
}
