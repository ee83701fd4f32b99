//! The order cases run in, for servers and for clients alike.
//!
//! Conformance cases run `jobs` at a time. The paced ones ([`Case::paced`]: waits, pauses, trickles)
//! have `jobs` slots of their own beside those, longest pause first, so that their pauses overlap
//! everything else and a run takes about as long as its slowest case. Performance cases run one at a
//! time, so that their figures mean something, as soon as the busy conformance cases are done: the
//! paced ones still running exchange a few bytes a second and do not disturb a measurement. With
//! `jobs` 1, every case runs alone.

use std::{cmp::Reverse, future::Future};

use futures_util::{StreamExt, future, stream};
use wsspec_suite::Case;

/// Runs `run` for every item, each with its case, in the order and with the concurrency above.
pub async fn run_in_order<T, F, Fut>(items: Vec<(T, &Case)>, jobs: usize, run: F)
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = ()>,
{
    let (performance, conformance): (Vec<_>, Vec<_>) =
        items.into_iter().partition(|(_, case)| case.performance);
    if jobs <= 1 {
        for (item, _) in conformance.into_iter().chain(performance) {
            run(item).await;
        }
        return;
    }
    let (mut paced, busy): (Vec<_>, Vec<_>) =
        conformance.into_iter().partition(|(_, case)| case.paced());
    paced.sort_by_key(|(_, case)| Reverse(case.pause_ms()));
    let lane = |items: Vec<T>| {
        stream::iter(items)
            .map(&run)
            .buffer_unordered(jobs)
            .collect::<()>()
    };
    let items = |cases: Vec<(T, &Case)>| cases.into_iter().map(|(item, _)| item).collect();
    let paced_run = lane(items(paced));
    let busy_run = lane(items(busy));
    let busy_then_performance = async {
        busy_run.await;
        for (item, _) in performance {
            run(item).await;
        }
    };
    future::join(paced_run, busy_then_performance).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use wsspec_suite::Suite;

    #[tokio::test]
    async fn paced_cases_start_first_and_performance_cases_wait_for_the_busy_ones() {
        let suite = Suite::builtin().unwrap();
        let ids = ["1.1.1", "6.4.1", "9.1.1", "2.1", "9.1.2", "5.19"];
        let items: Vec<(&str, &Case)> = ids
            .iter()
            .map(|id| {
                (
                    *id,
                    suite
                        .cases
                        .iter()
                        .find(|case| case.id.as_str() == *id)
                        .unwrap(),
                )
            })
            .collect();
        let log = Mutex::new(Vec::new());
        run_in_order(items, 2, |id| {
            let log = &log;
            async move {
                log.lock().unwrap().push(format!("start {id}"));
                // Paced cases last long; the others are quick.
                let ms = if id.starts_with("6.4") || id == "5.19" {
                    100
                } else {
                    1
                };
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                log.lock().unwrap().push(format!("end {id}"));
            }
        })
        .await;
        let log = log.into_inner().unwrap();
        let at = |entry: &str| log.iter().position(|e| e == entry).unwrap();
        // The paced cases, longest pause first, start beside the busy ones.
        assert_eq!(
            &log[..4],
            ["start 6.4.1", "start 5.19", "start 1.1.1", "start 2.1"]
        );
        // Performance cases start after the last busy case, one at a time, while paced ones still run.
        assert!(at("start 9.1.1") > at("end 1.1.1").max(at("end 2.1")));
        assert!(at("start 9.1.2") > at("end 9.1.1"));
        assert!(at("end 9.1.2") < at("end 6.4.1"));
    }

    #[tokio::test]
    async fn one_job_runs_every_case_alone() {
        let suite = Suite::builtin().unwrap();
        let items: Vec<(usize, &Case)> = suite.cases.iter().take(20).enumerate().collect();
        let running = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        run_in_order(items, 1, |_| async {
            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            tokio::task::yield_now().await;
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        assert_eq!(most.into_inner(), 1);
    }
}
