//! JSON outputs: `results.json` in wsspec's schema, and Autobahn's `index.json` with one file per case,
//! so that CI glue written for Autobahn reads wsspec's output unchanged.
//!
//! Every file is written to a temporary name and renamed into place, so no reader ever sees half a file.
//! (No fsync: the rename already gives readers whole files, and reports are not worth a disk flush each.)

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use serde::Serialize;
use wsspec_suite::results::{CaseResult, RunResults, SCHEMA_VERSION};

/// Writing a report failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    /// The file or folder.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// The files a run writes into its output folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// `results.json`.
    pub results: PathBuf,
    /// `index.json`.
    pub index: PathBuf,
}

/// Writes `results.json`, `index.json` and the per-case files into `dir` (created if needed).
pub fn write_all(dir: &Path, results: &RunResults) -> Result<Written, WriteError> {
    fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_owned(),
        source,
    })?;
    let results_path = dir.join("results.json");
    write_json(&results_path, results)?;
    for case in &results.cases {
        write_json(
            &dir.join(report_file(&results.agent, &case.id)),
            &AutobahnCase::new(results, case),
        )?;
    }
    let index_path = dir.join("index.json");
    write_json(&index_path, &index(results))?;
    Ok(Written {
        results: results_path,
        index: index_path,
    })
}

/// Writes the JSON reports of several runs (one per agent). One run goes straight into `dir`, as
/// [`write_all`] writes it. With several, each run's files go into `dir/<agent>/` (the agent's name as
/// [`file_stem`] makes it, `-2`, `-3`, … added if two agents make the same name), and `dir/index.json`
/// holds every agent, as Autobahn's does, each `reportfile` relative to `dir`. Returns the folder of
/// each run, in order, and the path of the index that holds them all.
pub fn write_runs(dir: &Path, runs: &[RunResults]) -> Result<(Vec<PathBuf>, PathBuf), WriteError> {
    if let [run] = runs {
        let written = write_all(dir, run)?;
        return Ok((vec![dir.to_owned()], written.index));
    }
    let folders = agent_folders(runs);
    let mut merged = BTreeMap::new();
    for (run, folder) in runs.iter().zip(&folders) {
        write_all(&dir.join(folder), run)?;
        for (agent, mut cases) in index(run) {
            for entry in cases.values_mut() {
                entry.reportfile = format!("{folder}/{}", entry.reportfile);
            }
            merged.insert(agent, cases);
        }
    }
    fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_owned(),
        source,
    })?;
    let index_path = dir.join("index.json");
    write_json(&index_path, &merged)?;
    Ok((
        folders.iter().map(|folder| dir.join(folder)).collect(),
        index_path,
    ))
}

/// A folder name per run: the agent's [`file_stem`], made unique.
fn agent_folders(runs: &[RunResults]) -> Vec<String> {
    let mut taken = std::collections::BTreeSet::new();
    runs.iter()
        .map(|run| {
            let stem = file_stem(&run.agent);
            let mut name = stem.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{stem}-{n}");
            }
            name
        })
        .collect()
}

/// Reads a `results.json`; the error names the file (and the line, for a JSON error).
pub fn read_results(path: &Path) -> Result<RunResults, String> {
    let text = fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let parse_error = |err: serde_json::Error| format!("{}:{}: {err}", path.display(), err.line());
    // The version first: a newer schema is named as such, not as some field it lacks.
    #[derive(serde::Deserialize)]
    struct Version {
        schema: u32,
    }
    let Version { schema } = serde_json::from_str(&text).map_err(parse_error)?;
    if schema != SCHEMA_VERSION {
        return Err(format!(
            "{}: results schema {schema}, but this wsspec reads schema {SCHEMA_VERSION}",
            path.display()
        ));
    }
    serde_json::from_str(&text).map_err(parse_error)
}

/// Writes any serializable value as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    write_atomically(path, |file| {
        serde_json::to_writer_pretty(&mut *file, value)?;
        file.write_all(b"\n")
    })
}

/// Writes a file atomically: `write` fills `<name>.tmp` beside it, which is then renamed into place.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let error = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file = std::io::BufWriter::new(fs::File::create(&tmp).map_err(error)?);
    write(&mut file).map_err(error)?;
    file.flush().map_err(error)?;
    drop(file);
    fs::rename(&tmp, path).map_err(error)
}

