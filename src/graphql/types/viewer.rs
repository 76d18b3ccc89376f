//! `Viewer` (the caller: key, user, account) and `Account`.

use async_graphql::{Context, Object, SimpleObject};

use super::user::User;
use crate::auth::Caller;
use crate::db::{Db, people};
use crate::domain::Role;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders;

/// An account: the tenant that owns users, keys and jobs.
#[derive(SimpleObject, Clone, Debug)]
pub struct Account {
    /// The account's identifier.
    pub identifier: String,
    /// The account's name.
    pub name: String,
}

/// The caller of the request.
pub struct Viewer(pub Caller);

/// Who is calling: the API key in use, its user and account.
#[Object]
impl Viewer {
    /// Public prefix of the API key in use.
    async fn key_prefix(&self) -> &str {
        &self.0.prefix
    }

    /// What the key may do.
    async fn role(&self) -> Role {
        self.0.role
    }

    /// The key's user.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        loaders::user(ctx, self.0.user_id)
            .await?
            .map(User)
            .ok_or_else(|| ApiError::internal(format!("key {} has no user", self.0.prefix)))
    }

    /// The key's account.
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        let db = ctx.data_unchecked::<Db>();
        let id = self.0.account_id;
        let people::AccountName { identifier, name } =
            db.read(async |c| people::account(c, id).await).await?;
        Ok(Account { identifier, name })
    }
}
