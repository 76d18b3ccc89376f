//! job-history: a GraphQL service for monitoring machine-learning inference jobs and browsing
//! their history, on embedded SQLite or PostgreSQL.
//!
//! Layout: [`config`] (CLI and environment), [`db`] (pools, schema, migrations, one body of
//! query code for both backends), [`domain`] (statuses and roles), [`keys`] and [`auth`] (API
//! keys, callers), [`seed`] (demo and load data), [`graphql`] (the schema), [`http`] (the axum
//! router and server), [`cli`] (the commands).

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod graphql;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod seed;
pub mod simulate;
pub mod sweeper;
pub mod telemetry;
