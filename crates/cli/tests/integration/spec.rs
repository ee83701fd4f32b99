//! Autobahn spec files run unchanged: the fuzzingclient.json and fuzzingserver.json shapes that
//! tungstenite-rs, fastwebsockets and python-websockets keep in their repositories (only the ports
//! differ, and python-websockets' `host.docker.internal` is 127.0.0.1 here).

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;
use crate::driver;

use std::{
    path::Path,
    process::{Command, Output, Stdio},
};

use common::{read_json, stderr_of};
use serde_json::Value;

/// Runs `wsspec` in `dir` (spec files name their outdir relative to it).
fn wsspec_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

/// Reference servers (tokio-tungstenite: no compression, so sections 12 and 13 end at once as
/// UNIMPLEMENTED), on a runtime that lives as long as the returned handle.
fn servers(count: usize) -> (tokio::runtime::Runtime, Vec<String>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addresses = (0..count)
        .map(|_| common::reference_server(&runtime))
        .collect();
    (runtime, addresses)
}

fn spec_dir(name: &str, file: &str, text: &str) -> std::path::PathBuf {
    let dir = common::out_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
    dir
}

#[test]
fn tungstenite_fuzzingclient_runs_every_case() {
    let (_runtime, servers) = servers(1);
    let text = format!(
        "{{\n\t\"outdir\": \"./autobahn/server\",\n\t\"servers\": [\n\t\t{{\n\t\t\t\"agent\": \"Tungstenite\",\n\t\t\t\"url\": \"ws://{}\"\n\t\t}}\n\t],\n\t\"cases\": [\"*\"],\n\t\"exclude-cases\": [],\n\t\"exclude-agent-cases\": {{}}\n}}\n",
        servers[0]
    );
    let dir = spec_dir("spec-tungstenite", "fuzzingclient.json", &text);
    let output = wsspec_in(&dir, &["server", "--spec", "fuzzingclient.json"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let index = read_json(&dir.join("autobahn/server/index.json"));
    let cases = index["Tungstenite"].as_object().unwrap();
    let listed = common::wsspec(&["list", "--role", "server"]).stdout;
    // Every server case but those that need what only the user can declare (a limit, origins, a
    // missing path).
    let declared_only = 8;
    assert_eq!(
        cases.len(),
        String::from_utf8(listed).unwrap().lines().count() - declared_only
    );
    assert_eq!(cases["9.1.1"]["behavior"], "OK");
    assert_eq!(cases["1.1.1"]["reportfile"], "tungstenite_case_1_1_1.json");
    assert!(
        dir.join("autobahn/server/tungstenite_case_1_1_1.json")
            .exists()
    );
}

#[test]
fn fastwebsockets_fuzzingclient_selects_with_autobahn_wildcards() {
    let (_runtime, servers) = servers(1);
    let text = format!(
        "{{\n    \"outdir\": \"./reports/servers\",\n    \"servers\": [\n        {{\n            \"url\": \"ws://{}\"\n        }}\n    ],\n    \"cases\": [\"1.*\", \"2.*\", \"3.*\", \"4.*\", \"6.*\"],\n    \"exclude-cases\": [\"9.*\", \"10.*\", \"11.*\", \"12.*\", \"13.*\"],\n    \"exclude-agent-cases\": {{}}\n}}",
        servers[0]
    );
    let dir = spec_dir("spec-fastwebsockets", "fuzzingclient.json", &text);
    let output = wsspec_in(&dir, &["server", "--spec", "fuzzingclient.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let index = read_json(&dir.join("reports/servers/index.json"));
    // No agent: the server is named by its address.
    let cases = index[servers[0].as_str()].as_object().unwrap();
    assert_eq!(cases.len(), 16 + 11 + 7 + 10 + 145);
    assert!(cases.keys().all(|id| {
        ["1.", "2.", "3.", "4.", "6."]
            .iter()
            .any(|section| id.starts_with(section))
    }));
}

#[test]
fn python_websockets_fuzzingclient_tests_both_servers_into_one_report() {
    let (_runtime, servers) = servers(2);
    let text = format!(
        "\n{{\n   \"servers\": [{{\n      \"url\": \"ws://{}\"\n   }}, {{\n      \"url\": \"ws://{}\"\n   }}],\n   \"outdir\": \"/REPORTS/servers\",\n   \"cases\": [\"*\"],\n   \"exclude-cases\": [\"9.*\", \"12.*\", \"13.*\"]\n}}\n",
        servers[0], servers[1]
    );
    let dir = common::out_dir("spec-python-websockets");
    let text = text.replace("/REPORTS", &dir.join("reports").to_string_lossy());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fuzzingclient.json"), text).unwrap();
    let output = wsspec_in(&dir, &["server", "--spec", "fuzzingclient.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let out = dir.join("reports/servers");
    let index = read_json(&out.join("index.json"));
    let mut agents: Vec<&String> = index.as_object().unwrap().keys().collect();
    agents.sort();
    let mut expected = [&servers[0], &servers[1]];
    expected.sort();
    assert_eq!(agents, expected);
    let first = &index[servers[0].as_str()];
    assert!(first.get("9.1.1").is_none());
    // Each agent's files are in a folder of its own; the index points into it.
    let reportfile = first["1.1.1"]["reportfile"].as_str().unwrap();
    assert!(out.join(reportfile).exists(), "{reportfile}");
    // One page compares both.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(servers.iter().all(|agent| html.contains(agent.as_str())));
}

/// Starts `wsspec client` with these arguments in `dir`, drives it once per agent, and waits for it.
fn run_client(dir: &Path, args: &[&str], port: u16, agents: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .arg("client")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    driver::wait_for_listener(port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = format!("ws://127.0.0.1:{port}");
    for agent in agents {
        runtime.block_on(driver::drive(&base, agent));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn fastwebsockets_fuzzingserver_serves_its_driver() {
    let port = common::free_port();
    let text = format!(
        "{{\n\t\"url\": \"ws://127.0.0.1:{port}\",\n\t\"outdir\": \"./reports/client\",\n\t\"cases\": [\"1.*\"],\n\t\"exclude-cases\": [],\n\t\"exclude-agent-cases\": {{}}\n}}"
    );
    let dir = spec_dir("spec-fastwebsockets-client", "fuzzingserver.json", &text);
    let output = run_client(
        &dir,
        &["--spec", "fuzzingserver.json"],
        port,
        &["fastwebsockets"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let index = read_json(&dir.join("reports/client/index.json"));
    assert_eq!(index["fastwebsockets"].as_object().unwrap().len(), 16);
    assert_eq!(index["fastwebsockets"]["1.2.8"]["behavior"], "OK");
}

#[test]
fn tungstenite_and_python_websockets_fuzzingservers_run_every_client_case() {
    let port = common::free_port();
    // tungstenite-rs's shape, with python-websockets' `localhost`, and an agent rule of our own.
    let text = format!(
        "{{\n   \"url\": \"ws://localhost:{port}\",\n   \"outdir\": \"./autobahn/client\",\n   \"cases\": [\"*\"],\n   \"exclude-cases\": [\"9.*\"],\n   \"exclude-agent-cases\": {{\"Skip*\": [\"1.*\"]}}\n}}\n"
    );
    let dir = spec_dir("spec-tungstenite-client", "fuzzingserver.json", &text);
    let output = run_client(
        &dir,
        &[
            "--spec",
            "fuzzingserver.json",
            "--keep-serving",
            "--idle",
            "3",
        ],
        port,
        &["Tungstenite", "Skipper"],
    );
    // The run ends idle (--keep-serving), after both drivers.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr_of(&output)
    );
    let out = dir.join("autobahn/client");
    let index = read_json(&out.join("index.json"));
    let all = index["Tungstenite"].as_object().unwrap().len();
    let skipper = index["Skipper"].as_object().unwrap();
    assert_eq!(skipper.len(), all - 16, "1.* is excluded for Skipper only");
    assert!(skipper.get("1.1.1").is_none());
    let results = read_json(&out.join("skipper/results.json"));
    assert_eq!(
        results["not_run"],
        Value::Null,
        "excluded cases are not missing"
    );
    // 9.* for every agent, 1.* for Skipper.
    assert_eq!(results["selection"]["excluded"], 54 + 16);
}

#[test]
fn a_malformed_spec_exits_2_naming_file_line_and_key() {
    let dir = spec_dir(
        "spec-malformed",
        "fuzzingclient.json",
        "{\n  \"servers\": [\n    {\"agent\": \"x\",\n     \"url\": 9002}\n  ],\n  \"cases\": [\"*\"]\n}\n",
    );
    let output = wsspec_in(&dir, &["server", "--spec", "fuzzingclient.json"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "wsspec: error: fuzzingclient.json:4: servers[0].url: invalid type: integer `9002`, expected a string\n"
    );
    let dir = spec_dir(
        "spec-not-json",
        "fuzzingserver.json",
        "{\n  \"cases\": [\"1.*\"\n}\n",
    );
    let output = wsspec_in(&dir, &["client", "--spec", "fuzzingserver.json"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("wsspec: error: fuzzingserver.json:3: cases: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let output = wsspec_in(&dir, &["server", "--spec", "missing.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).starts_with("wsspec: error: missing.json:1: cannot read the spec file")
    );
}

#[test]
fn unknown_keys_and_unused_options_are_warned_about_one_line_each() {
    let (_runtime, servers) = servers(1);
    let text = format!(
        r#"{{"options": {{"failByDrop": false}}, "servers": [{{"agent": "a", "url": "ws://{}", "origin": "x", "options": {{"version": 18}}}}], "cases": ["2.1*"], "exclude-agent-cases": {{"a": ["2.1"]}}, "frobnicate": 1}}"#,
        servers[0]
    );
    let dir = spec_dir("spec-warnings", "spec.json", &text);
    let output = wsspec_in(&dir, &["server", "--spec", "spec.json", "--out", "r"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("wsspec: warning: "))
        .collect();
    assert_eq!(warnings.len(), 4, "{stderr}");
    for key in [
        "frobnicate",
        "options.failByDrop",
        "servers[0].origin",
        "servers[0].options.version",
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&format!("wsspec: warning: spec.json: {key} is ignored: "))),
            "{key}: {stderr}"
        );
    }
    // --out wins over outdir; Autobahn's wildcards select 2.1, 2.10 and 2.11, and the agent rule
    // takes 2.1 away from agent a.
    let index: Value = read_json(&dir.join("r/index.json"));
    let ids: Vec<&String> = index["a"].as_object().unwrap().keys().collect();
    assert_eq!(ids, ["2.10", "2.11"]);
    // A URL on the command line conflicts with the spec's servers.
    let output = wsspec_in(
        &dir,
        &["server", "ws://127.0.0.1:1/", "--spec", "spec.json"],
    );
    assert_eq!(output.status.code(), Some(2));
}
