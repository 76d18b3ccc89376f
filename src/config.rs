//! Command line and environment: every flag of `serve`, `seed`, `simulate` and the global
//! ones is also an environment variable; `keys` and `models` flags are not (they choose one
//! key's owner, role and prefix, or one model's identity, and a variable left in the
//! environment would silently apply to the next key or model).
//!
//! README.md's configuration table is generated from these definitions
//! ([`crate::cli::reference`]); `tests/readme.rs` fails when the two drift. Boolean flags
//! take [`parse_bool`] as their value parser, so their variables accept `1/0`, `true/false`,
//! `yes/no`, `on/off` in any case.

use std::num::NonZeroU32;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::db::{DatabaseUrl, DbConfig, PlanCacheMode};
use crate::domain::Role;
use crate::graphql::{Limits, SchemaConfig};
use crate::http::rate_limit::Rate;
use crate::http::{HttpConfig, WsConfig};

/// Parses a boolean flag's value (from the command line or its environment variable): `1`,
/// `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in any case. Every boolean flag uses it
/// (`value_parser = parse_bool`), so `DEMO=1` and `INTROSPECTION=off` mean what they say.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected one of 1/0, true/false, yes/no, on/off (any case)".into()),
    }
}

/// The HTTP defaults `serve`'s flags show and use ([`HttpConfig::DEFAULT`]).
const HTTP: HttpConfig = HttpConfig::DEFAULT;
/// The document limits' defaults ([`Limits::DEFAULT`]).
const LIMITS: Limits = Limits::DEFAULT;

/// A duration as a flag's milliseconds.
const fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// A rate's flag: sustained requests per second (0: no limit).
fn per_second(rate: Option<Rate>) -> u32 {
    rate.map_or(0, |r| r.per_second.get())
}

/// A rate's burst flag.
fn burst(rate: Option<Rate>) -> u32 {
    rate.map_or(0, |r| r.burst.get())
}

/// GraphQL service for monitoring machine-learning inference jobs and browsing their history.
#[derive(Parser, Debug)]
#[command(name = "job-history", version, about, propagate_version = true)]
pub struct Cli {
    /// Database settings (shared by every command).
    #[command(flatten)]
    pub db: DbArgs,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Database settings.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` or `sqlite://PATH`; unset means the SQLite
    /// file `job-history.db` in the working directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Maximum pooled database connections.
    #[arg(
        long,
        env = "DATABASE_POOL_SIZE",
        default_value_t = DbConfig::DEFAULT_POOL_SIZE,
        global = true
    )]
    pub pool_size: u32,
    /// How long a request may wait for a pooled connection, in milliseconds.
    #[arg(
        long,
        env = "DATABASE_POOL_TIMEOUT_MS",
        default_value_t = millis(DbConfig::DEFAULT_POOL_TIMEOUT),
        global = true
    )]
    pub pool_timeout_ms: u64,
    /// PostgreSQL `statement_timeout` for every connection, in milliseconds.
    #[arg(
        long,
        env = "DATABASE_STATEMENT_TIMEOUT_MS",
        default_value_t = millis(DbConfig::DEFAULT_STATEMENT_TIMEOUT),
        global = true
    )]
    pub statement_timeout_ms: u64,
    /// PostgreSQL `plan_cache_mode` for every connection: `force-custom-plan` plans every
    /// execution for its values (the history's plans depend on cursors, ranges and filters);
    /// `auto`, PostgreSQL's own default, may settle on one generic plan after five executions,
    /// which made deep pages 30–100× slower; `force-generic-plan` plans each statement once
    /// per connection, much slower for selective filters such as a user (see
    /// docs/ARCHITECTURE.md).
    #[arg(
        long,
        env = "DATABASE_PLAN_CACHE_MODE",
        value_enum,
        default_value_t = PlanCacheMode::default(),
        global = true
    )]
    pub plan_cache_mode: PlanCacheMode,
    /// SQLite: how much of the database file reads map into memory, in MiB (0: none). Mapped
    /// reads share the kernel's cache instead of copying pages into each pooled connection's
    /// own; SQLite caps the map just under 2 GiB. Set 0 on storage whose read errors must not
    /// stop the process (a mapped read that fails is a SIGBUS).
    #[arg(
        long,
        env = "DATABASE_SQLITE_MMAP_MIB",
        default_value_t = DbConfig::DEFAULT_SQLITE_MMAP_SIZE >> 20,
        value_parser = clap::value_parser!(u64).range(..=1 << 20),
        global = true
    )]
    pub sqlite_mmap_mib: u64,
}

