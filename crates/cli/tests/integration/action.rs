//! The GitHub Action (`action.yml`) as a workflow runs it: the fake runner of
//! `support/fake_github.rs` runs its steps with these inputs, and the job summary, the exit code,
//! the outputs, the reports and the uploaded artifact must say what the run found. Each mode runs:
//! a server (the built-in reference, and a broken server of `wsspec-mutants`, with and without a
//! baseline), a client (the built-in client, and a driver command), and a merge of earlier runs.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common::{self, out_dir, read_json};
use crate::fake_github::{self, ActionRun, Cache, run_action};

use wsspec_mutants::Defect;

/// The URL of a broken server that fails 2.5 (it answers a ping with a 126-byte payload).
fn broken_server(runtime: &tokio::runtime::Runtime) -> String {
    let defect = Defect::AcceptsOversizedControl;
    let addr = runtime.block_on(wsspec_mutants::spawn(defect)).unwrap();
    wsspec_mutants::url(defect, addr)
}

fn assert_wrote_reports(run: &ActionRun, workspace: &std::path::Path, out: &str) {
    for file in ["index.html", "results.json", "index.json", "badge.svg"] {
        assert!(workspace.join(out).join(file).exists(), "{out}/{file}");
    }
    assert_eq!(run.outputs["results"], format!("{out}/results.json"));
    assert_eq!(run.outputs["report"], format!("{out}/index.html"));
}

#[test]
fn the_action_declares_what_its_steps_read() {
    let action = fake_github::action();
    assert!(!action.name.is_empty() && !action.description.is_empty());
    for (name, description) in action
        .inputs
        .iter()
        .map(|(name, input)| (name, &input.description))
        .chain(
            action
                .outputs
                .iter()
                .map(|(name, output)| (name, &output.description)),
        )
    {
        assert!(!description.is_empty(), "`{name}` says what it is");
    }
    let run_step = action
        .runs
        .steps
        .iter()
        .find(|step| step.id.as_deref() == Some("run"))
        .unwrap();
    let script = std::fs::read_to_string(common::root().join("scripts/action/run")).unwrap();
    let docs = std::fs::read_to_string(common::root().join("docs/ci.md")).unwrap();
    for name in action.inputs.keys() {
        let variable = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        if name == "artifact" {
            continue; // read by the upload step
        }
        assert_eq!(
            run_step.env.get(&variable).map(String::as_str),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "the run step passes the input `{name}` as {variable}"
        );
        assert!(
            script.contains(&variable),
            "scripts/action/run reads {variable}"
        );
    }
    for name in action.inputs.keys().chain(action.outputs.keys()) {
        assert!(
            docs.contains(&format!("`{name}`")),
            "docs/ci.md documents `{name}`"
        );
    }
    assert_eq!(
        std::fs::read_to_string(common::root().join("crates/cli/Cargo.toml"))
            .unwrap()
            .lines()
            .find(|line| line.starts_with("name = ")),
        Some("name = \"wsspec\""),
        "the install step's --path builds the wsspec binary"
    );
}

#[test]
fn a_first_run_installs_wsspec_from_the_actions_ref_and_a_later_one_takes_it_from_the_cache() {
    let workspace = out_dir("action-install");
    let inputs = [("cases", "1.1.1")];
    let first = run_action(&workspace, &inputs, Cache::Miss);
    assert_eq!(first.exit_code, 0, "{}\n{}", first.stdout, first.stderr);
    let cargo = first.cargo.expect("a cache miss runs cargo install");
    let root = common::root();
    let path = root.join("crates/cli").display().to_string();
    assert_eq!(&cargo[..2], ["install", "--locked"], "{cargo:?}");
    let after = |flag: &str| {
        cargo
            .iter()
            .position(|arg| arg == flag)
            .map(|at| cargo[at + 1].clone())
            .unwrap()
    };
    assert_eq!(after("--path"), path);
    assert!(after("--root").contains("/tool-cache/wsspec/"), "{cargo:?}");

    let again = run_action(&workspace, &inputs, Cache::Hit);
    assert_eq!(again.exit_code, 0);
    assert!(again.cargo.is_none(), "a cache hit builds nothing");
}

