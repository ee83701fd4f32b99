//! What happens to a failing scenario: the target is checked to be alive, the scenario re-run and
//! minimized, and the finding named.

use super::*;

/// Looks into a failing scenario: is the target still alive, does it fail again, and what is the
/// smallest scenario that fails the same way (within the budget of re-runs and time). `None`: it
/// minimized to a known finding.
pub(super) async fn investigate(
    testee: &Testee,
    config: &FuzzConfig,
    mut finding: Finding,
    findings: &[Finding],
) -> Option<Finding> {
    if alive(testee, config).await.is_err() {
        finding.status = FindingStatus::KilledTarget;
        return Some(finding);
    }
    let wanted = signature(&finding.result);
    finding.status = FindingStatus::NotReproduced;
    for _ in 0..2 {
        let again = run_scenario(testee, config, finding.index, &finding.scenario).await;
        if signature(&again) == wanted {
            finding.status = FindingStatus::Minimized;
            finding.result = again;
            break;
        }
    }
    if finding.status == FindingStatus::NotReproduced {
        return Some(finding);
    }
    let until = Instant::now() + config.minimize_time;
    let mut budget = config.minimize_runs;
    let parallel = config.jobs.clamp(1, 8);
    'shrink: while budget > 0 && Instant::now() < until {
        let candidates = minimize::candidates(&finding.scenario);
        for batch in candidates.chunks(parallel) {
            let batch = &batch[..batch.len().min(budget)];
            if batch.is_empty() || Instant::now() >= until {
                break 'shrink;
            }
            budget -= batch.len();
            let results: Vec<CaseResult> = futures_util::future::join_all(
                batch
                    .iter()
                    .map(|candidate| run_scenario(testee, config, finding.index, candidate)),
            )
            .await;
            if let Some((candidate, result)) = batch
                .iter()
                .zip(results)
                .find(|(_, result)| signature(result) == wanted)
            {
                finding.scenario = candidate.clone();
                finding.result = result;
                continue 'shrink;
            }
        }
        break;
    }
    let shape = finding.scenario.shape();
    if findings.iter().any(|known| known.scenario.shape() == shape) {
        return None;
    }
    Some(finding)
}

/// Whether the target can still be fuzzed (asked twice, a moment apart, before it is declared
/// dead): a server upgrades a standard handshake, a client connects. `Err`: the last reason why not.
pub(super) async fn alive(testee: &Testee, config: &FuzzConfig) -> Result<(), String> {
    let mut last = Ok(());
    for attempt in 0..2u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        last = testee.usable(config, config.seed ^ attempt).await;
        if last.is_ok() {
            break;
        }
    }
    last
}

/// Gives a finding its id, title and note, and rebuilds its case with them. `never_upgraded` is
/// why the target refused the standard handshake, for a finding made before any scenario ran.
pub(super) fn name_finding(
    finding: &mut Finding,
    testee: &Testee,
    config: &FuzzConfig,
    number: u32,
    never_upgraded: Option<&str>,
) {
    let description = finding.scenario.describe();
    let title = format!("Fuzz finding: {}", shorten(&description, 200));
    let mut note = format!(
        "Found by `{command} --seed {seed}` in scenario {index} (run it alone with `--seed {seed} --first {index} --runs 1`)",
        command = testee.command(),
        seed = config.seed,
        index = finding.index,
    );
    let target = testee.noun();
    match finding.status {
        FindingStatus::Minimized => {
            let steps = finding.scenario.step_count();
            if steps < finding.steps_before {
                note.push_str(&format!(
                    "; minimized from {} to {steps} steps",
                    finding.steps_before
                ));
            } else {
                note.push_str("; it failed the same way when re-run");
            }
        }
        FindingStatus::NotReproduced => note.push_str(
            "; it did not fail again when re-run twice, so it was not minimized: the failure may depend on timing",
        ),
        FindingStatus::KilledTarget => note.push_str(&format!(
            "; afterwards {target} {}, so it was not minimized (other scenarios were running at the same time: one of them may be the cause)",
            match testee {
                Testee::Server(_) => "no longer upgraded a standard handshake",
                Testee::Client(_) => "no longer connected",
            }
        )),
        FindingStatus::NeverUpgraded => note = format!(
            "Before any scenario ran, the target did not upgrade a connection opened with the standard handshake: {}",
            never_upgraded.unwrap_or("no reason given")
        ),
        FindingStatus::Interrupted => {
            note.push_str("; the run was interrupted before it was minimized")
        }
    }
    note.push_str(&format!(
        ". What {target} did: {}.",
        shorten(finding.result.actual.trim_end_matches('.'), 600)
    ));
    if !finding.result.notes.is_empty() {
        note.push_str(&format!(
            " Notes: {}.",
            shorten(&finding.result.notes.join("; "), 400)
        ));
    }
    let mut options = case_options(config, title, Some(note));
    options.id = scenario::case_id(FINDINGS_SECTION, number);
    finding.case = finding.scenario.to_case(&options);
    finding.case.section_title = FINDINGS_TITLE.into();
}

/// `text` cut to at most `max` bytes at a character boundary, with an ellipsis when cut.
pub(super) fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_a_character_boundary() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("κόσμε", 3), "κ…");
    }
}
