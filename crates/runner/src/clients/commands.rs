//! `--exec` drivers: wsspec runs the client command once per case, and records a case the command
//! never connected for.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::Shared;
use crate::drive;

/// Runs the command once per case, in the order of [`crate::schedule`], and records a failure for every case
/// the command never connected for.
pub(super) async fn run_commands(shared: &Arc<Shared>, command: &str) {
    let agent = shared.config.agent.clone();
    let items = (0..shared.cases.len())
        .filter(|index| !shared.excluded(&agent, *index))
        .map(|index| (index, &shared.cases[index]))
        .collect();
    crate::schedule::run_in_order(items, shared.config.jobs, |index| {
        run_command(shared, command, &agent, index)
    })
    .await;
}

/// Runs the command for one case and waits for the case's result.
async fn run_command(shared: &Arc<Shared>, command: &str, agent: &str, index: usize) {
    let url = shared.case_url(index, agent);
    let case = &shared.cases[index];
    let deadline = case
        .timeout_ms
        .map_or(shared.config.settings.case_timeout, Duration::from_millis);
    let exit = {
        let command_run = run_client_command(command, &url, deadline);
        tokio::pin!(command_run);
        tokio::select! {
            exit = &mut command_run => exit,
            // Judged: a client still running then (one that never closes, say) is not waited for,
            // and dropping the command kills it.
            () = judged(shared, agent, index) => return,
        }
    };
    // The command may exit before its connection has been judged, or (briefly) before the connection
    // has even been accepted: wait for the result, a little while for a case not yet running.
    let now = Instant::now();
    let (grace, until) = (now + Duration::from_millis(500), now + deadline);
    loop {
        let (done, running) = shared.with_agent(agent, |a| {
            (a.results.contains_key(&index), a.running.contains(&index))
        });
        if done {
            return;
        }
        let now = Instant::now();
        if now >= until || (!running && now >= grace) {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), shared.activity.notified()).await;
    }
    let reason = format!("the client never connected for this case: {exit}");
    let result = drive::missing_client_case(case, shared.run_start, reason);
    shared.observer.finished(&result);
    shared.with_agent(agent, |a| {
        a.results.entry(index).or_insert(result);
    });
}

/// Completes once case `index` of `agent` has its result.
async fn judged(shared: &Shared, agent: &str, index: usize) {
    loop {
        // Created before the look, so that a result that comes in between still wakes it.
        let notified = shared.activity.notified();
        if shared.with_agent(agent, |a| a.results.contains_key(&index)) {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
    }
}

/// Runs a client command once, `{url}` in `command` replaced by `url` (in single quotes), through
/// `sh -c`, and returns how it ended, in words: it exited, could not start, or was killed at
/// `deadline`. Dropping the future kills the command.
pub async fn run_client_command(command: &str, url: &str, deadline: Duration) -> String {
    // The URL holds `&`, so it goes in single quotes (it holds none: the query is percent-encoded).
    let line = command.replace("{url}", &format!("'{url}'"));
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&line)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    match child {
        Err(err) => format!("cannot start `{line}`: {err}"),
        Ok(mut child) => match tokio::time::timeout(deadline, child.wait()).await {
            Ok(Ok(status)) => format!("`{line}` exited ({status})"),
            Ok(Err(err)) => format!("waiting for `{line}` failed: {err}"),
            Err(_) => {
                let _ = child.kill().await;
                format!(
                    "`{line}` was still running after {} ms and was killed",
                    deadline.as_millis()
                )
            }
        },
    }
}
