//! `api_keys`: the lookups and writes behind authentication ([`crate::auth`]), key issuing
//! ([`crate::keys`]) and `job-history keys list | revoke`. Each is one statement on
//! the connection it is given (see [`super::Db::read`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::{ApiKey, NewApiKey};
use super::schema::{accounts, api_keys, users};
use super::{Conn, DbError};
use crate::domain::Role;

/// The key with this public prefix, revoked or not.
pub async fn by_prefix(conn: &mut Conn<'_>, prefix: &str) -> Result<Option<ApiKey>, DbError> {
    crate::on_backend!(conn, c => {
        Ok(api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .select(ApiKey::as_select())
            .first(c)
            .await
            .optional()?)
    })
}

/// Stores a new key.
pub async fn insert(conn: &mut Conn<'_>, row: &NewApiKey) -> Result<(), DbError> {
    crate::on_backend!(conn, c => {
        diesel::insert_into(api_keys::table).values(row).execute(c).await?;
        Ok(())
    })
}

/// A key as `keys list` shows it.
#[derive(Clone, Debug, Queryable)]
pub struct KeyListing {
    /// Public prefix.
    pub prefix: String,
    /// What it may do.
    pub role: Role,
    /// Its user's email.
    pub email: String,
    /// Its account's name.
    pub account: String,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// When it expires, if ever.
    pub expires_at: Option<NaiveDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

/// The keys, newest first: of the user with `email` only when given, revoked ones only with
/// `revoked`.
pub async fn list(
    conn: &mut Conn<'_>,
    email: Option<&str>,
    revoked: bool,
) -> Result<Vec<KeyListing>, DbError> {
    crate::on_backend!(conn, c => {
        let mut q = api_keys::table
            .inner_join(users::table)
            .inner_join(accounts::table)
            .select((
                api_keys::prefix,
                api_keys::role,
                users::email,
                accounts::name,
                api_keys::created_at,
                api_keys::expires_at,
                api_keys::revoked_at,
            ))
            .order(api_keys::id.desc())
            .into_boxed();
        if let Some(email) = email {
            q = q.filter(users::email.eq(email.to_string()));
        }
        if !revoked {
            q = q.filter(api_keys::revoked_at.is_null());
        }
        Ok(q.load::<KeyListing>(c).await?)
    })
}

/// Revokes the active key with `prefix` as of `now`; whether there was one.
pub async fn revoke(
    conn: &mut Conn<'_>,
    prefix: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    crate::on_backend!(conn, c => {
        let active = api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .filter(api_keys::revoked_at.is_null());
        let changed = diesel::update(active)
            .set(api_keys::revoked_at.eq(Some(now)))
            .execute(c)
            .await?;
        Ok(changed == 1)
    })
}