/// Autobahn's per-case file name: the agent lower-cased with everything but `[a-z0-9]` as `_`.
pub fn report_file(agent: &str, case_id: &str) -> String {
    format!(
        "{}_case_{}.json",
        file_stem(agent),
        case_id.replace('.', "_")
    )
}

/// An agent's name as a file name: lower case, everything but `[a-z0-9]` as `_`.
pub fn file_stem(agent: &str) -> String {
    agent
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// One entry of Autobahn's `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndexEntry {
    /// The main verdict (`OK`, `NON-STRICT`, `FAILED`, ...). wsspec writes its overall verdict here, so a
    /// case that failed only in its closing is not reported as OK.
    pub behavior: &'static str,
    /// The close verdict.
    #[serde(rename = "behaviorClose")]
    pub behavior_close: &'static str,
    /// Milliseconds.
    pub duration: u64,
    /// The close code the peer sent, if any.
    #[serde(rename = "remoteCloseCode")]
    pub remote_close_code: Option<u16>,
    /// The per-case file.
    pub reportfile: String,
}

/// Autobahn's `index.json`: `{agent: {case id: entry}}`.
pub fn index(results: &RunResults) -> BTreeMap<String, BTreeMap<String, IndexEntry>> {
    let cases = results
        .cases
        .iter()
        .map(|case| {
            let entry = IndexEntry {
                behavior: case.verdict.autobahn_name(),
                behavior_close: case.behavior_close.autobahn_name(),
                duration: case.duration_ms,
                remote_close_code: case.close.peer_code,
                reportfile: report_file(&results.agent, &case.id),
            };
            (case.id.clone(), entry)
        })
        .collect();
    BTreeMap::from([(results.agent.clone(), cases)])
}

/// A per-case file: Autobahn's main fields, then wsspec's full result.
#[derive(Serialize)]
struct AutobahnCase<'a> {
    agent: &'a str,
    id: &'a str,
    description: &'a str,
    expectation: &'a str,
    behavior: &'static str,
    #[serde(rename = "behaviorClose")]
    behavior_close: &'static str,
    duration: u64,
    #[serde(rename = "remoteCloseCode")]
    remote_close_code: Option<u16>,
    result: &'a str,
    wsspec: &'a CaseResult,
}

impl<'a> AutobahnCase<'a> {
    fn new(results: &'a RunResults, case: &'a CaseResult) -> Self {
        AutobahnCase {
            agent: &results.agent,
            id: &case.id,
            description: &case.title,
            expectation: &case.expected,
            behavior: case.verdict.autobahn_name(),
            behavior_close: case.behavior_close.autobahn_name(),
            duration: case.duration_ms,
            remote_close_code: case.close.peer_code,
            result: &case.actual,
            wsspec: case,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip_and_other_schemas_are_named() {
        let dir = std::env::temp_dir().join(format!("wsspec-json-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.json");
        let results = crate::fixtures::run(
            "a",
            vec![crate::fixtures::case(
                "1.1.1",
                wsspec_suite::results::Verdict::Pass,
            )],
        );
        write_json(&path, &results).unwrap();
        assert_eq!(read_results(&path).unwrap(), results);
        fs::write(&path, r#"{"schema": 2, "whatever": true}"#).unwrap();
        let err = read_results(&path).unwrap_err();
        assert!(
            err.ends_with("results schema 2, but this wsspec reads schema 1"),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn several_runs_share_one_index() {
        let dir = std::env::temp_dir().join(format!("wsspec-json-runs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let case = || crate::fixtures::case("2.5", wsspec_suite::results::Verdict::Pass);
        let runs = [
            crate::fixtures::run("Web Sockets", vec![case()]),
            crate::fixtures::run("web-sockets", vec![case()]),
        ];
        let (folders, index_path) = write_runs(&dir, &runs).unwrap();
        assert_eq!(
            folders,
            [dir.join("web_sockets"), dir.join("web_sockets-2")]
        );
        let index: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(index_path).unwrap()).unwrap();
        assert_eq!(
            index["web-sockets"]["2.5"]["reportfile"],
            "web_sockets-2/web_sockets_case_2_5.json"
        );
        assert!(dir.join("web_sockets-2/web_sockets_case_2_5.json").exists());
        assert!(dir.join("web_sockets/results.json").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn report_file_names_follow_autobahn() {
        assert_eq!(
            report_file("websockets-17.4", "6.4.1"),
            "websockets_17_4_case_6_4_1.json"
        );
        assert_eq!(
            report_file("Tungstenite", "2.10"),
            "tungstenite_case_2_10.json"
        );
    }
}
