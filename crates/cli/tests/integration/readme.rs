//! The documented CI recipes are true: this test runs every `wsspec` command and every step of the
//! wsspec GitHub Action in the "Continuous integration" section of `docs/ci.md` (and the README's "In
//! CI" step) as written, in order, in a fresh folder, with `127.0.0.1:9001` pointing at the built-in
//! reference server (or at a free port for `wsspec client` and its driver). The action's steps run
//! through the fake GitHub runner of `support/fake_github.rs`, each expected to pass. The driver of
//! the client recipes (`autobahn-client URL AGENT`) is `wsspec drive URL --agent AGENT`; `wait $!` waits for the `wsspec client` started in the background and expects exit
//! 0. GitHub's `${{ matrix.shard }}` runs once per value of the job's matrix, and
//! `actions/download-artifact` brings each uploaded artifact into a folder of its name. The commands
//! of the migration table in `docs/migrating.md` run too, with the spec files they name written here
//! in tungstenite-rs's shape.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;
use crate::driver;
use crate::fake_github::{Cache, run_action};

use serde_yaml_ng::Value;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

/// The text of the section of a docs page with this heading, up to the next heading of the same
/// level.
fn section(page: &str, heading: &str) -> String {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start = page
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("the page has no `{heading}`"));
    let rest = &page[start + heading.len() + 2..];
    let next = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|i| {
            let line = &rest[*i..];
            line.starts_with(&"#".repeat(level)) && !line.starts_with(&"#".repeat(level + 1))
        })
        .unwrap_or(rest.len());
    rest[..next].to_owned()
}

/// The fenced code blocks of a text.
fn code_blocks(text: &str) -> Vec<String> {
    text.split("```")
        .skip(1)
        .step_by(2)
        .map(|block| {
            block
                .split_once('\n')
                .map_or("", |(_, body)| body)
                .to_owned()
        })
        .collect()
}

/// The commands of a block: each line with YAML's `- run: ` or `run: ` taken off.
fn commands(block: &str) -> Vec<String> {
    block
        .lines()
        .map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("- ").unwrap_or(line);
            line.strip_prefix("run: ").unwrap_or(line).trim().to_owned()
        })
        .filter(|line| !line.is_empty() && line != "|")
        .collect()
}

/// The folder of the wsspec binary, for PATH.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_wsspec"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A shell command in `dir`, with wsspec on the PATH.
fn shell(dir: &Path, line: &str) -> Command {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS");
    command
}

