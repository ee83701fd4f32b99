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
    /// Each case's deadline in seconds (a case's own deadline wins if it sets one).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
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
        config.settings.case_timeout = Duration::from_secs(self.timeout);
        config
    }
}
