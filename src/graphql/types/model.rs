//! `Model`: an entry of the model catalogue jobs run against.

use async_graphql::SimpleObject;

use crate::db::models;

/// A model (at one version) of the catalogue.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(serial)]
pub struct Model {
    /// The model's identifier, e.g. `ed542963de`.
    pub identifier: String,
    /// The model version, e.g. `1.0.1`.
    pub version: String,
    /// Human-readable name, e.g. `Sentiment Analysis`.
    pub name: String,
}

impl From<models::Model> for Model {
    fn from(m: models::Model) -> Self {
        Self {
            identifier: m.identifier,
            version: m.version,
            name: m.name,
        }
    }
}
