//! `wsspec client`: wsspec as the server that a client connects to. Real clients we did not write
//! (Python `websockets`) run the cases through `--exec` and through an Autobahn-style runCase loop;
//! commands that never connect and drivers that never come end the run with reasons, never a hang.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

mod common;

use std::time::{Duration, Instant};

use common::{ids_with, peer_installed, run_client, verdicts};

const PYTHON_WEBSOCKETS: &str = "scripts/.peers/python/websockets";

#[test]
fn python_websockets_client_passes_through_exec() {
    if !peer_installed(PYTHON_WEBSOCKETS) {
        return;
    }
    let (code, results, stderr) = run_client(
        "exec-websockets",
        &[
            "--exec",
            "python3 scripts/peers/websockets_case.py {url}",
            "--cases",
            "1.1.*,2.*,5.1,14.5.*,16.*",
            "--agent",
            "websockets-client",
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{:?}", verdicts(&results));
    assert_eq!(results["target"]["role"], "client");
    assert_eq!(results["agent"], "websockets-client");
    assert_eq!(
        ids_with(&results, "pass").len(),
        38,
        "{:?}",
        verdicts(&results)
    );
    // The script reports what its application saw; section 16 checks it.
    let drop = results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "16.2")
        .unwrap();
    assert_eq!(drop["observation"]["code"], 1006);
    assert_eq!(drop["observation"]["clean"], false);
}

#[test]
fn a_command_that_never_connects_fails_its_cases_with_the_reason() {
    let started = Instant::now();
    let (code, results, stderr) = run_client(
        "exec-true",
        &["--exec", "true", "--cases", "1.1.1,2.1", "--timeout", "5"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(ids_with(&results, "fail"), ["1.1.1", "2.1"]);
    let actual = results["cases"][0]["actual"].as_str().unwrap();
    assert!(
        actual.contains("the client never connected for this case: `true` exited"),
        "{actual}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn no_driver_ends_the_run_at_the_idle_time() {
    let started = Instant::now();
    let (code, _, stderr) = run_client("idle", &["--idle", "1"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("none connected within the --idle time of 1 s"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
