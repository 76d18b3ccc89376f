//! The commands behind `job-history`: each parses nothing itself (see [`crate::config`]) and
//! reports failure as one line on stderr with a non-zero exit code.
//!
//! Output goes through `outln!`: a reader that stops reading (`keys list | head`) ends the
//! command quietly with success, as `head` intends, instead of a panic on the broken pipe.

mod keys;
mod models;
pub mod reference;
mod serve;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::config::{Cli, Command, DbArgs, KeysCommand, ModelsCommand};
use crate::db::{self, Db};
use crate::seed::{self, SeedOptions};

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_closed_output(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes one line to stdout and flushes it; fails with the `io::Error` when the reader has
/// gone (`BrokenPipe`), which [`main`] turns into a quiet, successful exit.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// The body of [`outln!`].
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes `text` to stdout as it is (see [`write_line`]).
fn write_raw(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// True when `e` is stdout's reader having gone away.
fn is_closed_output(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Schema => {
            write_raw(&crate::graphql::sdl())?;
            Ok(())
        }
        Command::Migrate => {
            let db = open(&cli.db).await?;
            let applied = db::migrate::run(&db).await?;
            if applied.is_empty() {
                outln!("database is up to date")?;
            } else {
                outln!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                )?;
            }
            // What `serve` would otherwise fold in the background after an upgrade.
            let folded = db::upkeep::compact_statistics(&db, db::upkeep::UNITS_PER_LISTING).await?;
            if folded > 0 {
                outln!("folded {folded} statistics rows into packed values")?;
            }
            Ok(())
        }
        Command::Seed(args) => {
            let db = open_migrated(&cli.db).await?;
            let mut opts = SeedOptions::new(args.jobs);
            opts.accounts = args.accounts;
            opts.users = args.users;
            opts.seed = args.seed;
            opts.progress = true;
            let report = seed::seed(&db, opts).await?;
            outln!(
                "seeded {} jobs ({} inputs), {} accounts, {} users in {:.1} s ({:.0} jobs/s)",
                report.jobs,
                report.inputs,
                report.accounts,
                report.users,
                report.elapsed.as_secs_f64(),
                report.jobs as f64 / report.elapsed.as_secs_f64().max(1e-9)
            )?;
            Ok(())
        }
        Command::Keys(command) => {
            let db = open_migrated(&cli.db).await?;
            match command {
                KeysCommand::Create(args) => keys::create(&db, &args).await,
                KeysCommand::List(args) => keys::list(&db, &args).await,
                KeysCommand::Revoke(args) => keys::revoke(&db, &args.prefix).await,
            }
        }
        Command::Models(command) => {
            let db = open_migrated(&cli.db).await?;
            match command {
                ModelsCommand::Add(args) => models::add(&db, &args).await,
                ModelsCommand::List => models::list(&db).await,
            }
        }
        Command::Serve(args) => serve::run(&cli.db, &args).await,
        Command::Simulate(args) => {
            let submitted = crate::simulate::run(args.options()).await?;
            outln!("submitted {submitted} jobs")?;
            Ok(())
        }
    }
}

/// Opens the pool; the error names the database without its password.
pub(crate) async fn open(args: &DbArgs) -> anyhow::Result<Db> {
    let config = args.config().map_err(anyhow::Error::msg)?;
    Ok(db::connect::connect(&config).await?)
}

/// Opens the pool and applies pending migrations.
pub(crate) async fn open_migrated(args: &DbArgs) -> anyhow::Result<Db> {
    let db = open(args).await?;
    let applied = db::migrate::run(&db)
        .await
        .with_context(|| format!("cannot migrate {}", db.url().redacted()))?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    Ok(db)
}