impl DbArgs {
    /// The pool configuration these flags describe.
    pub fn config(&self) -> Result<DbConfig, String> {
        let mut config = DbConfig::new(DatabaseUrl::parse(self.database_url.as_deref())?);
        config.pool_size = self.pool_size;
        config.pool_timeout = Duration::from_millis(self.pool_timeout_ms);
        config.statement_timeout = Duration::from_millis(self.statement_timeout_ms);
        config.plan_cache_mode = self.plan_cache_mode;
        config.sqlite_mmap_size = self.sqlite_mmap_mib << 20;
        Ok(config)
    }
}

/// Log output.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// `human` (coloured lines) or `json` (one object per line, for log shippers).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// Level or `tracing` filter (`info`, `job_history=debug,tower_http=info`, …).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,
}

/// Log output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// JSON lines.
    Json,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the GraphQL API, GraphiQL and health endpoints (migrates first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Add deterministic, realistic demo data (accounts, users, keys, jobs, inputs).
    Seed(SeedArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Drive jobs through a running server's API: submit, start, report, cancel, time out.
    Simulate(SimulateArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the model catalogue jobs are submitted against.
    #[command(subcommand)]
    Models(ModelsCommand),
}

/// `models` subcommands.
#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Add a model version to the catalogue. Idempotent: adding the same model again changes
    /// nothing; the same identifier and version under another name is refused (models are
    /// never renamed).
    // `--version` is the model's version here, not the program's.
    #[command(disable_version_flag = true)]
    Add(ModelsAddArgs),
    /// List the catalogue: identifier, version and name, one model version per line.
    List,
}

/// `models add` flags.
#[derive(Args, Debug, Clone)]
pub struct ModelsAddArgs {
    /// The model's identifier, e.g. `ed542963de`.
    #[arg(long)]
    pub identifier: String,
    /// The version, e.g. `1.0.1`.
    #[arg(long)]
    pub version: String,
    /// Human-readable name, e.g. `Sentiment Analysis`.
    #[arg(long)]
    pub name: String,
}

/// `serve` flags.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (`0.0.0.0` for every interface).
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Seed demo data into an empty database and print a ready API key.
    #[arg(long, env = "DEMO", value_parser = parse_bool)]
    pub demo: bool,
    /// Jobs the demo seeds into an empty database.
    #[arg(long, env = "DEMO_JOBS", default_value_t = 5_000)]
    pub demo_jobs: u64,
    /// Jobs per second the demo's simulator submits and works (0: no simulator).
    #[arg(long, env = "DEMO_RATE", default_value_t = 0.5)]
    pub demo_rate: f64,
    /// Longest a request may take (authentication included) before it is answered 504 with
    /// code `TIMEOUT`, in milliseconds.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = millis(HTTP.request_timeout))]
    pub request_timeout_ms: u64,
    /// On SIGINT/SIGTERM, how long in-flight requests may finish, in milliseconds.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// How often pending jobs past their deadline are recorded as TIMEDOUT, in ms (0: never;
    /// reads show them TIMEDOUT regardless).
    #[arg(long, env = "TIMEOUT_SWEEP_MS", default_value_t = 5_000)]
    pub timeout_sweep_ms: u64,
    /// Abuse limits.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Abuse limits and exposure settings of `serve`.
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Deepest selection nesting accepted (GraphiQL's introspection needs 13).
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = LIMITS.depth)]
    pub max_depth: usize,
    /// Largest query complexity: 1 per field, list fields multiplied by their page size.
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = LIMITS.complexity)]
    pub max_complexity: usize,
    /// Largest introspection complexity: 1 per field, introspection lists multiplied by the
    /// schema's largest such list (GraphiQL's introspection query measures ~240 000).
    #[arg(
        long,
        env = "MAX_INTROSPECTION_COMPLEXITY",
        default_value_t = LIMITS.introspection_complexity
    )]
    pub max_introspection_complexity: usize,
    /// Most directives on one field, fragment spread or operation.
    #[arg(long, env = "MAX_DIRECTIVES", default_value_t = LIMITS.directives)]
    pub max_directives: usize,
    /// Most aliases in one document.
    #[arg(long, env = "MAX_QUERY_ALIASES", default_value_t = LIMITS.aliases)]
    pub max_aliases: usize,
    /// Most root fields in one operation.
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = LIMITS.root_fields)]
    pub max_root_fields: usize,
    /// Largest request body in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = HTTP.max_body_bytes)]
    pub max_body_bytes: usize,
    /// Sustained requests per second per API key (0: no limit).
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = per_second(HTTP.rate_limit))]
    pub rate_limit_per_second: u32,
    /// Requests per API key allowed in a burst.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = burst(HTTP.rate_limit))]
    pub rate_limit_burst: u32,
    /// Sustained requests per second without a valid API key, per client address (0: no
    /// limit). Behind a proxy every client shares the proxy's address: raise it there.
    #[arg(
        long,
        env = "ANONYMOUS_RATE_PER_SECOND",
        default_value_t = per_second(HTTP.anonymous_rate_limit)
    )]
    pub anonymous_rate_per_second: u32,
    /// Requests without a valid API key allowed in a burst, per client address.
    #[arg(
        long,
        env = "ANONYMOUS_RATE_BURST",
        default_value_t = burst(HTTP.anonymous_rate_limit)
    )]
    pub anonymous_rate_burst: u32,
    /// Longest wait for a websocket's `connection_init`, in ms (then closed with 4408).
    #[arg(long, env = "WS_INIT_TIMEOUT_MS", default_value_t = millis(HTTP.ws.init_timeout))]
    pub ws_init_timeout_ms: u64,
    /// Most operations running at once on one websocket.
    #[arg(long, env = "WS_MAX_OPERATIONS", default_value_t = HTTP.ws.max_operations)]
    pub ws_max_operations: usize,
    /// Most open websockets per API key (per replica).
    #[arg(
        long,
        env = "WS_MAX_CONNECTIONS_PER_KEY",
        default_value_t = HTTP.ws.max_connections_per_key
    )]
    pub ws_max_connections_per_key: usize,
    /// Longest a client may take to send a request's headers, and longest an idle
    /// keep-alive connection is kept, in ms.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_MS",
        default_value_t = millis(HTTP.header_read_timeout)
    )]
    pub header_read_timeout_ms: u64,
    /// Answer introspection (`__schema`, `__type`); GraphiQL's docs need it.
    #[arg(
        long,
        env = "INTROSPECTION",
        default_value_t = LIMITS.introspection,
        action = clap::ArgAction::Set,
        value_parser = parse_bool
    )]
    pub introspection: bool,
    /// Origins allowed to call the API from browsers (CORS), comma-separated; `*` for any.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// How long an authenticated API key is trusted before it is checked again, in ms
    /// (a revoked key stops working within this time).
    #[arg(long, env = "AUTH_CACHE_TTL_MS", default_value_t = millis(HTTP.auth_cache_ttl))]
    pub auth_cache_ttl_ms: u64,
}

