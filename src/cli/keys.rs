//! `job-history keys …`: issuing API keys from the command line.

use chrono::Duration;
use diesel::prelude::*;
use diesel::result::OptionalExtension;
use diesel_async::RunQueryDsl;

use crate::config::{KeysCreateArgs, KeysListArgs};
use crate::db::models::{NewAccount, NewUser};
use crate::db::schema::{accounts, api_keys, users};
use crate::db::{Db, DbError};

/// Creates a key for the user with `args.user` as email (creating user and account when
/// missing) and prints it once.
pub async fn create(db: &Db, args: &KeysCreateArgs) -> anyhow::Result<()> {
    let (user_id, account_id) = find_or_create_user(db, args).await?;
    let expires_at = args
        .expires_in_days
        .map(|d| crate::db::now() + Duration::days(d.into()));
    let key = crate::keys::create(db, user_id, account_id, args.role, expires_at).await?;
    eprintln!(
        "API key for {} ({}); it is shown only once:",
        args.user,
        args.role.as_str()
    );
    println!("{}", key.full());
    Ok(())
}

async fn find_or_create_user(db: &Db, args: &KeysCreateArgs) -> Result<(i64, i64), DbError> {
    let now = crate::db::now();
    let email = args.user.trim().to_lowercase();
    crate::write_transaction!(db, DbError, conn => {
        if let Some(found) = users::table
            .filter(users::email.eq(&email))
            .select((users::id, users::account_id))
            .first::<(i64, i64)>(conn)
            .await
            .optional()?
        {
            return Ok(found);
        }
        let account_id = match accounts::table
            .filter(accounts::name.eq(&args.account))
            .select(accounts::id)
            .first::<i64>(conn)
            .await
            .optional()?
        {
            Some(id) => id,
            None => {
                let row = NewAccount {
                    identifier: uuid::Uuid::new_v4().to_string(),
                    name: args.account.clone(),
                    created_at: now,
                };
                diesel::insert_into(accounts::table).values(&row).returning(accounts::id).get_result(conn).await?
            }
        };
        let row = NewUser {
            identifier: uuid::Uuid::new_v4().to_string(),
            external_identifier: email.clone(),
            account_id,
            first_name: args.first_name.clone(),
            last_name: args.last_name.clone(),
            email: email.clone(),
            status: "ACTIVE".into(),
            title: String::new(),
            created_at: now,
        };
        let user_id = diesel::insert_into(users::table).values(&row).returning(users::id).get_result(conn).await?;
        Ok((user_id, account_id))
    })
}

/// Prints the keys (prefix, role, user, account, dates), newest first.
pub async fn list(db: &Db, args: &KeysListArgs) -> anyhow::Result<()> {
    type Row = (
        String,
        String,
        String,
        String,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    );
    let email = args.user.as_deref().map(|e| e.trim().to_lowercase());
    let all = args.all;
    let rows: Vec<Row> = crate::with_conn!(db, conn => {
        let mut q = api_keys::table
            .inner_join(users::table)
            .inner_join(accounts::table)
            .select((api_keys::prefix, api_keys::role, users::email, accounts::name, api_keys::created_at, api_keys::expires_at, api_keys::revoked_at))
            .order(api_keys::id.desc())
            .into_boxed();
        if let Some(email) = &email {
            q = q.filter(users::email.eq(email.clone()));
        }
        if !all {
            q = q.filter(api_keys::revoked_at.is_null());
        }
        q.load::<Row>(conn).await.map_err(DbError::from)?
    });
    let day = |t: &chrono::NaiveDateTime| t.format("%Y-%m-%d").to_string();
    println!(
        "{:<20}  {:<6}  {:<10}  {:<10}  {:<10}  {:<28}  ACCOUNT",
        "PREFIX", "ROLE", "CREATED", "EXPIRES", "REVOKED", "USER"
    );
    for (prefix, role, email, account, created, expires, revoked) in rows {
        let or_dash = |t: Option<chrono::NaiveDateTime>| t.as_ref().map_or("-".to_string(), day);
        println!(
            "{prefix:<20}  {role:<6}  {:<10}  {:<10}  {:<10}  {email:<28}  {account}",
            day(&created),
            or_dash(expires),
            or_dash(revoked)
        );
    }
    Ok(())
}

/// Revokes the key with `prefix`; an unknown or already revoked prefix is an error.
pub async fn revoke(db: &Db, prefix: &str) -> anyhow::Result<()> {
    let now = crate::db::now();
    let prefix = prefix.trim().split('.').next().unwrap_or("").to_string();
    let changed = crate::with_conn!(db, conn => {
        diesel::update(api_keys::table.filter(api_keys::prefix.eq(&prefix)).filter(api_keys::revoked_at.is_null()))
            .set(api_keys::revoked_at.eq(Some(now)))
            .execute(conn)
            .await
            .map_err(DbError::from)?
    });
    anyhow::ensure!(changed == 1, "no active API key with prefix {prefix}");
    println!("revoked {prefix}");
    Ok(())
}
