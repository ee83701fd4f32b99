//! The end of every run: the reports written, the summary printed, the baseline compared or updated,
//! the job summary and GitHub annotations, and the exit code. Shared by `server`, `client` and `report`.
//!
//! Exit code: 130 when the run was interrupted; else, with `--baseline`, 1 exactly when a verdict differs
//! from the baseline (expected failures do not count); else 1 when a case failed; else 0.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

use clap::Args;
use wsspec_report::{
    RunResults, badge,
    baseline::{Baseline, BaselineDiff},
    html, job_summary, json, junit, terminal,
};

use crate::{
    annotations,
    exit::{self, Exit},
    progress::color_allowed,
    stdout::print_out,
};

/// Options about how a run's outcome counts and is shown.
#[derive(Args, Debug, Default)]
pub(crate) struct OutcomeArgs {
    /// The expected verdict of each case: a results.json (or results.json.gz) or an index.json
    /// (wsspec's or Autobahn's).
    /// Only a difference from it fails the run (exit 1), and the difference is printed.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Write this run's verdicts into the --baseline file instead of comparing (cases not run keep
    /// their entries there). Not written when the run did not finish.
    #[arg(long, requires = "baseline")]
    pub(crate) update_baseline: bool,
    /// Print GitHub Actions annotations (`::error`) for failed cases, or for the differences from the
    /// baseline. On by itself when GITHUB_ACTIONS=true.
    #[arg(long)]
    pub(crate) github_annotations: bool,
    /// Append a Markdown summary of the run to FILE: the grade, the counts per section, the failed
    /// cases with the requirement each broke (with --baseline: the differences first). On by itself
    /// when GITHUB_ACTIONS=true, into $GITHUB_STEP_SUMMARY (GitHub's job summary).
    #[arg(long, value_name = "FILE")]
    pub(crate) summary: Option<PathBuf>,
}

/// Writes the JSON reports (the files `json_options` asks for), `index.html`, `badge.svg` and (one
/// file per agent) JUnit XML. Returns the paths of the index and the page.
pub(crate) fn write_reports(
    out: &Path,
    runs: &[RunResults],
    json_options: json::JsonOptions,
    junit_path: Option<&Path>,
) -> Result<(PathBuf, PathBuf), Exit> {
    let (_, index) =
        json::write_runs(out, runs, json_options).map_err(|err| Exit::usage(err.to_string()))?;
    let page = write_pages(out, runs)?;
    if let Some(path) = junit_path {
        for run in runs {
            let path = match runs {
                [_] => path.to_owned(),
                _ => per_agent(path, &run.agent),
            };
            junit::write_junit(&path, run).map_err(|err| Exit::usage(err.to_string()))?;
        }
    }
    Ok((index, page))
}

/// Refuses an output folder the reports could not be written to, before any case runs: creates it
/// and writes and removes a probe file there.
pub(crate) fn check_writable(dir: &Path) -> Result<(), Exit> {
    let refuse = |err: std::io::Error| {
        Exit::usage(format!(
            "cannot write the reports to {}: {err}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(refuse)?;
    let probe = dir.join(".wsspec-write-check");
    std::fs::write(&probe, b"").map_err(refuse)?;
    std::fs::remove_file(&probe).map_err(refuse)
}

/// Writes `index.html` and `badge.svg` into `dir` and returns the page's path.
fn write_pages(dir: &Path, runs: &[RunResults]) -> Result<PathBuf, Exit> {
    std::fs::create_dir_all(dir)
        .map_err(|err| Exit::usage(format!("cannot create {}: {err}", dir.display())))?;
    let page = html::write(dir, runs).map_err(|err| Exit::usage(err.to_string()))?;
    badge::write(dir, runs).map_err(|err| Exit::usage(err.to_string()))?;
    Ok(page)
}

/// `junit.xml` → `junit-<agent>.xml`.
fn per_agent(path: &Path, agent: &str) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!(
            "{stem}-{}.{}",
            json::file_stem(agent),
            ext.to_string_lossy()
        ),
        None => format!("{stem}-{}", json::file_stem(agent)),
    };
    path.with_file_name(name)
}

/// Prints each run's summary to stdout.
pub(crate) fn print_summaries(runs: &[RunResults]) {
    let style = terminal::Style {
        color: std::io::stdout().is_terminal() && color_allowed(),
        width: None,
    };
    for run in runs {
        print_out(&terminal::summary(run, style));
    }
}

/// Compares with or updates the baseline, prints the diff and the annotations, and returns the exit
/// code (`interrupted`: the run was stopped by a signal).
pub(crate) fn conclude(
    args: &OutcomeArgs,
    runs: &[RunResults],
    stopped: Option<u8>,
) -> Result<u8, Exit> {
    let complete = runs.iter().all(|run| run.complete);
    let diff = match &args.baseline {
        Some(path) => Some(compare(path, args.update_baseline, runs, complete)?),
        None => None,
    };
    if let Some(diff) = &diff {
        if let Some(path) = &args.baseline {
            print_out(&diff.render(path));
        }
    }
    if let Some(path) = summary_file(args) {
        append(&path, &job_summary::render(runs, diff.as_ref()))?;
    }
    if annotations::enabled(args.github_annotations) {
        print_out(&match &diff {
            Some(diff) => annotations::changes(diff),
            None => annotations::failures(runs),
        });
    }
    Ok(if let Some(code) = stopped {
        code
    } else if let Some(diff) = diff {
        if diff.differs() {
            exit::FAILED
        } else {
            exit::OK
        }
    } else if runs.iter().any(RunResults::has_failures) {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Where the job summary goes: `--summary`, else `$GITHUB_STEP_SUMMARY` on GitHub Actions.
fn summary_file(args: &OutcomeArgs) -> Option<PathBuf> {
    args.summary.clone().or_else(|| {
        annotations::on_github()
            .then(|| std::env::var_os("GITHUB_STEP_SUMMARY"))
            .flatten()
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    })
}

/// Appends some text to a file, creating it if needed (a job summary file collects every step's).
fn append(path: &Path, text: &str) -> Result<(), Exit> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|err| {
            Exit::usage(format!(
                "cannot write the summary to {}: {err}",
                path.display()
            ))
        })
}

/// Reads the baseline (or writes it, with `update`) and compares the runs with it.
fn compare(
    path: &Path,
    update: bool,
    runs: &[RunResults],
    complete: bool,
) -> Result<BaselineDiff, Exit> {
    if !update {
        let baseline = Baseline::read(path).map_err(|err| {
            let hint = if path.exists() {
                ""
            } else {
                " (create it with --update-baseline)"
            };
            Exit::usage(format!("{err}{hint}"))
        })?;
        return Ok(baseline.diff(runs));
    }
    let existing = if path.exists() {
        Baseline::read(path).map_err(Exit::usage)?
    } else {
        Baseline::default()
    };
    if !complete {
        eprintln!(
            "wsspec: warning: {} was not updated: the run did not finish",
            path.display()
        );
        return Ok(existing.diff(runs));
    }
    let updated = existing.updated(runs);
    updated
        .write(path)
        .map_err(|err| Exit::usage(err.to_string()))?;
    let cases: usize = updated.agents.values().map(|cases| cases.len()).sum();
    let agents = match updated.agents.len() {
        1 => "1 agent".to_owned(),
        n => format!("{n} agents"),
    };
    eprintln!(
        "wsspec: wrote the baseline {} ({cases} cases, {agents})",
        path.display()
    );
    Ok(updated.diff(runs))
}