impl ServeArgs {
    /// The HTTP configuration these flags describe.
    pub fn http_config(&self) -> HttpConfig {
        let l = &self.limits;
        let rate = NonZeroU32::new(l.rate_limit_per_second).map(|per_second| Rate {
            per_second,
            burst: NonZeroU32::new(l.rate_limit_burst).unwrap_or(per_second),
        });
        HttpConfig {
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_body_bytes: l.max_body_bytes,
            rate_limit: rate,
            anonymous_rate_limit: NonZeroU32::new(l.anonymous_rate_per_second).map(|per_second| {
                Rate {
                    per_second,
                    burst: NonZeroU32::new(l.anonymous_rate_burst).unwrap_or(per_second),
                }
            }),
            ws: WsConfig {
                init_timeout: Duration::from_millis(l.ws_init_timeout_ms),
                max_operations: l.ws_max_operations,
                max_connections_per_key: l.ws_max_connections_per_key,
            },
            header_read_timeout: Duration::from_millis(l.header_read_timeout_ms),
            cors_origins: l
                .cors_origins
                .iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            auth_cache_ttl: Duration::from_millis(l.auth_cache_ttl_ms),
            schema: SchemaConfig {
                limits: Limits {
                    depth: l.max_depth,
                    complexity: l.max_complexity,
                    introspection_complexity: l.max_introspection_complexity,
                    directives: l.max_directives,
                    aliases: l.max_aliases,
                    root_fields: l.max_root_fields,
                    introspection: l.introspection,
                },
            },
        }
    }
}

/// `simulate` flags.
#[derive(Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Base URL of the server.
    #[arg(long, env = "SIMULATE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API key with role `user` (submits and cancels).
    #[arg(long, env = "SIMULATE_USER_KEY")]
    pub user_key: String,
    /// API key with role `worker` (starts jobs and reports inputs).
    #[arg(long, env = "SIMULATE_WORKER_KEY")]
    pub worker_key: String,
    /// Jobs submitted per second.
    #[arg(long, env = "SIMULATE_RATE", default_value_t = 1.0)]
    pub rate: f64,
    /// Stop after this many seconds (0: run until stopped).
    #[arg(long, env = "SIMULATE_DURATION_SECS", default_value_t = 0)]
    pub duration_secs: u64,
    /// Share of inputs that fail (0–1).
    #[arg(long, env = "SIMULATE_FAILURE_RATE", default_value_t = 0.1)]
    pub failure_rate: f64,
    /// Share of jobs left alone until their short timeout (0–1).
    #[arg(long, env = "SIMULATE_TIMEOUT_RATE", default_value_t = 0.1)]
    pub timeout_rate: f64,
    /// Share of jobs canceled by their user (0–1).
    #[arg(long, env = "SIMULATE_CANCEL_RATE", default_value_t = 0.05)]
    pub cancel_rate: f64,
    /// Random seed.
    #[arg(long, env = "SIMULATE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Multiplies every simulated delay (0.1: ten times faster).
    #[arg(long, env = "SIMULATE_PACE", default_value_t = 1.0)]
    pub pace: f64,
}

