//! The timeout sweeper: records TIMEDOUT for pending jobs whose deadline has passed, and
//! publishes the change. Reads never depended on it (they compute the effective status), so
//! it only has to catch up eventually. Safe with every replica sweeping: each row changes once
//! (`UPDATE … WHERE status <= 1`), whoever gets there first publishes.

use std::time::Duration;

use crate::db::{Db, lifecycle};
use crate::events::{EventBus, JobEvent};

/// Overdue jobs read per batch.
const BATCH: i64 = 500;

/// Sweeps once: every overdue job, in batches, each job in its own transaction (with its
/// rollup count). Returns how many were recorded.
pub async fn sweep_once(db: &Db, events: &EventBus) -> usize {
    let mut total = 0;
    loop {
        let now = crate::db::now();
        let overdue = match db
            .read(async |c| lifecycle::overdue(c, now, BATCH).await)
            .await
        {
            Ok(overdue) => overdue,
            Err(e) => {
                tracing::warn!(error = %e, "timeout sweep failed; retrying at the next interval");
                return total;
            }
        };
        let mut changed = Vec::new();
        for job in &overdue {
            match db
                .write(async |tx| lifecycle::time_out(tx, *job).await)
                .await
            {
                Ok(Some(t)) => changed.push(JobEvent {
                    account_id: t.account_id,
                    job_id: t.job_id,
                }),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "timeout sweep failed; retrying at the next interval"
                    );
                    events.publish(&changed).await;
                    return total + changed.len();
                }
            }
        }
        total += changed.len();
        events.publish(&changed).await;
        if (overdue.len() as i64) < BATCH {
            return total;
        }
    }
}

/// Sweeps every `interval` for the life of the process.
pub async fn run(db: Db, events: EventBus, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let n = sweep_once(&db, &events).await;
        if n > 0 {
            tracing::info!(jobs = n, "recorded timed-out jobs");
        }
    }
}
