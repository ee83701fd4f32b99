//! Runs that do not end normally still end well: a target that dies mid-run fails the remaining cases
//! with "connection refused" and the reports are complete; Ctrl-C (SIGINT) or SIGTERM writes the results
//! so far, marked incomplete, and exits 130; the run's `--deadline` does the same and exits 4.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::{
    io::{BufRead, BufReader, Read},
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use common::{free_port, read_json};
use serde_json::Value;

/// How many slow cases a run has.
const SLOW_CASES: usize = 12;

/// Case files with [`SLOW_CASES`] cases that each wait 250 ms before an echo: with `--jobs 1` a run
/// takes about 3 s, time enough to stop it partway.
fn slow_cases(name: &str) -> PathBuf {
    let dir = common::out_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let params: Vec<String> = (1..=SLOW_CASES).map(|n| format!("{{ n = {n} }}")).collect();
    let text = format!(
        r#"
section = "90"
title = "Slow"

[[case]]
id = "90.{{n}}"
title = "An echo after a pause"
rfc = "RFC 6455 §5.6"
level = "must"
requirement = "r"
params = [{}]
steps = [
  {{ wait = 250 }},
  {{ send = {{ opcode = "text", payload = "slow" }} }},
  {{ expect = "echo" }},
]
"#,
        params.join(", ")
    );
    std::fs::write(dir.join("90-slow.toml"), text).unwrap();
    dir
}

/// Starts `wsspec` with piped output, and returns once a line of its stderr contains `ready`.
fn start(args: &[&str], ready: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains(ready) {
        line.clear();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "wsspec {args:?} ended before `{ready}`"
        );
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

/// Waits for `child` to exit, at most `limit`.
fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("wsspec did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_target_that_dies_mid_run_fails_the_rest_with_connection_refused() {
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut target = start(&["echo", "--listen", &listen], "listening");
    let cases = slow_cases("dying-cases");
    let out = common::out_dir("dying");
    let url = format!("ws://{listen}/");
    let mut run = start(
        &[
            "server",
            &url,
            "--cases-dir",
            cases.to_str().unwrap(),
            "--jobs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        "running",
    );
    std::thread::sleep(Duration::from_millis(1200));
    target.kill().unwrap();
    target.wait().unwrap();
    let status = wait(&mut run, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));

    let results = read_json(&out.join("results.json"));
    assert_eq!(results["complete"], true);
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(cases.len(), SLOW_CASES);
    let refused = |case: &Value| {
        case["actual"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cannot connect to {url}: Connection refused"))
    };
    // Some cases passed before the target died; once a case was refused, every later one was.
    assert_eq!(cases[0]["verdict"], "pass", "{}", cases[0]);
    let first_refused = cases.iter().position(refused).unwrap();
    assert!(
        SLOW_CASES - first_refused >= 4,
        "only {first_refused} cases were refused"
    );
    for case in &cases[first_refused..] {
        assert!(refused(case), "{case}");
        assert_eq!(case["verdict"], "fail", "{case}");
    }
    let index = read_json(&out.join("index.json"));
    assert_eq!(
        index
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_object()
            .unwrap()
            .len(),
        SLOW_CASES
    );
}

/// Starts a slow run against the built-in server, sends `signal` partway, and checks that the results
/// so far were written, marked incomplete, and that wsspec exited 130 promptly.
fn interrupted_by(signal: &str) {
    let cases = slow_cases(&format!("interrupt-cases-{signal}"));
    let out = common::out_dir(&format!("interrupt-{signal}"));
    let junit = out.join("junit.xml");
    let mut run = start(
        &[
            "server",
            "--cases-dir",
            cases.to_str().unwrap(),
            "--jobs",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        "running",
    );
    std::thread::sleep(Duration::from_millis(800));
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([format!("-{signal}"), run.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait(&mut run, Duration::from_secs(10));
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(130), "{signal}");
    let mut stdout = String::new();
    run.stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(stdout.contains("Incomplete (interrupted):"), "{stdout}");

    let results = read_json(&out.join("results.json"));
    assert_eq!(results["complete"], false);
    assert_eq!(results["stopped"], "interrupted");
    let finished = results["cases"].as_array().unwrap();
    let not_run = results["not_run"].as_array().unwrap();
    assert!(
        !finished.is_empty(),
        "some cases finished before the signal"
    );
    assert!(!not_run.is_empty(), "the signal came before the end");
    assert_eq!(finished.len() + not_run.len(), SLOW_CASES);
    assert!(finished.iter().all(|case| case["verdict"] == "pass"));
    let index = read_json(&out.join("index.json"));
    let entries = index.as_object().unwrap().values().next().unwrap();
    assert_eq!(entries.as_object().unwrap().len(), finished.len());
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
    // Written by rename: no temporary file is left behind.
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".tmp"), "{name:?}");
    }
}

#[test]
fn ctrl_c_writes_the_results_so_far_and_exits_130() {
    interrupted_by("INT");
}

#[test]
fn sigterm_writes_the_results_so_far_and_exits_130() {
    interrupted_by("TERM");
}

#[test]
fn the_run_deadline_writes_the_results_so_far_and_exits_4() {
    let cases = slow_cases("deadline-cases");
    let out = common::out_dir("deadline");
    let started = Instant::now();
    let run = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args([
            "server",
            "--cases-dir",
            cases.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        .args(["--deadline", "1", "--out", out.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(4), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        stdout.contains("Incomplete (the --deadline of 1s passed):"),
        "{stdout}"
    );
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["complete"], false);
    assert_eq!(results["stopped"], "the --deadline of 1s passed");
    let finished = results["cases"].as_array().unwrap().len();
    let not_run = results["not_run"].as_array().unwrap().len();
    assert!(
        finished > 0 && not_run > 0,
        "{finished} finished, {not_run} not run"
    );
    assert_eq!(finished + not_run, SLOW_CASES);
    assert!(out.join("index.html").exists());
}
