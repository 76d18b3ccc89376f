//! `job-history keys …`: issuing API keys from the command line.

use chrono::Duration;
use diesel::prelude::*;
use diesel::result::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::outln;
use crate::config::{KeysCreateArgs, KeysListArgs};
use crate::db::models::{NewAccount, NewUser};
use crate::db::schema::{accounts, api_keys, users};
use crate::db::{Db, DbError};

/// Creates a key for the user with `args.user` as email (creating user and account when
/// missing), says on stderr whose key it is and what was created, and prints the key once on
/// stdout (so `KEY=$(job-history keys create …)` captures the key alone).
pub async fn create(db: &Db, args: &KeysCreateArgs) -> anyhow::Result<()> {
    let owner = find_or_create_user(db, args).await?;
    let expires_at = args
        .expires_in_days
        .map(|d| crate::db::now() + Duration::days(d.into()));
    let key =
        crate::keys::create(db, owner.user_id, owner.account_id, args.role, expires_at).await?;
    let email = args.user.trim().to_lowercase();
    let account = &owner.account;
    match owner.created {
        Created::Nothing => eprintln!("existing user {email} of account \"{account}\""),
        Created::User => eprintln!("created user {email} in account \"{account}\""),
        Created::UserAndAccount => {
            eprintln!("created account \"{account}\" and user {email} in it")
        }
    }
    eprintln!(
        "{} API key for {email}; it is shown only once:",
        args.role.as_str()
    );
    outln!("{}", key.full())?;
    Ok(())
}

/// The key's owner and what `keys create` had to create for it.
struct Owner {
    user_id: i64,
    account_id: i64,
    account: String,
    created: Created,
}

enum Created {
    Nothing,
    User,
    UserAndAccount,
}

/// The account a new user goes to when `--account` is not given.
const DEFAULT_ACCOUNT: &str = "Default";

async fn find_or_create_user(db: &Db, args: &KeysCreateArgs) -> anyhow::Result<Owner> {
    let now = crate::db::now();
    let email = args.user.trim().to_lowercase();
    let wanted = args.account.as_deref().map(str::trim);
    crate::write_transaction!(db, anyhow::Error, conn => {
        {
            if let Some((user_id, account_id, account)) = users::table
                .inner_join(accounts::table)
                .filter(users::email.eq(&email))
                .select((users::id, users::account_id, accounts::name))
                .first::<(i64, i64, String)>(conn)
                .await
                .optional()?
            {
                if let Some(wanted) = wanted.filter(|w| *w != account) {
                    anyhow::bail!(
                        "{email} already belongs to account \"{account}\" (a user has one account): \
                         omit --account to add a key for it, or use another email for a user of \"{wanted}\""
                    );
                }
                return Ok(Owner { user_id, account_id, account, created: Created::Nothing });
            }
            let name = wanted.unwrap_or(DEFAULT_ACCOUNT).to_string();
            anyhow::ensure!(!name.is_empty(), "--account needs a name");
            let names: Vec<(i64, String)> = accounts::table
                .select((accounts::id, accounts::name))
                .order(accounts::id)
                .load(conn)
                .await?;
            let (account_id, created) = match names.iter().find(|(_, n)| *n == name) {
                Some((id, _)) => (*id, Created::User),
                None => {
                    let similar: Vec<&str> = names
                        .iter()
                        .map(|(_, n)| n.as_str())
                        .filter(|n| similar(n, &name))
                        .collect();
                    if !similar.is_empty() && !args.new_account {
                        anyhow::bail!(
                            "no account is named \"{name}\", but {} {}: pass --account with the full name, \
                             or add --new-account to create \"{name}\"",
                            similar.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "),
                            if similar.len() == 1 { "is" } else { "are" }
                        );
                    }
                    let row = NewAccount {
                        identifier: uuid::Uuid::new_v4().to_string(),
                        name: name.clone(),
                        created_at: now,
                    };
                    let id = diesel::insert_into(accounts::table).values(&row).returning(accounts::id).get_result(conn).await?;
                    (id, Created::UserAndAccount)
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
            Ok(Owner { user_id, account_id, account: name, created })
        }
    })
}

/// Whether two account names could be meant for each other: equal but for case, or one
/// containing the other (`Acme` and `Acme Analytics`).
fn similar(existing: &str, wanted: &str) -> bool {
    let (a, b) = (existing.to_lowercase(), wanted.to_lowercase());
    a.contains(&b) || b.contains(&a)
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
    outln!(
        "{:<20}  {:<6}  {:<10}  {:<10}  {:<10}  {:<28}  ACCOUNT",
        "PREFIX",
        "ROLE",
        "CREATED",
        "EXPIRES",
        "REVOKED",
        "USER"
    )?;
    for (prefix, role, email, account, created, expires, revoked) in rows {
        let or_dash = |t: Option<chrono::NaiveDateTime>| t.as_ref().map_or("-".to_string(), day);
        outln!(
            "{prefix:<20}  {role:<6}  {:<10}  {:<10}  {:<10}  {email:<28}  {account}",
            day(&created),
            or_dash(expires),
            or_dash(revoked)
        )?;
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
    outln!("revoked {prefix}")?;
    Ok(())
}
