//! A fake GitHub Actions runner for the repository's composite action (`action.yml`): it runs the
//! action's steps in order, as a runner would, in a workspace folder of the test's.
//!
//! What is real: every `run:` step, through `bash --noprofile --norc -eo pipefail` (GitHub's bash),
//! with the step's `env:` and GitHub's variables (`GITHUB_ACTION_PATH` is the repository root,
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and `GITHUB_PATH` are files of one step each, then read
//! back); step outputs; `if:` conditions; later steps skipped after a failure unless they run
//! `always()`; the action's outputs. What is simulated: `actions/cache` (a hit puts the wsspec this
//! test was built with where the action keeps its binary, which is what the cache holds for this
//! ref; a miss makes the install step run, with a `cargo` that records its arguments and installs
//! the same binary) and `actions/upload-artifact` (its inputs are recorded). Expressions are the
//! few this action uses; any other fails the test, so the action cannot drift out of what is tested.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde::Deserialize;

/// `action.yml`, as far as a runner reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub name: String,
    pub description: String,
    // Read by GitHub's marketplace only.
    #[allow(dead_code)]
    pub author: Option<String>,
    #[allow(dead_code)]
    pub branding: Option<BTreeMap<String, String>>,
    pub inputs: BTreeMap<String, Input>,
    pub outputs: BTreeMap<String, Output>,
    pub runs: Runs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub description: String,
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    pub description: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runs {
    pub using: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: Option<String>,
    #[serde(rename = "if")]
    pub condition: Option<String>,
    pub shell: Option<String>,
    pub run: Option<String>,
    pub uses: Option<String>,
    #[serde(default)]
    pub with: BTreeMap<String, String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Reads the repository's `action.yml`.
pub fn action() -> Action {
    let path = crate::common::root().join("action.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Whether the cache holds this ref's wsspec already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    Hit,
    Miss,
}

/// What a run of the action left.
#[derive(Debug)]
pub struct ActionRun {
    /// The exit code of the step that failed, or 0.
    pub exit_code: i32,
    /// Every step's job summary, in order.
    pub summary: String,
    /// The action's outputs.
    pub outputs: BTreeMap<String, String>,
    /// What the steps printed on stdout (annotations among it), and on stderr.
    pub stdout: String,
    pub stderr: String,
    /// The uploaded artifact: its name and the path given.
    pub artifact: Option<(String, PathBuf)>,
    /// The arguments `cargo` was run with, when the install step ran.
    pub cargo: Option<Vec<String>>,
}

/// Runs the action with these inputs in `workspace` (the job's checkout; created if missing).
pub fn run_action(workspace: &Path, inputs: &[(&str, &str)], cache: Cache) -> ActionRun {
    let action = action();
    assert_eq!(action.runs.using, "composite");
    let root = crate::common::root();
    let job = workspace.with_extension("runner");
    let _ = std::fs::remove_dir_all(&job);
    for dir in [
        workspace,
        &job.join("temp"),
        &job.join("tool-cache"),
        &job.join("bin"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in inputs {
        assert!(
            action.inputs.contains_key(*name),
            "action.yml has no input `{name}`"
        );
        given.insert((*name).to_owned(), (*value).to_owned());
    }
    for (name, input) in &action.inputs {
        if !given.contains_key(name) {
            assert!(!input.required, "input `{name}` is required");
            given.insert(name.clone(), input.default.clone().unwrap_or_default());
        }
    }
    let cargo_log = job.join("cargo-args");
    fake_cargo(&job.join("bin"), &cargo_log);

    let mut context = Context {
        inputs: given,
        action_path: root.clone(),
        temp: job.join("temp"),
        steps: BTreeMap::new(),
    };
    let mut run = ActionRun {
        exit_code: 0,
        summary: String::new(),
        outputs: BTreeMap::new(),
        stdout: String::new(),
        stderr: String::new(),
        artifact: None,
        cargo: None,
    };
    // PATH: what steps added through $GITHUB_PATH (latest first), then the runner's own.
    let mut path = format!(
        "{}:{}",
        job.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (index, step) in action.runs.steps.iter().enumerate() {
        let condition = step.condition.as_deref().unwrap_or("success()");
        let failed = run.exit_code != 0;
        if !context.condition(condition, failed) {
            continue;
        }
        let mut outputs = BTreeMap::new();
        if let Some(uses) = &step.uses {
            let with: BTreeMap<String, String> = step
                .with
                .iter()
                .map(|(k, v)| (k.clone(), context.expand(v)))
                .collect();
            match uses.as_str() {
                "actions/cache@v4" => {
                    assert!(!with["key"].is_empty() && !with["path"].is_empty());
                    let hit = cache == Cache::Hit;
                    if hit {
                        install(&PathBuf::from(&with["path"]));
                    }
                    outputs.insert("cache-hit".to_owned(), hit.to_string());
                }
                "actions/upload-artifact@v4" => {
                    run.artifact = Some((with["name"].clone(), workspace.join(&with["path"])));
                }
                other => panic!("the fake runner does not know the action {other}"),
            }
        } else {
            assert_eq!(step.shell.as_deref(), Some("bash"), "step {index}");
            let script = job.join(format!("step-{index}.sh"));
            std::fs::write(&script, context.expand(step.run.as_ref().unwrap())).unwrap();
            let files = ["output", "summary", "path"].map(|name| {
                let file = job.join(format!("step-{index}.{name}"));
                std::fs::write(&file, "").unwrap();
                file
            });
            let mut command = Command::new("bash");
            command
                .args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script)
                .current_dir(workspace)
                .env("PATH", &path)
                .env("GITHUB_ACTIONS", "true")
                .env("CI", "true")
                .env("NO_COLOR", "1")
                .env("GITHUB_ACTION_PATH", &root)
                .env("GITHUB_WORKSPACE", workspace)
                .env("GITHUB_OUTPUT", &files[0])
                .env("GITHUB_STEP_SUMMARY", &files[1])
                .env("GITHUB_PATH", &files[2])
                .env("RUNNER_TEMP", job.join("temp"))
                .env("RUNNER_TOOL_CACHE", job.join("tool-cache"))
                .env("RUNNER_OS", "Linux")
                .env("RUNNER_ARCH", "X64")
                .env("FAKE_CARGO_LOG", &cargo_log);
            for (name, value) in &step.env {
                command.env(name, context.expand(value));
            }
            let output = command.output().unwrap();
            run.stdout
                .push_str(&String::from_utf8_lossy(&output.stdout));
            run.stderr
                .push_str(&String::from_utf8_lossy(&output.stderr));
            run.summary
                .push_str(&std::fs::read_to_string(&files[1]).unwrap());
            outputs = read_outputs(&std::fs::read_to_string(&files[0]).unwrap());
            for dir in std::fs::read_to_string(&files[2]).unwrap().lines() {
                path = format!("{dir}:{path}");
            }
            if !output.status.success() && run.exit_code == 0 {
                run.exit_code = output.status.code().unwrap_or(-1);
            }
        }
        if let Some(id) = &step.id {
            context.steps.insert(id.clone(), outputs);
        }
    }
    for (name, output) in &action.outputs {
        run.outputs
            .insert(name.clone(), context.expand(&output.value));
    }
    run.cargo = std::fs::read_to_string(&cargo_log)
        .ok()
        .map(|text| text.lines().map(str::to_owned).collect());
    run
}

/// Puts the wsspec of this test build at `dir/bin/wsspec`: what the cache or `cargo install --root
/// dir` leaves there for this ref.
fn install(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_wsspec"), dir.join("bin/wsspec")).unwrap();
}

/// A `cargo` in `bin` that writes its arguments, one a line, to `log`, and for `install --root DIR`
/// installs this test's wsspec into DIR.
fn fake_cargo(bin: &Path, log: &Path) {
    let script = format!(
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '{log}'\nwhile [[ $# -gt 0 ]]; do\n  if [[ $1 == --root ]]; then mkdir -p \"$2/bin\" && cp '{wsspec}' \"$2/bin/wsspec\"; fi\n  shift\ndone\n",
        log = log.display(),
        wsspec = env!("CARGO_BIN_EXE_wsspec"),
    );
    let path = bin.join("cargo");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `name=value` lines, and `name<<DELIMITER` blocks, of a `$GITHUB_OUTPUT` file.
fn read_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

/// What expressions can read.
struct Context {
    inputs: BTreeMap<String, String>,
    action_path: PathBuf,
    temp: PathBuf,
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

impl Context {
    /// A value: `inputs.NAME`, `steps.ID.outputs.NAME`, `github.action_path`, `runner.temp`, or a
    /// quoted literal.
    fn value(&self, expression: &str) -> String {
        let expression = expression.trim();
        if let Some(literal) = expression
            .strip_prefix('\'')
            .and_then(|rest| rest.strip_suffix('\''))
        {
            return literal.to_owned();
        }
        let parts: Vec<&str> = expression.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => self
                .inputs
                .get(*name)
                .unwrap_or_else(|| panic!("no input {name}"))
                .clone(),
            ["steps", id, "outputs", name] => self
                .steps
                .get(*id)
                .and_then(|outputs| outputs.get(*name))
                .cloned()
                .unwrap_or_default(),
            ["github", "action_path"] => self.action_path.display().to_string(),
            ["runner", "temp"] => self.temp.display().to_string(),
            _ => panic!("the fake runner does not know the expression `{expression}`"),
        }
    }

    /// A string with its `${{ … }}` expressions replaced.
    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap() + start;
            out.push_str(&self.value(&rest[start + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// An `if:` condition: terms joined by `&&`, each `always()`, `success()`, or `A != B` / `A == B`.
    /// Without `always()`, a step runs only while no step failed.
    fn condition(&self, condition: &str, failed: bool) -> bool {
        let mut status_checked = false;
        let mut result = true;
        for term in condition.split("&&").map(str::trim) {
            result &= match term {
                "always()" => {
                    status_checked = true;
                    true
                }
                "success()" => {
                    status_checked = true;
                    !failed
                }
                _ => {
                    if let Some((a, b)) = term.split_once("!=") {
                        self.value(a) != self.value(b)
                    } else if let Some((a, b)) = term.split_once("==") {
                        self.value(a) == self.value(b)
                    } else {
                        panic!("the fake runner does not know the condition `{term}`")
                    }
                }
            };
        }
        result && (status_checked || !failed)
    }
}
