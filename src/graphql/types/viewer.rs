//! `Viewer` (the caller: key, user, account) and `Account`.

use async_graphql::{Context, Object, SimpleObject};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::user::User;
use crate::auth::Caller;
use crate::db::schema::accounts;
use crate::db::{Db, DbError};
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
        let (identifier, name): (String, String) = crate::with_conn!(db, conn => {
            accounts::table
                .find(id)
                .select((accounts::identifier, accounts::name))
                .first(conn)
                .await
                .map_err(DbError::from)?
        });
        Ok(Account { identifier, name })
    }
}

/// The `accounts.id` of an account identifier, if it exists.
pub async fn account_id(db: &Db, identifier: &str) -> ApiResult<Option<i64>> {
    Ok(crate::with_conn!(db, conn => {
        accounts::table
            .filter(accounts::identifier.eq(identifier))
            .select(accounts::id)
            .first::<i64>(conn)
            .await
            .optional()
            .map_err(DbError::from)?
    }))
}
