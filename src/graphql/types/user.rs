//! `User`: the person who submitted a job.

use async_graphql::Object;

use crate::db::models;

/// A user of an account.
#[derive(Clone)]
pub struct User(pub models::User);

/// A user of an account: the person who submitted a job.
#[Object(serial)]
impl User {
    /// The user's identifier.
    async fn identifier(&self) -> &str {
        &self.0.identifier
    }

    /// The identifier of the user in the identity provider.
    async fn external_identifier(&self) -> &str {
        &self.0.external_identifier
    }

    /// Given name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }

    /// Family name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }

    /// Email address.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Account status of the user, e.g. `ACTIVE`.
    async fn status(&self) -> &str {
        &self.0.status
    }

    /// Job title.
    async fn title(&self) -> &str {
        &self.0.title
    }
}
