//! GraphQL object types, one module per type.

pub mod model;
