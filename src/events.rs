//! Job change events: every committed change to a job is published as a [`JobEvent`] and fans
//! out to the subscriptions of every server process.
//!
//! - **SQLite** (one process owns the file): an in-process `tokio::sync::broadcast` channel.
//! - **PostgreSQL** (N stateless replicas): `pg_notify('job_events', 'ACCOUNT:JOB')` after
//!   commit; each process keeps one dedicated `LISTEN job_events` connection (not pooled: its
//!   notification stream borrows it) and re-broadcasts what arrives — its own changes
//!   included, so there is one path. The listener reconnects with backoff after the database
//!   restarts, and tells subscribers that events may have been missed meanwhile.
//!
//! Broadcast buffers are bounded: a slow subscriber never blocks a writer; it is told how many
//! events it missed (see [`Received::Missed`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::db::{DatabaseUrl, Db, DbError, Pools};
use crate::domain::{AccountId, JobId};

/// The PostgreSQL channel events travel on.
pub const CHANNEL: &str = "job_events";
/// Events buffered per subscriber before it starts missing them.
pub const BUFFER: usize = 1024;

/// A job changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobEvent {
    /// `accounts.id` of the job (subscriptions filter on it before reading anything).
    pub account_id: AccountId,
    /// `jobs.id`.
    pub job_id: JobId,
}

impl JobEvent {
    /// The event of a change to `job`.
    pub fn of(job: &crate::db::models::Job) -> Self {
        Self {
            account_id: job.account_id,
            job_id: job.id,
        }
    }

    fn payload(self) -> String {
        format!("{}:{}", self.account_id, self.job_id)
    }

    fn parse(payload: &str) -> Option<Self> {
        let (a, j) = payload.split_once(':')?;
        Some(Self {
            account_id: AccountId(a.parse().ok()?),
            job_id: JobId(j.parse().ok()?),
        })
    }
}

/// What a subscriber receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// A job changed.
    Event(JobEvent),
    /// Events were lost (this many, or an unknown number while the listener reconnected).
    Missed(Option<u64>),
}

#[derive(Clone, Copy, Debug)]
enum Wire {
    Event(JobEvent),
    /// The listener lost its connection; changes made meanwhile were not seen.
    Gap,
}

/// Publishes and distributes job events.
#[derive(Clone)]
pub struct EventBus {
    db: Db,
    sender: broadcast::Sender<Wire>,
    status: Arc<ListenerStatus>,
    listener: Arc<std::sync::Once>,
}

/// How long a new subscription waits for the PostgreSQL listener to be connected.
const LISTENER_WAIT: Duration = Duration::from_secs(10);

/// Health of the PostgreSQL listener (exported by `/metrics` and used by tests).
#[derive(Debug)]
pub struct ListenerStatus {
    connected: AtomicBool,
    connects: AtomicU64,
    changed: tokio::sync::watch::Sender<bool>,
}

impl Default for ListenerStatus {
    fn default() -> Self {
        Self {
            connected: AtomicBool::new(false),
            connects: AtomicU64::new(0),
            changed: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl ListenerStatus {
    /// Whether the `LISTEN` connection is up.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// How many times it (re)connected.
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::SeqCst)
    }

    fn set(&self, connected: bool) {
        if connected {
            self.connects.fetch_add(1, Ordering::SeqCst);
        }
        self.connected.store(connected, Ordering::SeqCst);
        self.changed.send_replace(connected);
    }
}

diesel::define_sql_function! {
    /// PostgreSQL's `pg_notify(channel, payload)`.
    fn pg_notify(channel: Text, payload: Text);
}

impl EventBus {
    /// A bus over `db`. On PostgreSQL the listener starts with the first subscription (or
    /// [`EventBus::listen`]); on SQLite there is nothing to listen to.
    pub fn new(db: Db) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        let status = Arc::new(ListenerStatus::default());
        if !matches!(db.url(), DatabaseUrl::Postgres(_)) {
            status.set(true);
        }
        Self {
            db,
            sender,
            status,
            listener: Arc::new(std::sync::Once::new()),
        }
    }

    /// Starts the PostgreSQL listener now (idempotent; a no-op on SQLite).
    pub fn listen(&self) {
        if let DatabaseUrl::Postgres(url) = self.db.url() {
            let (url, sender, status) =
                (url.clone(), self.sender.clone(), Arc::clone(&self.status));
            self.listener.call_once(move || {
                tokio::spawn(listen(url, sender, status));
            });
        }
    }

    /// The listener's health.
    pub fn status(&self) -> &ListenerStatus {
        &self.status
    }

