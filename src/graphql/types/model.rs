//! `Model`: an entry of the model catalogue jobs run against.

use std::sync::Arc;

use async_graphql::Object;

use crate::db::models;

/// A catalogue entry, shared with [`crate::db::catalogue`] rather than copied per job.
#[derive(Clone)]
pub struct Model(pub Arc<models::Model>);

/// A model (at one version) of the catalogue.
#[Object(serial)]
impl Model {
    /// The model's identifier, e.g. `ed542963de`.
    async fn identifier(&self) -> &str {
        &self.0.identifier
    }

    /// The model version, e.g. `1.0.1`.
    async fn version(&self) -> &str {
        &self.0.version
    }

    /// Human-readable name, e.g. `Sentiment Analysis`.
    async fn name(&self) -> &str {
        &self.0.name
    }
}

impl From<models::Model> for Model {
    fn from(m: models::Model) -> Self {
        Self(Arc::new(m))
    }
}
