//! `wsspec fuzz` end to end: against a broken server it finds the defect, saves a minimized case
//! file that `wsspec server --cases-dir` replays as a failure, and exits 1; against the built-in
//! reference server it finds nothing and exits 0.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::path::Path;

use common::{out_dir, run_server, wsspec};
use wsspec_mutants::Defect;

/// The case files in `dir`, sorted.
fn case_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_finding_is_saved_minimized_and_fails_when_replayed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = runtime
        .block_on(wsspec_mutants::spawn(Defect::EmptyPong))
        .unwrap();
    let url = format!("ws://{addr}/");
    let out = out_dir("fuzz-empty-pong");
    let out_str = out.to_string_lossy().into_owned();
    let args = [
        "fuzz",
        &url,
        "--seed",
        "7",
        "--time",
        "60",
        "--max-findings",
        "1",
        "--wait",
        "500",
        "--out",
        &out_str,
    ];
    let first = wsspec(&args);
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("--seed 7"), "{stderr}");
    assert!(stdout.contains("99.1 "), "{stdout}");
    assert!(stdout.contains("1 findings"), "{stdout}");
    assert_eq!(case_files(&out), ["finding-99.1.toml"]);
    let text = std::fs::read_to_string(out.join("finding-99.1.toml")).unwrap();
    assert!(text.contains("section = \"99\""), "{text}");
    assert!(text.contains("pong"), "{text}");
    assert!(text.contains("wsspec fuzz --seed 7"), "{text}");

    // A second run into the same folder numbers its finding after the first.
    let second = wsspec(&args);
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(case_files(&out), ["finding-99.1.toml", "finding-99.2.toml"]);

    // Both load as cases, and replayed against the server they fail.
    let listed = wsspec(&["list", "--cases-dir", &out_str]);
    assert_eq!(listed.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("99.1") && listed.contains("99.2"),
        "{listed}"
    );
    let (code, results, stderr) = run_server(
        "fuzz-replay",
        Some(&url),
        &["--cases-dir", &out_str, "--timeout", "10"],
    );
    assert_eq!(code, 1, "{stderr}");
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        assert_eq!(case["verdict"], "fail", "{case:#}");
        assert!(case["title"].as_str().unwrap().starts_with("Fuzz finding"));
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn the_reference_server_has_no_findings() {
    let out = out_dir("fuzz-reference");
    let out_str = out.to_string_lossy().into_owned();
    let output = wsspec(&["fuzz", "--seed", "1", "--runs", "3000", "--out", &out_str]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("3000 scenarios in ") && stdout.contains(" 0 findings, 0 non-strict"),
        "{stdout}"
    );
    assert!(case_files(&out).is_empty());
}

#[test]
fn an_output_folder_of_other_files_is_a_usage_error() {
    let out = out_dir("fuzz-bad-out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.toml"), "this is not a case file").unwrap();
    let output = wsspec(&["fuzz", "--runs", "1", "--out", &out.to_string_lossy()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("notes.toml"), "{stderr}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn ctrl_c_ends_the_run_with_130_and_the_totals() {
    let out = out_dir("fuzz-interrupted");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(["fuzz", "--time", "60", "--out", &out.to_string_lossy()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("stopped: interrupted"), "{stdout}");
    assert!(case_files(&out).is_empty());
}

/// What tokio-tungstenite 0.30's client gets wrong, as the client fuzzer finds it: it takes a 101
/// with an extension it never offered (the check is a TODO in its source; the scripted 14.5.9
/// fails too), and it refuses a `Connection` field that lists `Upgrade` among other tokens (it
/// compares the whole value, where RFC 6455 §4.1 asks for a token).
fn known_reference_client_defect(title: &str) -> bool {
    title.contains("which was not offered") && title.contains("extension")
        || title.contains("`Connection: ") && title.contains("keep-alive")
        || title.contains("`Connection: upgrade,close`")
}

#[test]
fn the_reference_client_has_only_its_known_findings() {
    let out = out_dir("fuzz-reference-client");
    let out_str = out.to_string_lossy().into_owned();
    let started = std::time::Instant::now();
    let output = wsspec(&[
        "fuzz",
        "--client",
        "--reference",
        "--seed",
        "3",
        "--runs",
        "400",
        "--out",
        &out_str,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{:.1} s: {stdout}", started.elapsed().as_secs_f64());
    assert!(
        stdout.contains("400 scenarios in ") && stdout.contains(" 0 non-strict"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("0 harness errors"), "{stdout}");
    let findings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("99.")).collect();
    for line in &findings {
        assert!(known_reference_client_defect(line), "a new finding: {line}");
    }
    let expected = if findings.is_empty() { 0 } else { 1 };
    assert_eq!(output.status.code(), Some(expected), "{stderr}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_client_finding_replays_with_wsspec_client() {
    let out = out_dir("fuzz-client-replay");
    let out_str = out.to_string_lossy().into_owned();
    let fuzzed = wsspec(&[
        "fuzz",
        "--client",
        "--reference",
        "--seed",
        "1",
        "--runs",
        "2000",
        "--max-findings",
        "1",
        "--out",
        &out_str,
    ]);
    let stdout = String::from_utf8_lossy(&fuzzed.stdout);
    assert_eq!(fuzzed.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("replay: wsspec client --cases-dir"),
        "{stdout}"
    );
    assert_eq!(case_files(&out), ["finding-99.1.toml"]);
    let text = std::fs::read_to_string(out.join("finding-99.1.toml")).unwrap();
    assert!(text.contains("roles = [\"client\"]"), "{text}");
    assert!(text.contains("wsspec fuzz --client --seed 1"), "{text}");

    let (code, results, stderr) = common::run_client(
        "fuzz-client-replayed",
        &["--reference", "--cases-dir", &out_str, "--timeout", "10"],
    );
    assert_eq!(code, 1, "{stderr}");
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{results:#}");
    assert_eq!(cases[0]["verdict"], "fail", "{:#}", cases[0]);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_client_command_that_never_connects_is_unreachable_not_a_finding() {
    let out = out_dir("fuzz-client-true");
    let out_str = out.to_string_lossy().into_owned();
    let started = std::time::Instant::now();
    let output = wsspec(&[
        "fuzz", "--client", "--exec", "true", "--runs", "5", "--out", &out_str,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the client never connected") && stderr.contains("`true` exited"),
        "{stderr}"
    );
    assert!(case_files(&out).is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    let usage = wsspec(&["fuzz", "--client", "--runs", "1", "--out", &out_str]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--exec"));
}
