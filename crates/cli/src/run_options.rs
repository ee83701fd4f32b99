//! The options that `server` and `client` share: where the reports go, how many cases run at once,
//! deadlines, strictness, JUnit and the seed.

use std::{path::PathBuf, time::Duration};

use clap::Args;
use wsspec_runner::RunConfig;
use wsspec_suite::results::SelectionInfo;

#[derive(Args, Debug)]
pub(crate) struct RunOptions {
    /// Where to write the reports: results.json, index.json, index.html and badge.svg [default: the
    /// spec's outdir, else reports]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How many cases run at once (for `client`, --exec commands). The paced ones (waits, pauses,
    /// trickles), which mostly sleep, take at most half of the slots and start first; with 1, every
    /// case runs alone.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// How long the peer may make no progress while a case waits on it, in seconds: a case fails once
    /// the peer has sent nothing for this long while it waits for an answer, or taken none of what
    /// wsspec writes, whatever the case's deadline.
    #[arg(long, default_value_t = 5, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Each case's deadline in seconds, for peers that are slow but making progress (a case's own
    /// deadline wins if it sets one: 120 s for the largest of section 9).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub case_deadline: u64,
    /// End the whole run by this time (`90s`, `10m`, `1h`; a bare number is seconds): the cases not
    /// finished by then are reported as not run, every report is written, and wsspec exits 4
    /// [default: none for `server`, 1h for `client`]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,
    /// Count NON-STRICT verdicts as failures.
    #[arg(long)]
    pub strict: bool,
    /// Also write JUnit XML here (one testsuite per section, one testcase per case; with several
    /// agents, one file per agent: FILE-AGENT.xml).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Seed for the random values wsspec sends (masking keys, handshake keys), so that a run can be
    /// replayed byte for byte.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
}

/// A duration as `--deadline` takes it: humantime's `90s`, `10m`, `1h30m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = match text.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(text).map_err(|err| err.to_string())?,
    };
    match duration.is_zero() {
        true => Err("the deadline must be longer than zero".to_owned()),
        false => Ok(duration),
    }
}

impl RunOptions {
    /// The runner's configuration for `agent` and the cases `selection` chose.
    pub fn config(&self, agent: String, selection: SelectionInfo) -> RunConfig {
        let mut config = RunConfig {
            agent,
            jobs: usize::from(self.jobs),
            strict: self.strict,
            selection,
            ..RunConfig::default()
        };
        config.settings.seed = self.seed;
        config.settings.progress_timeout = Duration::from_secs(self.timeout);
        config.settings.case_timeout = Duration::from_secs(self.case_deadline);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_seconds_or_humantime_and_never_zero() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
