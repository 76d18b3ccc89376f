//! `job-history keys …`: issuing API keys from the command line.

use chrono::Duration;
use diesel::prelude::*;
use diesel::result::OptionalExtension;
use diesel_async::RunQueryDsl;

use crate::config::KeysCreateArgs;
use crate::db::models::{NewAccount, NewUser};
use crate::db::schema::{accounts, users};
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
    crate::with_conn!(db, conn => {
        use diesel_async::AsyncConnection;
        conn.transaction::<_, DbError, _>(async |conn| {
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
        .await
    })
}
