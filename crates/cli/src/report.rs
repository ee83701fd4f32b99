//! `wsspec report`: one or more results.json files rendered into one report. Runs of the same agent
//! (shards, for example) merge, a later file winning on a case; a missing shard is warned about and
//! fails the command.

use std::path::PathBuf;

use clap::Args;
use wsspec_report::{json, merge, terminal};
use wsspec_suite::Role;

use crate::{
    exit::{self, Exit},
    outcome::{self, OutcomeArgs},
    stdout::print_out,
};

#[derive(Args, Debug)]
pub(crate) struct ReportArgs {
    /// The results.json files of the runs to compare (or the results.json.gz that a merge of several
    /// agents writes).
    #[arg(required = true, value_name = "RESULTS_JSON")]
    files: Vec<PathBuf>,
    /// Where to write the merged reports: index.html, badge.svg, index.json and the merged results
    /// (one agent: results.json; several: a folder per agent with its results.json.gz, gzip, which
    /// `wsspec report` and --baseline read as they are).
    #[arg(long, default_value = "reports", value_name = "DIR")]
    out: PathBuf,
    /// With several agents, also write Autobahn's per-case files (AGENT/AGENT_case_ID.json, one per
    /// case and agent) and name each in index.json's `reportfile`, for glue that opens them. Without
    /// it, index.json carries every verdict (`behavior`, `behaviorClose`, ...) but no `reportfile`,
    /// and the folder stays small. One agent (shards of a run, say) always gets them, as a run of
    /// `wsspec server` or `wsspec client` does, and as Autobahn writes them.
    #[arg(long)]
    autobahn_case_files: bool,
    #[command(flatten)]
    outcome: OutcomeArgs,
}

/// Reads, merges and writes the runs; prints each run's closing and score lines.
pub(crate) fn report(args: ReportArgs) -> Result<u8, Exit> {
    let runs = args
        .files
        .iter()
        .map(|path| json::read_results(path).map_err(Exit::usage))
        .collect::<Result<Vec<_>, _>>()?;
    let gaps = merge::shard_gaps(&runs);
    for gap in &gaps {
        let missing: Vec<String> = gap
            .missing
            .iter()
            .map(|k| format!("{k}/{}", gap.count))
            .collect();
        eprintln!(
            "wsspec: warning: {} ({}) is missing shard {}: the merged report is incomplete",
            gap.agent,
            match gap.role {
                Role::Server => "server",
                Role::Client => "client",
            },
            missing.join(", ")
        );
    }
    let runs = merge::merge(runs);
    // One agent's merge is one run again, and writes what a run writes; with several, the per-case
    // files would be most of the folder (7,600 files for 12 agents), so only when asked for.
    let json_options = json::JsonOptions {
        case_files: args.autobahn_case_files || runs.len() == 1,
        compress_agent_results: true,
    };
    let (index, page) = outcome::write_reports(&args.out, &runs, json_options, None)?;
    let mut text = String::new();
    for run in &runs {
        text.push_str(&format!(
            "{}\n  {}\n",
            terminal::closing_line(run),
            terminal::score_line(run)
        ));
    }
    print_out(&text);
    eprintln!(
        "wsspec: wrote {}, {} and badge.svg ({} runs, {} agents)",
        page.display(),
        index.display(),
        args.files.len(),
        runs.len()
    );
    // A merge with a shard missing is incomplete; a missing part of a CI run is a failure.
    let code = outcome::conclude(&args.outcome, &runs, None)?;
    Ok(if gaps.is_empty() { code } else { exit::FAILED })
}
