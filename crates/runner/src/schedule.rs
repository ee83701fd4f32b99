//! The order cases run in, for servers and for clients alike.
//!
//! At most `jobs` cases run at once. The paced ones ([`Case::paced`]: waits, pauses, trickles) may
//! hold at most half of those slots, longest pause first, and start at once beside the busy ones, so
//! that their pauses overlap everything else and a run takes about as long as its slowest case. The
//! busy cases take every other slot. The performance cases (section 9) start once the busy ones are
//! done, so that nothing busy runs beside them (the paced cases still running mostly sleep), and run
//! [`PERFORMANCE_LANE`] at a time: most of them are round trips, where one side waits while the
//! other works, so two keep both the target and the harness busy where one would leave a core idle.
//! (A busy case that runs to its deadline holds them back that long.) With `jobs` 1, every case runs
//! alone, and a performance case's throughput is its own.

use std::{cmp::Reverse, future::Future};

use futures_util::{StreamExt, future, stream};
use tokio::sync::Semaphore;
use wsspec_suite::Case;

/// How many performance cases run at once (when `jobs` allows: at most a quarter of the slots).
pub const PERFORMANCE_LANE: usize = 2;

/// Runs `run` for every item, each with its case, in the order and with the concurrency above.
pub async fn run_in_order<T, F, Fut>(items: Vec<(T, &Case)>, jobs: usize, run: F)
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = ()>,
{
    let (performance, conformance): (Vec<_>, Vec<_>) =
        items.into_iter().partition(|(_, case)| case.performance);
    let (mut paced, busy): (Vec<_>, Vec<_>) =
        conformance.into_iter().partition(|(_, case)| case.paced());
    let jobs = jobs.max(1);
    if jobs == 1 {
        for (item, _) in busy.into_iter().chain(paced).chain(performance) {
            run(item).await;
        }
        return;
    }
    paced.sort_by_key(|(_, case)| Reverse(case.pause_ms()));
    let slots = Semaphore::new(jobs);
    let in_a_slot = |item: T| {
        let (slots, run) = (&slots, &run);
        async move {
            // The semaphore is never closed, so a permit always comes.
            let _slot = slots.acquire().await;
            run(item).await;
        }
    };
    let lane = |items: Vec<T>, width: usize| {
        stream::iter(items)
            .map(in_a_slot)
            .buffer_unordered(width)
            .collect::<()>()
    };
    let items = |cases: Vec<(T, &Case)>| cases.into_iter().map(|(item, _)| item).collect();
    let paced_run = lane(items(paced), jobs / 2);
    let busy_run = lane(items(busy), jobs);
    let busy_then_performance = async {
        busy_run.await;
        lane(items(performance), PERFORMANCE_LANE.min(jobs / 4).max(1)).await;
    };
    future::join(paced_run, busy_then_performance).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::Mutex, time::Duration};
    use wsspec_suite::Suite;

    /// Runs the cases of `ids` with `jobs` slots, each paced case taking 1 s and each other case
    /// 10 ms of (paused) time; returns the log of starts and ends, and the most cases at once.
    async fn schedule(ids: &[&str], jobs: usize) -> (Vec<String>, usize) {
        let suite = Suite::builtin().unwrap();
        let items: Vec<(&str, &Case)> = ids
            .iter()
            .map(|id| {
                let case = suite.cases.iter().find(|case| case.id.as_str() == *id);
                (*id, case.unwrap())
            })
            .collect();
        let log = Mutex::new((Vec::new(), 0, 0));
        run_in_order(items.clone(), jobs, |id| {
            let (log, items) = (&log, &items);
            async move {
                let case = items.iter().find(|(item, _)| *item == id).unwrap().1;
                {
                    let mut log = log.lock().unwrap();
                    log.0.push(format!("start {id}"));
                    log.1 += 1;
                    log.2 = log.2.max(log.1);
                }
                let ms = if case.paced() { 1000 } else { 10 };
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let mut log = log.lock().unwrap();
                log.0.push(format!("end {id}"));
                log.1 -= 1;
            }
        })
        .await;
        let (log, _, most) = log.into_inner().unwrap();
        (log, most)
    }

    #[tokio::test(start_paused = true)]
    async fn paced_cases_take_half_the_slots_longest_pause_first() {
        let ids = [
            "1.1.1", "2.6", "9.1.1", "5.19", "2.1", "6.4.1", "9.1.2", "3.1",
        ];
        let (log, most) = schedule(&ids, 4).await;
        let at = |entry: &str| log.iter().position(|e| e == entry).unwrap();
        assert!(most <= 4, "{most} at once");
        // Two paced slots, longest pause first (6.4.1 1500 ms, 5.19 500 ms, 2.6 138 ms); the busy
        // cases take the other two.
        assert_eq!(
            &log[..4],
            ["start 6.4.1", "start 5.19", "start 1.1.1", "start 2.1"]
        );
        assert!(at("start 2.6") > at("end 6.4.1").min(at("end 5.19")));
        // Performance cases start after the last busy case, here one at a time (a quarter of the
        // slots), while paced ones run.
        assert!(at("start 9.1.1") > at("end 3.1"));
        assert!(at("start 9.1.2") > at("end 9.1.1"));
        assert!(at("end 9.1.2") < at("end 6.4.1"));
    }

    #[tokio::test(start_paused = true)]
    async fn two_performance_cases_run_at_once_given_eight_slots() {
        let ids = ["9.1.1", "9.1.2", "9.1.3", "1.1.1"];
        let (log, most) = schedule(&ids, 8).await;
        assert_eq!(most, 2);
        let at = |entry: &str| log.iter().position(|e| e == entry).unwrap();
        assert!(at("start 9.1.1") > at("end 1.1.1"));
        assert!(at("start 9.1.2") < at("end 9.1.1"));
        assert!(at("start 9.1.3") > at("end 9.1.1").min(at("end 9.1.2")));
    }

    #[tokio::test(start_paused = true)]
    async fn busy_cases_take_the_slots_paced_ones_leave() {
        let ids = ["1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6"];
        let (log, most) = schedule(&ids, 4).await;
        assert_eq!(most, 4);
        assert!(log[..4].iter().all(|entry| entry.starts_with("start")));
    }

    #[tokio::test(start_paused = true)]
    async fn one_job_runs_every_case_alone() {
        let ids = ["1.1.1", "2.6", "9.1.1", "5.19", "2.1"];
        let (log, most) = schedule(&ids, 1).await;
        assert_eq!(most, 1);
        assert_eq!(log.last().unwrap(), "end 9.1.1");
    }
}