impl SimulateArgs {
    /// The simulation these flags describe.
    pub fn options(&self) -> crate::simulate::SimulateOptions {
        let share = |x: f64| x.clamp(0.0, 1.0);
        crate::simulate::SimulateOptions {
            url: self.url.clone(),
            user_key: self.user_key.clone(),
            worker_key: self.worker_key.clone(),
            rate: self.rate,
            duration: (self.duration_secs > 0).then(|| Duration::from_secs(self.duration_secs)),
            failure_rate: share(self.failure_rate),
            timeout_rate: share(self.timeout_rate),
            cancel_rate: share(self.cancel_rate),
            seed: self.seed,
            pace: self.pace,
        }
    }
}

/// `seed` flags.
#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// Jobs to add.
    #[arg(long, env = "SEED_JOBS", default_value_t = 10_000)]
    pub jobs: u64,
    /// New accounts to create.
    #[arg(long, env = "SEED_ACCOUNTS", default_value_t = 5)]
    pub accounts: usize,
    /// New users to create (one API key each), spread over the new accounts.
    #[arg(long, env = "SEED_USERS", default_value_t = 50)]
    pub users: usize,
    /// Random seed: the same seed on the same database gives the same data.
    #[arg(long, env = "SEED", default_value_t = 1)]
    pub seed: u64,
}

/// `keys` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key and print it once (only its hash is stored).
    Create(KeysCreateArgs),
    /// List API keys (prefixes only), newest first.
    List(KeysListArgs),
    /// Revoke an API key by its prefix; it stops working within AUTH_CACHE_TTL_MS.
    Revoke(KeysRevokeArgs),
}

/// `keys list` flags.
#[derive(Args, Debug, Clone)]
pub struct KeysListArgs {
    /// Only the keys of the user with this email.
    #[arg(long)]
    pub user: Option<String>,
    /// Include revoked keys.
    #[arg(long, value_parser = parse_bool)]
    pub all: bool,
}

/// `keys revoke` arguments.
#[derive(Args, Debug, Clone)]
pub struct KeysRevokeArgs {
    /// The key's prefix (the part before the dot).
    pub prefix: String,
}

/// `keys create` flags.
#[derive(Args, Debug, Clone)]
pub struct KeysCreateArgs {
    /// The key owner's email; the user is created when it does not exist yet.
    #[arg(long)]
    pub user: String,
    /// First name for a new user.
    #[arg(long, default_value = "")]
    pub first_name: String,
    /// Last name for a new user.
    #[arg(long, default_value = "")]
    pub last_name: String,
    /// Account of a new user, by exact name (default: `Default`). A missing account is
    /// created, unless an account with a similar name exists (then the command refuses and
    /// names it; `--new-account` creates it anyway). An existing user keeps its account:
    /// naming another one is refused.
    #[arg(long)]
    pub account: Option<String>,
    /// Create the `--account` even when an account with a similar name exists.
    #[arg(long, value_parser = parse_bool)]
    pub new_account: bool,
    /// What the key may do.
    #[arg(long, value_enum, default_value_t = Role::User)]
    pub role: Role,
    /// Expire the key after this many days (default: never).
    #[arg(long)]
    pub expires_in_days: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// The command line with no flags and no environment variables read.
    fn bare(args: &[&str]) -> Cli {
        let command = Cli::command()
            .mut_args(|a| a.env(None))
            .mut_subcommand("serve", |s| s.mut_args(|a| a.env(None)));
        let matches = command.try_get_matches_from(args).unwrap();
        Cli::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn flag_defaults_are_the_configuration_defaults() {
        let cli = bare(&["job-history", "serve"]);
        let Command::Serve(serve) = &cli.command else {
            panic!("serve")
        };
        assert_eq!(
            format!("{:?}", serve.http_config()),
            format!("{:?}", HttpConfig::default())
        );
        assert_eq!(
            format!("{:?}", cli.db.config().unwrap()),
            format!("{:?}", DbConfig::new(DatabaseUrl::parse(None).unwrap()))
        );
    }
}
