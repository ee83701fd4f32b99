//! JSON outputs: `results.json` in wsspec's schema, and Autobahn's `index.json` with one file per case,
//! so that CI glue written for Autobahn reads wsspec's output unchanged.
//!
//! What a folder holds depends on [`JsonOptions`]. A run (`wsspec server`, `wsspec client`) writes
//! everything Autobahn's fuzzers write: `index.json` and a per-case file for each case, named in each
//! index entry's `reportfile`, beside `results.json`. A merge of several agents (`wsspec report`)
//! writes the per-case files only when asked: for 12 agents they are thousands of files and most of
//! the folder, and Autobahn glue that reads only `index.json` (its `behavior`, as most does) needs
//! none. Without them the index entries have no `reportfile`, so nothing names a file that is not
//! there. Such a merge also writes each agent's results gzip-compressed, as `results.json.gz`:
//! [`read_results`] reads either form. (One agent's merge, of shards say, is a run again and writes
//! what a run writes.)
//!
//! Every file is written to a temporary name and renamed into place, so no reader ever sees half a file.
//! (No fsync: the rename already gives readers whole files, and reports are not worth a disk flush each.)

use std::{
    collections::BTreeMap,
    fs,
    io::{Read, Write},
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

/// Which files the JSON reports of a folder hold, besides `index.json` (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonOptions {
    /// Autobahn's per-case files, each named in its index entry's `reportfile`.
    pub case_files: bool,
    /// With several runs, each agent's folder holds only its results, gzip-compressed, as
    /// `<agent>/results.json.gz` (and its per-case files, if written): `DIR/index.json` holds every
    /// agent. Without it, each agent's folder holds what a run of that agent writes. One run always
    /// writes a plain `results.json`.
    pub compress_agent_results: bool,
}

impl JsonOptions {
    /// What a run writes: every file Autobahn's fuzzers write, plain.
    pub const RUN: JsonOptions = JsonOptions {
        case_files: true,
        compress_agent_results: false,
    };
}

/// Writes `results.json`, `index.json` and the per-case files into `dir` (created if needed).
pub fn write_all(dir: &Path, results: &RunResults) -> Result<Written, WriteError> {
    write_run(dir, results, JsonOptions::RUN, false)?;
    Ok(Written {
        results: dir.join("results.json"),
        index: dir.join("index.json"),
    })
}

/// Writes one run's files into `dir`: `results.json`, the per-case files if `options` asks for
/// them, and the run's own `index.json`; or, when `compress`, `results.json.gz` (and the per-case
/// files if asked for) without an index of its own, as one agent's folder of a merge.
fn write_run(
    dir: &Path,
    results: &RunResults,
    options: JsonOptions,
    compress: bool,
) -> Result<(), WriteError> {
    fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_owned(),
        source,
    })?;
    if compress {
        write_json_gz(&dir.join("results.json.gz"), results)?;
    } else {
        write_json(&dir.join("results.json"), results)?;
    }
    if options.case_files {
        for case in &results.cases {
            write_json(
                &dir.join(report_file(&results.agent, &case.id)),
                &AutobahnCase::new(results, case),
            )?;
        }
    }
    if !compress {
        write_json(&dir.join("index.json"), &index(results, options.case_files))?;
    }
    Ok(())
}

/// Writes the JSON reports of several runs (one per agent), with the files `options` asks for. One
/// run goes straight into `dir`, plain. With several, each run's files go into `dir/<agent>/` (the
/// agent's name as [`file_stem`] makes it, `-2`, `-3`, … added if two agents make the same name), and
/// `dir/index.json` holds every agent, as Autobahn's does, each `reportfile` relative to `dir`.
/// Returns the folder of each run, in order, and the path of the index that holds them all.
pub fn write_runs(
    dir: &Path,
    runs: &[RunResults],
    options: JsonOptions,
) -> Result<(Vec<PathBuf>, PathBuf), WriteError> {
    if let [run] = runs {
        write_run(dir, run, options, false)?;
        return Ok((vec![dir.to_owned()], dir.join("index.json")));
    }
    let folders = agent_folders(runs);
    let mut merged = BTreeMap::new();
    for (run, folder) in runs.iter().zip(&folders) {
        write_run(
            &dir.join(folder),
            run,
            options,
            options.compress_agent_results,
        )?;
        for (agent, mut cases) in index(run, options.case_files) {
            for entry in cases.values_mut() {
                if let Some(file) = &mut entry.reportfile {
                    *file = format!("{folder}/{file}");
                }
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

/// Reads a file as text, inflating it first if it is gzip-compressed (as a merge's
/// `results.json.gz` is), whatever its name.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = fs::read(path)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice()).read_to_string(&mut text)?;
        return Ok(text);
    }
    String::from_utf8(bytes)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err.utf8_error()))
}

/// Reads a `results.json` (or a gzip-compressed `results.json.gz`); the error names the file (and
/// the line, for a JSON error).
pub fn read_results(path: &Path) -> Result<RunResults, String> {
    let text = read_text(path).map_err(|err| format!("{}: {err}", path.display()))?;
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

/// Writes any serializable value as compact JSON, gzip-compressed, atomically.
pub fn write_json_gz<T: Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    write_atomically(path, |file| {
        let mut gzip = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        serde_json::to_writer(&mut gzip, value)?;
        gzip.write_all(b"\n")?;
        gzip.finish()?;
        Ok(())
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
    /// The per-case file, when it is written (see the module documentation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reportfile: Option<String>,
}

/// Autobahn's `index.json`: `{agent: {case id: entry}}`, each entry naming its per-case file when
/// `case_files` are written.
pub fn index(
    results: &RunResults,
    case_files: bool,
) -> BTreeMap<String, BTreeMap<String, IndexEntry>> {
    let cases = results
        .cases
        .iter()
        .map(|case| {
            let entry = IndexEntry {
                behavior: case.verdict.autobahn_name(),
                behavior_close: case.behavior_close.autobahn_name(),
                duration: case.duration_ms,
                remote_close_code: case.close.peer_code,
                reportfile: case_files.then(|| report_file(&results.agent, &case.id)),
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
        let (folders, index_path) = write_runs(&dir, &runs, JsonOptions::RUN).unwrap();
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
    fn a_merge_without_case_files_names_none_and_compresses_results() {
        let dir = std::env::temp_dir().join(format!("wsspec-json-merge-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let case = || crate::fixtures::case("2.5", wsspec_suite::results::Verdict::Pass);
        let runs = [
            crate::fixtures::run("a", vec![case()]),
            crate::fixtures::run("b", vec![case()]),
        ];
        let options = JsonOptions {
            case_files: false,
            compress_agent_results: true,
        };
        let (folders, index_path) = write_runs(&dir, &runs, options).unwrap();
        let index: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(index_path).unwrap()).unwrap();
        assert_eq!(index["b"]["2.5"]["behavior"], "OK");
        assert!(index["b"]["2.5"].get("reportfile").is_none(), "{index}");
        let mut files: Vec<String> = fs::read_dir(&folders[1])
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["results.json.gz"]);
        let path = folders[1].join("results.json.gz");
        assert_eq!(fs::read(&path).unwrap()[..2], [0x1f, 0x8b]);
        assert_eq!(read_results(&path).unwrap(), runs[1]);
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