fn run(dir: &Path, line: &str) -> Output {
    let output = shell(dir, line).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "`{line}`:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs the commands of the documented blocks, as described at the top of this file.
struct Session {
    dir: PathBuf,
    server: String,
    runtime: tokio::runtime::Runtime,
    client_port: u16,
    background: Option<Child>,
    /// The artifacts the action uploaded: name and folder.
    artifacts: Vec<(String, PathBuf)>,
    ran: usize,
}

impl Session {
    fn new(name: &str) -> Session {
        let dir = common::out_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = common::reference_server(&runtime);
        Session {
            dir,
            server,
            runtime,
            client_port: 0,
            background: None,
            artifacts: Vec::new(),
            ran: 0,
        }
    }

    /// A fenced block: a workflow (YAML with `steps:` or `uses:`), or shell commands.
    fn block(&mut self, block: &str) {
        if block.contains("uses:") {
            self.workflow(block);
        } else {
            for line in commands(block) {
                self.command(&line);
            }
        }
    }

    /// A workflow, a part of one (`jobs:`) or a list of steps: each job's steps in order, once per
    /// value of its `shard` matrix.
    fn workflow(&mut self, block: &str) {
        let yaml: Value =
            serde_yaml_ng::from_str(block).unwrap_or_else(|err| panic!("not YAML: {err}\n{block}"));
        let jobs: Vec<&Value> = match &yaml {
            Value::Sequence(_) => vec![&yaml],
            _ => yaml["jobs"]
                .as_mapping()
                .unwrap_or_else(|| panic!("no jobs: {block}"))
                .values()
                .map(|job| &job["steps"])
                .collect(),
        };
        let matrices: Vec<Vec<Option<String>>> = match &yaml {
            Value::Sequence(_) => vec![vec![None]],
            _ => yaml["jobs"]
                .as_mapping()
                .unwrap()
                .values()
                .map(
                    |job| match job["strategy"]["matrix"]["shard"].as_sequence() {
                        Some(values) => values.iter().map(|v| Some(scalar(v))).collect(),
                        None => vec![None],
                    },
                )
                .collect(),
        };
        for (steps, matrix) in jobs.into_iter().zip(matrices) {
            for shard in &matrix {
                for step in steps
                    .as_sequence()
                    .unwrap_or_else(|| panic!("no steps: {block}"))
                {
                    self.step(step, shard.as_deref());
                }
            }
        }
    }

    /// One step: `run:` lines as [`Session::command`] runs them, this repository's action through
    /// the fake GitHub runner, and the artifact actions.
    fn step(&mut self, step: &Value, shard: Option<&str>) {
        let expand = |text: &str| match shard {
            Some(value) => text.replace("${{ matrix.shard }}", value),
            None => {
                assert!(!text.contains("${{ matrix"), "{text}: no matrix");
                text.to_owned()
            }
        };
        if let Some(run) = step["run"].as_str() {
            for line in run.lines() {
                self.command(&expand(line.trim()));
            }
            return;
        }
        match step["uses"]
            .as_str()
            .unwrap_or_else(|| panic!("a step: {step:?}"))
        {
            "actions/checkout@v4" | "actions/upload-artifact@v4" => {}
            "actions/download-artifact@v4" => {
                // Each artifact into a folder of its name; the jobs here share one folder, so an
                // artifact whose folder has another name is copied there.
                for (name, path) in &self.artifacts {
                    let into = self.dir.join(name);
                    if *path != into {
                        copy_dir(path, &into);
                    }
                }
            }
            "wsspec/wsspec@main" => {
                let mut inputs: Vec<(String, String)> = step["with"]
                    .as_mapping()
                    .map(|with| {
                        with.iter()
                            .map(|(name, value)| (scalar(name), expand(&scalar(value))))
                            .collect()
                    })
                    .unwrap_or_default();
                for (name, value) in &mut inputs {
                    match name.as_str() {
                        "url" => *value = value.replace("127.0.0.1:9001", &self.server),
                        // The driver of the recipe is a stand-in for the user's: wsspec's own.
                        "driver-command" if value.contains("autobahn-client ") => {
                            let agent = value.split_whitespace().last().unwrap();
                            *value = format!("wsspec drive {{url}} --agent {agent}");
                        }
                        _ => {}
                    }
                }
                let client = inputs.iter().any(|(n, v)| n == "mode" && v == "client");
                if client && !inputs.iter().any(|(n, _)| n == "listen") {
                    let listen = format!("127.0.0.1:{}", common::free_port());
                    inputs.push(("listen".to_owned(), listen));
                }
                let inputs: Vec<(&str, &str)> = inputs
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let run = run_action(&self.dir, &inputs, Cache::Hit);
                assert_eq!(
                    run.exit_code, 0,
                    "the action with {inputs:?}:\n{}\n{}",
                    run.stdout, run.stderr
                );
                assert!(run.summary.contains("**Grade "), "{}", run.summary);
                self.artifacts.extend(run.artifact);
                self.ran += 1;
            }
            other => panic!("the recipe uses {other}, which this test does not run"),
        }
    }

    fn command(&mut self, line: &str) {
        if line.starts_with("wsspec client ") {
            let line = line
                .strip_suffix('&')
                .expect("wsspec client runs in the background");
            self.client_port = common::free_port();
            let line = line.replace("127.0.0.1:9001", &format!("127.0.0.1:{}", self.client_port));
            let child = shell(&self.dir, &line)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            self.background = Some(child);
            driver::wait_for_listener(self.client_port);
        } else if line.contains("autobahn-client ") {
            // The same stand-in for the user's driver as in the action's steps.
            let agent = line.split_whitespace().last().unwrap();
            let base = format!("ws://127.0.0.1:{}", self.client_port);
            run(&self.dir, &format!("wsspec drive {base} --agent {agent}"));
        } else if line == "wait $!" {
            let status = self.background.take().unwrap().wait().unwrap();
            assert_eq!(status.code(), Some(0), "wsspec client");
            self.ran += 1;
        } else if line.starts_with("wsspec ") {
            run(&self.dir, &line.replace("127.0.0.1:9001", &self.server));
            self.ran += 1;
        }
    }
}

/// A YAML scalar as the text GitHub would pass on (`true` as `true`, `3` as `3`).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// Copies a folder's files (recursively) into another.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A page of `docs/`.
fn docs_page(name: &str) -> String {
    let path = common::root().join("docs").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_documented_ci_recipes_run_as_written() {
    let ci = section(&docs_page("ci.md"), "## Continuous integration");
    let mut session = Session::new("docs-ci");
    let blocks = code_blocks(&ci);
    for block in &blocks {
        session.block(block);
    }
    // Create and commit the server baseline, the server job, three shards and their report, create
    // the client baseline, the client job.
    assert_eq!(session.ran, 8, "{blocks:#?}");
    assert!(session.dir.join("wsspec-reports/junit.xml").exists());
    assert!(session.dir.join("wsspec-reports/index.html").exists());
    let shard = common::read_json(&session.dir.join("shard-1/results.json"));
    assert_eq!(shard["selection"]["shard"]["index"], 1);
    assert_eq!(shard["selection"]["shard"]["count"], 3);
}

#[test]
fn the_readme_ci_step_runs_as_written() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let ci = section(&readme, "## In CI");
    let mut session = Session::new("readme-ci");
    for block in code_blocks(&ci) {
        session.block(&block);
    }
    assert_eq!(session.ran, 1);
}

#[test]
fn the_documented_migration_commands_run() {
    let table = section(
        &docs_page("migrating.md"),
        "## Migrating from Autobahn|Testsuite",
    );
    // The command table: from its header to the blank line after it.
    let commands_table = table
        .split("| Autobahn | wsspec |")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap();
    let wsspec_commands: Vec<&str> = commands_table
        .lines()
        .filter(|line| line.starts_with('|'))
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .filter(|code| code.starts_with("wsspec "))
        .collect();
    assert_eq!(wsspec_commands.len(), 4, "{wsspec_commands:?}");
    let session = Session::new("docs-migration");
    let dir = &session.dir;
    let client_port = common::free_port();
    // The spec files the table names, in tungstenite-rs's shape.
    std::fs::write(
        dir.join("fuzzingclient.json"),
        format!(
            "{{\n\t\"outdir\": \"./autobahn/server\",\n\t\"servers\": [{{\"agent\": \"Tungstenite\", \"url\": \"ws://{}\"}}],\n\t\"cases\": [\"1.*\", \"2.*\"],\n\t\"exclude-cases\": [],\n\t\"exclude-agent-cases\": {{}}\n}}\n",
            session.server
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("fuzzingserver.json"),
        format!(
            "{{\n\t\"url\": \"ws://127.0.0.1:{client_port}\",\n\t\"outdir\": \"./autobahn/client\",\n\t\"cases\": [\"1.*\"],\n\t\"exclude-cases\": [],\n\t\"exclude-agent-cases\": {{}}\n}}\n"
        ),
    )
    .unwrap();
    for command in wsspec_commands {
        match command.split_whitespace().nth(1) {
            Some("server") if command.contains("--baseline") => {
                // The expected results an Autobahn user keeps: an index.json of an earlier run.
                let file = command.split_whitespace().last().unwrap();
                std::fs::copy(dir.join("autobahn/server/index.json"), dir.join(file)).unwrap();
                let output = run(dir, command);
                assert!(String::from_utf8_lossy(&output.stdout).contains("no difference"));
            }
            Some("server") => {
                run(dir, command);
                assert!(dir.join("autobahn/server/index.json").exists());
            }
            Some("client") => {
                let mut child = shell(dir, command)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                driver::wait_for_listener(client_port);
                let base = format!("ws://127.0.0.1:{client_port}");
                session
                    .runtime
                    .block_on(driver::drive(&base, "Tungstenite"));
                assert_eq!(child.wait().unwrap().code(), Some(0), "{command}");
                assert!(dir.join("autobahn/client/index.json").exists());
            }
            Some("echo") => {
                let port = common::free_port();
                let line = command.replace("127.0.0.1:9001", &format!("127.0.0.1:{port}"));
                // exec: the child is wsspec itself, so that killing it stops the server.
                let mut child = shell(dir, &format!("exec {line}"))
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                driver::wait_for_listener(port);
                let url = format!("ws://127.0.0.1:{port}/");
                run(
                    dir,
                    &format!("wsspec server {url} --cases 1.1.1 --out echo-run"),
                );
                child.kill().unwrap();
                child.wait().unwrap();
            }
            other => panic!("no test for `{command}` ({other:?})"),
        }
    }
}
