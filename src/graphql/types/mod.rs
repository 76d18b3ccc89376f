//! GraphQL object types, one module per type.

pub mod job;
pub mod job_input;
pub mod model;
pub mod user;
pub mod viewer;
