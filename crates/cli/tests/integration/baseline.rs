//! Baselines, shards and CI output, end to end against broken servers of our own
//! (`wsspec_mutants`): only a change from the baseline fails a run, an Autobahn index.json works as a
//! baseline, and sharded runs merged equal an unsharded run, case for case.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;
use wsspec_mutants::Defect;

/// A server with `defect`, on a runtime that lives as long as the returned handle.
fn server(defect: Defect) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = runtime.block_on(wsspec_mutants::spawn(defect)).unwrap();
    (runtime, format!("ws://{addr}/"))
}

fn wsspec(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wsspec"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The lines of the baseline diff in stdout, from its headline on.
fn diff_of(stdout: &str) -> String {
    let start = stdout.find("baseline ").unwrap_or(stdout.len());
    stdout[start..].to_owned()
}

#[test]
fn baseline_round_trip_against_broken_servers() {
    let dir = common::out_dir("baseline-round-trip");
    let baseline = dir.join("ci/wsspec.json");
    let out = dir.join("reports");
    let cases = "3.*,4.*";
    let run = |url: &str, extra: &[&str]| {
        let mut args = vec!["server", url, "--cases", cases, "--out", path_str(&out)];
        args.extend(["--baseline", path_str(&baseline)]);
        args.extend(extra);
        wsspec(&args, &[])
    };

    // A server that ignores RSV bits: 3.x fail. Recording them makes them expected.
    let (_rsv_runtime, rsv) = server(Defect::AcceptsRsv);
    let missing = run(&rsv, &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("(create it with --update-baseline)"));
    let update = run(&rsv, &["--update-baseline"]);
    assert_eq!(update.status.code(), Some(0), "{}", text(&update.stderr));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let agent = written.as_object().unwrap().keys().next().unwrap().clone();
    assert_eq!(written[&agent]["3.1"]["behavior"], "FAILED");
    assert_eq!(written[&agent]["4.1.1"]["behavior"], "OK");
    assert!(written[&agent]["3.1"].get("duration").is_none());

    // The same server again (on another port: the lone agent is matched whatever its name): exit 0.
    let (_rsv_again_runtime, rsv_again) = server(Defect::AcceptsRsv);
    let again = run(&rsv_again, &[]);
    let stdout = text(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(diff_of(&stdout).starts_with("baseline "), "{stdout}");
    assert!(stdout.contains(": no difference for "), "{stdout}");

    // Another behaviour: reserved opcodes accepted, RSV bits refused. Exit 1 and a readable diff.
    let (_opcode_runtime, opcode) = server(Defect::AcceptsReservedOpcode);
    let changed = run(&opcode, &[]);
    let stdout = text(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    let diff = diff_of(&stdout);
    let lines: Vec<&str> = diff.lines().collect();
    assert!(
        lines[0].contains(": 17 differences for 127.0.0.1:"),
        "{diff}"
    );
    assert!(lines[0].ends_with(", 17 cases compared"), "{diff}");
    assert_eq!(lines[1], "  newly failing (10):", "{diff}");
    assert!(lines[2].starts_with("    4.1.1  OK -> FAILED  "), "{diff}");
    // 3.7 (RSV bits on a close frame) was NON-STRICT: the close was answered as a valid one.
    assert_eq!(lines[12], "  newly passing (6):", "{diff}");
    assert!(lines[13].starts_with("    3.1    FAILED -> OK  "), "{diff}");
    assert_eq!(
        lines.last().copied(),
        Some(
            "A regression, or an intended change: to accept it, run again with --update-baseline."
        )
    );

    // With GitHub annotations, each newly failing case is an ::error, each newly passing a ::notice.
    let annotated = wsspec(
        &[
            "server",
            &opcode,
            "--cases",
            cases,
            "--out",
            path_str(&out),
            "--baseline",
            path_str(&baseline),
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    let stdout = text(&annotated.stdout);
    let errors = stdout
        .lines()
        .filter(|l| l.starts_with("::error title=wsspec "))
        .count();
    let notices = stdout
        .lines()
        .filter(|l| l.starts_with("::notice title=wsspec "))
        .count();
    assert_eq!((errors, notices), (10, 7), "{stdout}");
}

#[test]
fn an_autobahn_index_json_is_a_baseline() {
    let dir = common::out_dir("baseline-autobahn");
    std::fs::create_dir_all(&dir).unwrap();
    let index = dir.join("expected-results.json");
    let entry = |behavior: &str, close: &str, report: &str| {
        format!(
            "{{\n         \"behavior\": \"{behavior}\",\n         \"behaviorClose\": \"{close}\",\n         \"duration\": 7,\n         \"remoteCloseCode\": 1000,\n         \"reportfile\": \"tungstenite_case_{report}.json\"\n      }}"
        )
    };
    let mut cases: Vec<String> = (1..=8)
        .map(|n| {
            format!(
                "      \"1.1.{n}\": {}",
                entry("OK", "OK", &format!("1_1_{n}"))
            )
        })
        .collect();
    cases.push(format!(
        "      \"12.1.1\": {}",
        entry("UNIMPLEMENTED", "OK", "12_1_1")
    ));
    let write = |cases: &[String]| {
        std::fs::write(
            &index,
            format!(
                "{{\n   \"Tungstenite\": {{\n{}\n   }}\n}}\n",
                cases.join(",\n")
            ),
        )
        .unwrap();
    };
    write(&cases);
    let (_runtime, url) = server(Defect::None);
    let out = dir.join("reports");
    let run = || {
        wsspec(
            &[
                "server",
                &url,
                "--agent",
                "Tungstenite",
                "--cases",
                "1.1.*",
                "--out",
                path_str(&out),
                "--baseline",
                path_str(&index),
            ],
            &[],
        )
    };
    let same = run();
    let stdout = text(&same.stdout);
    assert_eq!(same.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("no difference for Tungstenite, 8 cases compared"),
        "{stdout}"
    );
    assert!(stdout.contains("not run here (1): 12.1.1"), "{stdout}");

    // Autobahn's close verdict counts: OK with WRONG CODE was a failure, which now passes.
    cases[0] = format!("      \"1.1.1\": {}", entry("OK", "WRONG CODE", "1_1_1"));
    write(&cases);
    let changed = run();
    let stdout = text(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("  newly passing (1):\n    1.1.1  FAILED -> OK  "),
        "{stdout}"
    );
}

/// `(id, verdict, behavior, behaviorClose)` of every case of a results.json.
fn outcomes(results: &Path) -> Vec<(String, String, String, String)> {
    let results: Value = serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let field = |name: &str| case[name].as_str().unwrap().to_owned();
            (
                field("id"),
                field("verdict"),
                field("behavior"),
                field("behavior_close"),
            )
        })
        .collect()
}

#[test]
fn sharded_runs_merged_equal_an_unsharded_run() {
    let dir = common::out_dir("shards");
    let (_runtime, url) = server(Defect::AcceptsRsv);
    // Some of every kind: echoes, failures (3.x), pauses (5.19) and performance cases (9.x).
    let cases = "1.*,3.*,5.1*,9.1.1,9.1.2,9.7.1,9.7.2";
    let run = |out: &PathBuf, extra: &[&str]| {
        let mut args = vec!["server", url.as_str(), "--agent", "rsv", "--cases", cases];
        args.extend(["--out", path_str(out)]);
        args.extend(extra);
        let output = wsspec(&args, &[]);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        output
    };
    let whole = dir.join("whole");
    run(&whole, &[]);
    let shards: Vec<PathBuf> = (1..=3).map(|k| dir.join(format!("shard-{k}"))).collect();
    for (k, shard) in shards.iter().enumerate() {
        let output = run(shard, &["--shard", &format!("{}/3", k + 1)]);
        assert!(text(&output.stderr).contains(&format!("(shard {}/3)", k + 1)));
    }
    let parts: Vec<Vec<_>> = shards
        .iter()
        .map(|s| outcomes(&s.join("results.json")))
        .collect();
    assert!(
        parts
            .iter()
            .all(|part| part.iter().any(|c| c.0.starts_with("9."))),
        "performance cases spread"
    );

    let merged = dir.join("merged");
    let results: Vec<String> = shards
        .iter()
        .map(|s| s.join("results.json").to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["report", "--out", path_str(&merged)];
    args.extend(results.iter().map(String::as_str));
    let report = wsspec(&args, &[]);
    assert_eq!(report.status.code(), Some(1), "{}", text(&report.stderr));
    assert_eq!(
        outcomes(&merged.join("results.json")),
        outcomes(&whole.join("results.json"))
    );
    let merged_run: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(merged_run["complete"], true);
    assert!(merged_run["selection"].get("shard").is_none());
    // One agent's shards merged write what its whole run writes, Autobahn's per-case files too.
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["rsv"]["3.1"]["reportfile"], "rsv_case_3_1.json");
    assert!(merged.join("rsv_case_3_1.json").exists());

    // A shard missing: a warning naming it, an incomplete report, exit 1 even with nothing failing.
    let partial = dir.join("partial");
    let report = wsspec(
        &[
            "report",
            "--out",
            path_str(&partial),
            &results[0],
            &results[2],
        ],
        &[],
    );
    assert_eq!(report.status.code(), Some(1));
    assert!(
        text(&report.stderr).contains(
            "wsspec: warning: rsv (server) is missing shard 2/3: the merged report is incomplete"
        ),
        "{}",
        text(&report.stderr)
    );
    let partial_run: Value =
        serde_json::from_str(&std::fs::read_to_string(partial.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(partial_run["complete"], false);

    // A baseline compares each shard with its own cases only.
    let baseline = dir.join("baseline.json");
    let mut args = vec![
        "report",
        "--out",
        path_str(&merged),
        "--baseline",
        path_str(&baseline),
        "--update-baseline",
    ];
    args.extend(results.iter().map(String::as_str));
    assert_eq!(wsspec(&args, &[]).status.code(), Some(0));
    let shard_run = wsspec(
        &[
            "server",
            &url,
            "--agent",
            "rsv",
            "--cases",
            cases,
            "--shard",
            "2/3",
            "--out",
            path_str(&dir.join("again")),
            "--baseline",
            path_str(&baseline),
        ],
        &[],
    );
    assert_eq!(
        shard_run.status.code(),
        Some(0),
        "{}",
        text(&shard_run.stdout)
    );
}

#[test]
fn quick_skips_the_slow_sections_and_progress_is_plain_lines_in_ci() {
    let (_runtime, url) = server(Defect::AcceptsRsv);
    let out = common::out_dir("quick");
    let output = wsspec(
        &[
            "server",
            &url,
            "--quick",
            "--cases",
            "3.*,9.1.1,10.*",
            "--out",
            path_str(&out),
        ],
        &[("CI", "true")],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let ids: Vec<String> = common::verdicts(
        &serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap(),
    )
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    assert_eq!(
        ids,
        ["3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "10.1.1"]
    );
    // One line per failing case, and a count as the run goes.
    let failures = stderr.lines().filter(|l| l.contains(": FAILED 3.")).count();
    // 3.7 is NON-STRICT: the close with RSV bits is answered as a valid one, and closed.
    assert_eq!(failures, 6, "{stderr}");
    assert!(stderr.contains(": 8/8 cases done, 6 failed\n"), "{stderr}");
    // On GitHub, each failure is also an annotation.
    let annotated = wsspec(
        &["server", &url, "--cases", "3.*", "--out", path_str(&out)],
        &[("GITHUB_ACTIONS", "true")],
    );
    let stdout = text(&annotated.stdout);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 6, "{stdout}");
    assert!(
        errors[0].starts_with("::error title=wsspec 127.0.0.1%3A"),
        "{stdout}"
    );
    assert!(
        errors[0].contains(" 3.1%3A FAILED::Text frame with RSV = 1%0Aexpected: "),
        "{stdout}"
    );
    let bad = wsspec(&["server", &url, "--shard", "4/3"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`4/3` is not a shard"),
        "{}",
        text(&bad.stderr)
    );
}