    /// Publishes committed changes. Failing to notify never fails the change itself: it is
    /// logged, and subscribers see the job's next change.
    pub async fn publish(&self, events: &[JobEvent]) {
        if events.is_empty() {
            return;
        }
        match self.db.pools() {
            Pools::Sqlite(_) => {
                for e in events {
                    let _ = self.sender.send(Wire::Event(*e)); // no subscriber: nothing to do
                }
            }
            Pools::Postgres(pool) => {
                use diesel_async::RunQueryDsl;
                let result: Result<(), DbError> = async {
                    let mut conn = pool.get().await.map_err(DbError::from)?;
                    for e in events {
                        diesel::select(pg_notify(CHANNEL, e.payload()))
                            .execute(&mut **conn)
                            .await?;
                    }
                    Ok(())
                }
                .await;
                if let Err(e) = result {
                    tracing::error!(error = %e, "cannot publish job events");
                }
            }
        }
    }

    /// A new subscription to every event (filtering is the subscriber's business), once the
    /// listener is connected: events committed after this returns are delivered.
    pub async fn subscribe(&self) -> Result<Subscription, DbError> {
        let receiver = self.sender.subscribe();
        self.listen();
        let mut changed = self.status.changed.subscribe();
        tokio::time::timeout(LISTENER_WAIT, changed.wait_for(|connected| *connected))
            .await
            .map_err(|_| DbError::Unavailable("the job event listener is not connected".into()))?
            .map_err(|_| DbError::Unavailable("the job event listener stopped".into()))?;
        Ok(Subscription { receiver })
    }

    /// Subscribers currently attached.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// One subscriber's end of the bus.
pub struct Subscription {
    receiver: broadcast::Receiver<Wire>,
}

impl Subscription {
    /// The next event, or news of missed ones; `None` when the bus is gone.
    pub async fn next(&mut self) -> Option<Received> {
        match self.receiver.recv().await {
            Ok(Wire::Event(e)) => Some(Received::Event(e)),
            Ok(Wire::Gap) => Some(Received::Missed(None)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Received::Missed(Some(n))),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// Keeps a `LISTEN` connection up for the life of the process.
async fn listen(url: String, sender: broadcast::Sender<Wire>, status: Arc<ListenerStatus>) {
    let mut backoff = Duration::from_millis(100);
    // Whether a connection was lost since the last `LISTEN`: subscribers are told so once
    // listening again, so that a re-read prompted by `EVENTS_MISSED` is followed by every later
    // event (told at the disconnect, a client re-reading at once could miss the events sent
    // before the new `LISTEN` took effect).
    let mut lost = false;
    loop {
        match AsyncPgConnection::establish(&url).await {
            Ok(mut conn) => {
                if let Err(e) =
                    diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, &listening_sql())
                        .await
                {
                    tracing::warn!(error = %e, "cannot LISTEN; retrying");
                } else {
                    backoff = Duration::from_millis(100);
                    status.set(true);
                    tracing::info!("listening for job events");
                    if std::mem::take(&mut lost) {
                        let _ = sender.send(Wire::Gap);
                    }
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(n) => match JobEvent::parse(&n.payload) {
                                Some(e) => {
                                    let _ = sender.send(Wire::Event(e));
                                }
                                None => {
                                    let payload = &n.payload;
                                    tracing::warn!(%payload, "ignoring a malformed job event")
                                }
                            },
                            Err(e) => {
                                tracing::warn!(error = %e, "job event listener failed");
                                break;
                            }
                        }
                    }
                    status.set(false);
                    lost = true;
                    tracing::warn!("job event listener disconnected; reconnecting");
                }
            }
            Err(e) => tracing::warn!(error = %e, "job event listener cannot connect; retrying"),
        }
        tokio::time::sleep(backoff).await;
        // At most 1 s between attempts: subscribers hear events again within about a second
        // of the database coming back.
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

fn listening_sql() -> String {
    format!("SET application_name = 'job-history-listener'; LISTEN {CHANNEL}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_what_it_missed() {
        let (sender, receiver) = broadcast::channel(2);
        for job_id in 0..5 {
            sender
                .send(Wire::Event(JobEvent {
                    account_id: AccountId(1),
                    job_id: JobId(job_id),
                }))
                .unwrap();
        }
        sender.send(Wire::Gap).unwrap();
        let mut sub = Subscription { receiver };
        assert_eq!(sub.next().await, Some(Received::Missed(Some(4))));
        assert_eq!(
            sub.next().await,
            Some(Received::Event(JobEvent {
                account_id: AccountId(1),
                job_id: JobId(4)
            }))
        );
        assert_eq!(sub.next().await, Some(Received::Missed(None)));
        drop(sender);
        assert_eq!(sub.next().await, None);
    }

    #[test]
    fn payloads_round_trip() {
        let e = JobEvent {
            account_id: AccountId(7),
            job_id: JobId(123_456),
        };
        assert_eq!(JobEvent::parse(&e.payload()), Some(e));
        assert_eq!(JobEvent::parse("7"), None);
        assert_eq!(JobEvent::parse("a:b"), None);
    }
}
