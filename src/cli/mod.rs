//! The commands behind `job-history`: each parses nothing itself (see [`crate::config`]) and
//! reports failure as one line on stderr with a non-zero exit code.

mod keys;
mod serve;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::config::{Cli, Command, DbArgs, KeysCommand};
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            let db = open(&cli.db).await?;
            let applied = db::migrate::run(&db).await?;
            if applied.is_empty() {
                println!("database is up to date");
            } else {
                println!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
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
            let report = seed::seed(db.url(), opts).await?;
            println!(
                "seeded {} jobs ({} inputs), {} accounts, {} users in {:.1} s ({:.0} jobs/s)",
                report.jobs,
                report.inputs,
                report.accounts,
                report.users,
                report.elapsed.as_secs_f64(),
                report.jobs as f64 / report.elapsed.as_secs_f64().max(1e-9)
            );
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
        Command::Serve(args) => serve::run(&cli.db, &args).await,
        Command::Simulate(args) => {
            let submitted = crate::simulate::run(args.options()).await?;
            println!("submitted {submitted} jobs");
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
