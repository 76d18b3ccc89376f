//! `job-history keys …`: issuing API keys from the command line.

use chrono::Duration;

use super::outln;
use crate::config::{KeysCreateArgs, KeysListArgs};
use crate::db::people::{self, Created, Owner, OwnerRequest};
use crate::db::{Db, keys};

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

/// The account a new user goes to when `--account` is not given.
const DEFAULT_ACCOUNT: &str = "Default";

/// The user `keys create` issues a key to, found or created (see
/// [`people::find_or_create_owner`]).
async fn find_or_create_user(db: &Db, args: &KeysCreateArgs) -> anyhow::Result<Owner> {
    let request = OwnerRequest {
        email: args.user.trim().to_lowercase(),
        account: args.account.as_deref().map(|a| a.trim().to_string()),
        default_account: DEFAULT_ACCOUNT.into(),
        first_name: args.first_name.clone(),
        last_name: args.last_name.clone(),
        new_account: args.new_account,
    };
    let now = crate::db::now();
    Ok(db
        .write(async |tx| people::find_or_create_owner(tx, &request, now).await)
        .await?)
}

/// Prints the keys (prefix, role, user, account, dates), newest first.
pub async fn list(db: &Db, args: &KeysListArgs) -> anyhow::Result<()> {
    let email = args.user.as_deref().map(|e| e.trim().to_lowercase());
    let rows = db
        .read(async |c| keys::list(c, email.as_deref(), args.all).await)
        .await?;
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
    for key in rows {
        let or_dash = |t: Option<chrono::NaiveDateTime>| t.as_ref().map_or("-".to_string(), day);
        outln!(
            "{:<20}  {:<6}  {:<10}  {:<10}  {:<10}  {:<28}  {}",
            key.prefix,
            key.role.as_str(),
            day(&key.created_at),
            or_dash(key.expires_at),
            or_dash(key.revoked_at),
            key.email,
            key.account
        )?;
    }
    Ok(())
}

/// Revokes the key with `prefix`; an unknown or already revoked prefix is an error.
pub async fn revoke(db: &Db, prefix: &str) -> anyhow::Result<()> {
    let now = crate::db::now();
    let prefix = prefix.trim().split('.').next().unwrap_or("").to_string();
    let revoked = db
        .read(async |c| keys::revoke(c, &prefix, now).await)
        .await?;
    anyhow::ensure!(revoked, "no active API key with prefix {prefix}");
    outln!("revoked {prefix}")?;
    Ok(())
}
