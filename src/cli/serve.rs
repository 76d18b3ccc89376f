//! `job-history serve`: migrate, optionally seed the demo, and serve HTTP until a signal.

use std::time::Duration;

use anyhow::Context;

use crate::config::{DbArgs, ServeArgs};
use crate::db::{Db, jobs, people};
use crate::domain::Role;
use crate::http::{self, AppState};
use crate::seed::{self, SeedOptions};

/// Runs the server.
pub async fn run(db_args: &DbArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let db = super::open_migrated(db_args).await?;
    if let Err(e) = crate::db::upkeep::optimize(&db).await {
        tracing::warn!(error = %e, "PRAGMA optimize failed");
    }
    tokio::spawn(crate::db::upkeep::run(
        db.clone(),
        Duration::from_secs(60 * 60),
    ));
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let demo = if args.demo {
        Some(prepare_demo(&db, args.demo_jobs).await?)
    } else {
        None
    };
    let demo_key = demo.as_ref().map(|d| d.user_key.clone());

    let mut state = AppState::new(db.clone(), args.http_config());
    state.playground_key = demo_key.clone();
    state.events.listen();
    if args.timeout_sweep_ms > 0 {
        let interval = Duration::from_millis(args.timeout_sweep_ms);
        tokio::spawn(crate::sweeper::run(
            db.clone(),
            state.events.clone(),
            interval,
        ));
    }
    let app = http::router(state);
    tracing::info!(%addr, database = %db.url().redacted(), "listening");
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    // A closed stdout (`serve | head -1`) must not stop the server: what it says is a courtesy.
    let _ = super::outln!(
        "job-history is serving on http://{host}:{} (GraphiQL at /, dashboard at /dashboard)",
        addr.port()
    );
    if let Some(key) = demo_key {
        let _ = super::outln!("demo API key (send as `Authorization: ApiKey {key}`):\n{key}");
    }
    if let Some(demo) = demo.filter(|_| args.demo_rate > 0.0) {
        // Live movement for the demo: a simulator on the public API of this very server.
        let options = crate::simulate::SimulateOptions {
            url: format!("http://{host}:{}", addr.port()),
            user_key: demo.user_key,
            worker_key: demo.worker_key,
            rate: args.demo_rate,
            duration: None,
            failure_rate: 0.1,
            timeout_rate: 0.1,
            cancel_rate: 0.05,
            seed: 42,
            pace: 1.0,
        };
        tokio::spawn(async move {
            if let Err(e) = crate::simulate::run(options).await.map(drop) {
                tracing::warn!(error = %e, "demo simulator stopped");
            }
        });
    }
    http::server::serve_with(
        listener,
        app,
        http::server::shutdown_signal(),
        Duration::from_millis(args.shutdown_grace_ms),
        Duration::from_millis(args.limits.header_read_timeout_ms),
    )
    .await?;
    Ok(())
}

/// Fresh keys for the demo's first user: one to use, one for the simulator's workers.
struct Demo {
    user_key: String,
    worker_key: String,
}

/// Seeds an empty database with demo data and returns fresh keys for the first user.
async fn prepare_demo(db: &Db, demo_jobs: u64) -> anyhow::Result<Demo> {
    if !db.read(async |c| jobs::any(c).await).await? {
        let mut opts = SeedOptions::new(demo_jobs);
        opts.accounts = 3;
        opts.users = 24;
        opts.seed = 42;
        let report = seed::seed(db, opts).await?;
        tracing::info!(jobs = report.jobs, "seeded demo data");
    }
    let (user_id, account_id) = db
        .read(async |c| people::first_user(c).await)
        .await?
        .context("the demo data has no user to issue keys to")?;
    let user_key = crate::keys::create(db, user_id, account_id, Role::User, None)
        .await?
        .full();
    let worker_key = crate::keys::create(db, user_id, account_id, Role::Worker, None)
        .await?
        .full();
    Ok(Demo {
        user_key,
        worker_key,
    })
}
