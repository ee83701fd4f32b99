//! Running one scenario as a case, on a tokio task of its own.

use super::*;

/// The case options for running (and, with a title and note, for saving) a scenario.
pub(super) fn case_options(
    config: &FuzzConfig,
    title: String,
    note: Option<String>,
) -> CaseOptions {
    CaseOptions {
        title,
        note,
        ..CaseOptions::unnamed(config.wait_ms, config.case_timeout_ms)
    }
}

/// Runs one scenario as a case on a task of its own, with the scenario's own seed for masks and
/// keys.
pub(super) async fn run_scenario(
    testee: &Testee,
    config: &FuzzConfig,
    index: u64,
    scenario: &Scenario,
) -> CaseResult {
    ScenarioRun::start(testee, config, index, scenario.clone())
        .await
        .2
}

/// A scenario running as a case on a tokio task of its own (so that a peer flooding one case
/// cannot starve the others); dropping it aborts the case.
pub(super) struct ScenarioRun {
    index: u64,
    scenario: Option<Scenario>,
    handle: tokio::task::JoinHandle<CaseResult>,
}

impl ScenarioRun {
    pub(super) fn start(
        testee: &Testee,
        config: &FuzzConfig,
        index: u64,
        scenario: Scenario,
    ) -> Self {
        let case = scenario.to_case(&case_options(config, String::new(), None));
        let testee = testee.clone();
        let mut settings = config.settings.clone();
        settings.seed = scenario::scenario_seed(config.seed, index);
        let handle = tokio::spawn(async move { testee.run(&case, &settings).await });
        ScenarioRun {
            index,
            scenario: Some(scenario),
            handle,
        }
    }
}

impl Future for ScenarioRun {
    type Output = (u64, Scenario, CaseResult);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let joined = match Pin::new(&mut self.handle).poll(cx) {
            Poll::Ready(joined) => joined,
            Poll::Pending => return Poll::Pending,
        };
        let scenario = self
            .scenario
            .take()
            .unwrap_or_else(|| Scenario::empty(Role::Server));
        let result = joined.unwrap_or_else(|error| {
            let case = scenario.to_case(&CaseOptions::unnamed(0, 0));
            wsspec_runner::drive::harness_error(
                &case,
                format!("wsspec failed while running this scenario: {error}"),
                Duration::ZERO,
                Duration::ZERO,
            )
        });
        Poll::Ready((self.index, scenario, result))
    }
}

impl Drop for ScenarioRun {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