#[test]
fn a_passing_server_run_exits_0_with_its_summary_reports_and_artifact() {
    let workspace = out_dir("action-server");
    let run = run_action(
        &workspace,
        &[
            ("cases", "1.*,2.*"),
            ("agent", "echo"),
            ("artifact", "server-reports"),
        ],
        Cache::Hit,
    );
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["exit-code"], "0");
    assert!(
        run.summary
            .starts_with("## echo: WebSocket server conformance\n"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("**Grade A+**"), "{}", run.summary);
    assert!(
        run.summary.contains("| **all** | 27 | 27 |"),
        "{}",
        run.summary
    );
    assert_wrote_reports(&run, &workspace, "wsspec-reports");
    let junit = std::fs::read_to_string(workspace.join("wsspec-reports/junit.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    assert_eq!(
        run.artifact,
        Some((
            "server-reports".to_owned(),
            workspace.join("wsspec-reports")
        ))
    );
}

#[test]
fn a_failing_server_fails_the_step_and_the_summary_names_the_broken_requirement() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = broken_server(&runtime);
    let workspace = out_dir("action-broken");
    let run = run_action(
        &workspace,
        &[
            ("url", &url),
            ("cases", "2.*"),
            ("agent", "broken"),
            ("out", "conformance"),
        ],
        Cache::Hit,
    );
    assert_eq!(run.exit_code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["exit-code"], "1");
    assert!(run.summary.contains("### Failed ("), "{}", run.summary);
    let row = run
        .summary
        .lines()
        .find(|line| line.starts_with("| 2.5 | FAILED |"))
        .unwrap_or_else(|| panic!("{}", run.summary));
    assert!(row.contains("`6455-5.5-1`"), "{row}");
    assert!(
        run.stdout
            .contains("::error title=wsspec broken 2.5%3A FAILED::"),
        "{}",
        run.stdout
    );
    assert_wrote_reports(&run, &workspace, "conformance");
    // The reports are uploaded although the step failed.
    assert!(run.artifact.is_some());

    // With a baseline that expects the failure, the step passes and the summary says so.
    let baseline = workspace.join("baseline.json");
    std::fs::copy(workspace.join("conformance/results.json"), &baseline).unwrap();
    let expected = run_action(
        &workspace,
        &[
            ("url", &url),
            ("cases", "2.*"),
            ("agent", "broken"),
            ("baseline", "baseline.json"),
        ],
        Cache::Hit,
    );
    assert_eq!(expected.exit_code, 0, "{}", expected.stdout);
    assert!(
        expected
            .summary
            .contains("No difference from the baseline (11 cases compared)."),
        "{}",
        expected.summary
    );
    assert!(
        expected
            .summary
            .contains("<details><summary>Failed, as the baseline expects (1)</summary>"),
        "{}",
        expected.summary
    );
}

#[test]
fn a_client_run_tests_the_built_in_client_or_a_driver() {
    let workspace = out_dir("action-client");
    let port = common::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let reference = run_action(
        &workspace,
        &[("mode", "client"), ("cases", "1.1.*"), ("listen", &listen)],
        Cache::Hit,
    );
    assert_eq!(
        reference.exit_code, 0,
        "{}\n{}",
        reference.stdout, reference.stderr
    );
    assert!(
        reference.summary.contains("WebSocket client conformance"),
        "{}",
        reference.summary
    );

    // The driver (wsspec's own, Autobahn's loop) reaches wsspec at {url}.
    let driven = run_action(
        &workspace,
        &[
            ("mode", "client"),
            ("cases", "1.1.*"),
            ("listen", &listen),
            ("driver-command", "wsspec drive {url} --agent my-client"),
            ("out", "client-reports"),
        ],
        Cache::Hit,
    );
    assert_eq!(driven.exit_code, 0, "{}\n{}", driven.stdout, driven.stderr);
    assert!(
        driven
            .summary
            .starts_with("## my-client: WebSocket client conformance"),
        "{}",
        driven.summary
    );
    let results = read_json(&workspace.join("client-reports/results.json"));
    assert_eq!(results["cases"].as_array().unwrap().len(), 8);
}

#[test]
fn the_report_mode_merges_earlier_runs() {
    let workspace = out_dir("action-report");
    for (agent, out) in [("alpha", "runs/alpha"), ("beta", "runs/beta")] {
        let run = run_action(
            &workspace,
            &[("cases", "1.1.*"), ("agent", agent), ("out", out)],
            Cache::Hit,
        );
        assert_eq!(run.exit_code, 0);
    }
    let merged = run_action(
        &workspace,
        &[
            ("mode", "report"),
            ("results", "runs/*/results.json"),
            ("out", "merged"),
        ],
        Cache::Hit,
    );
    assert_eq!(merged.exit_code, 0, "{}\n{}", merged.stdout, merged.stderr);
    assert!(merged.summary.contains("## alpha: "), "{}", merged.summary);
    assert!(merged.summary.contains("## beta: "), "{}", merged.summary);
    assert!(workspace.join("merged/index.html").exists());
    assert_eq!(
        merged.outputs["results"], "",
        "two agents: a results.json.gz each"
    );
    assert!(workspace.join("merged/alpha/results.json.gz").exists());

    let nothing = run_action(
        &workspace,
        &[("mode", "report"), ("results", "nowhere/*.json")],
        Cache::Hit,
    );
    assert_eq!(nothing.exit_code, 2);
    assert!(
        nothing
            .stdout
            .contains("::error title=wsspec::no file matches 'nowhere/*.json'"),
        "{}",
        nothing.stdout
    );
}

#[test]
fn a_wrong_input_is_a_clear_error() {
    let workspace = out_dir("action-wrong");
    let run = run_action(&workspace, &[("mode", "browser")], Cache::Hit);
    assert_eq!(run.exit_code, 2);
    assert!(
        run.stdout.contains(
            "::error title=wsspec::the mode input is server, client or report, not 'browser'"
        ),
        "{}",
        run.stdout
    );
    let run = run_action(&workspace, &[("quick", "sometimes")], Cache::Hit);
    assert_eq!(run.exit_code, 2);
    assert!(
        run.stdout
            .contains("expected true or false, not 'sometimes'")
    );
}
