//! Accounts and users: what the API shows of them (`viewer`, nested `user`), the account an
//! administrator's filter names, the demo's first user, and the owner `keys create` issues a
//! key to. Each takes a [`Conn`]; [`find_or_create_owner`] writes several rows, so it takes a
//! [`Tx`], which only [`super::Db::write`] makes (see [`super::lifecycle`] for the rule).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::{NewAccount, NewUser, User};
use super::schema::{accounts, users};
use super::{Conn, DbError, Tx};
use crate::domain::{AccountId, UserId};

/// An account's identifier and name.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct AccountName {
    /// `accounts.identifier`.
    pub identifier: String,
    /// `accounts.name`.
    pub name: String,
}

/// The identifier and name of account `id`.
pub async fn account(conn: &mut Conn<'_>, id: AccountId) -> Result<AccountName, DbError> {
    crate::on_backend!(conn, c => {
        Ok(accounts::table
            .find(id)
            .select((accounts::identifier, accounts::name))
            .first(c)
            .await?)
    })
}

/// The id of the account with this identifier, if there is one.
pub async fn account_by_identifier(
    conn: &mut Conn<'_>,
    identifier: &str,
) -> Result<Option<AccountId>, DbError> {
    crate::on_backend!(conn, c => {
        Ok(accounts::table
            .filter(accounts::identifier.eq(identifier))
            .select(accounts::id)
            .first::<AccountId>(c)
            .await
            .optional()?)
    })
}

/// The users with these ids (in any order; missing ones are left out).
pub async fn users(conn: &mut Conn<'_>, ids: &[UserId]) -> Result<Vec<User>, DbError> {
    let ids = ids.to_vec();
    crate::on_backend!(conn, c => {
        Ok(users::table
            .filter(users::id.eq_any(ids))
            .select(User::as_select())
            .load(c)
            .await?)
    })
}

/// The first user ever created and its account, if there is one.
pub async fn first_user(conn: &mut Conn<'_>) -> Result<Option<(UserId, AccountId)>, DbError> {
    crate::on_backend!(conn, c => {
        Ok(users::table
            .order(users::id)
            .select((users::id, users::account_id))
            .first(c)
            .await
            .optional()?)
    })
}

/// Who a new key is for: a user by email, and the account a new user joins.
#[derive(Clone, Debug)]
pub struct OwnerRequest {
    /// The user's email, lowercase.
    pub email: String,
    /// The account named on the command line, if one was.
    pub account: Option<String>,
    /// The account a new user joins when none is named.
    pub default_account: String,
    /// A new user's first name.
    pub first_name: String,
    /// A new user's last name.
    pub last_name: String,
    /// Create the account even when a similar name exists.
    pub new_account: bool,
}

/// A key's owner, found or created.
#[derive(Clone, Debug)]
pub struct Owner {
    /// The user.
    pub user_id: UserId,
    /// The user's account.
    pub account_id: AccountId,
    /// The account's name.
    pub account: String,
    /// What had to be created.
    pub created: Created,
}

/// What [`find_or_create_owner`] created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// Both existed.
    Nothing,
    /// A new user in an existing account.
    User,
    /// A new account and its first user.
    UserAndAccount,
}

/// Why no owner could be had. Messages are for the person at the command line.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// The user exists in another account than the one named.
    #[error(
        "{email} already belongs to account \"{account}\" (a user has one account): omit \
         --account to add a key for it, or use another email for a user of \"{wanted}\""
    )]
    OtherAccount {
        /// The user's email.
        email: String,
        /// Its account.
        account: String,
        /// The account named.
        wanted: String,
    },
    /// The account name is empty.
    #[error("--account needs a name")]
    EmptyName,
    /// No account has the name, but some have a similar one.
    #[error(
        "no account is named \"{name}\", but {similar}: pass --account with the full name, \
         or add --new-account to create \"{name}\""
    )]
    Similar {
        /// The name asked for.
        name: String,
        /// The similar names, quoted, and `is`/`are`.
        similar: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for OwnerError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Whether two account names could be meant for each other: equal but for case, or one
/// containing the other (`Acme` and `Acme Analytics`).
pub fn similar(existing: &str, wanted: &str) -> bool {
    let (a, b) = (existing.to_lowercase(), wanted.to_lowercase());
    a.contains(&b) || b.contains(&a)
}

/// The similar names of `names` to `name`, as the refusal quotes them (`"A", "B" are`).
fn quote_similar(names: &[(AccountId, String)], name: &str) -> Option<String> {
    let found: Vec<String> = names
        .iter()
        .filter(|(_, n)| similar(n, name))
        .map(|(_, n)| format!("\"{n}\""))
        .collect();
    let verb = if found.len() == 1 { "is" } else { "are" };
    (!found.is_empty()).then(|| format!("{} {verb}", found.join(", ")))
}

/// The user with `req.email` (it keeps its account; naming another is refused), or a new one
/// in the account with exactly the name asked for, created when missing unless a similar name
/// exists and `req.new_account` is not set. One write transaction.
pub async fn find_or_create_owner(
    tx: &mut Tx<'_>,
    req: &OwnerRequest,
    now: NaiveDateTime,
) -> Result<Owner, OwnerError> {
    let email = &req.email;
    let wanted = req.account.as_deref();
    crate::on_backend!(tx.conn(), c => {
        if let Some((user_id, account_id, account)) = users::table
            .inner_join(accounts::table)
            .filter(users::email.eq(email))
            .select((users::id, users::account_id, accounts::name))
            .first::<(UserId, AccountId, String)>(c)
            .await
            .optional()?
        {
            if let Some(wanted) = wanted.filter(|w| *w != account) {
                let (email, wanted) = (email.clone(), wanted.to_string());
                return Err(OwnerError::OtherAccount { email, account, wanted });
            }
            return Ok(Owner { user_id, account_id, account, created: Created::Nothing });
        }
        let name = wanted.unwrap_or(&req.default_account).to_string();
        if name.is_empty() {
            return Err(OwnerError::EmptyName);
        }
        let names: Vec<(AccountId, String)> = accounts::table
            .select((accounts::id, accounts::name))
            .order(accounts::id)
            .load(c)
            .await?;
        let (account_id, created) = match names.iter().find(|(_, n)| *n == name) {
            Some((id, _)) => (*id, Created::User),
            None => {
                if let Some(similar) = quote_similar(&names, &name).filter(|_| !req.new_account) {
                    return Err(OwnerError::Similar { name, similar });
                }
                let row = NewAccount {
                    identifier: uuid::Uuid::new_v4().to_string(),
                    name: name.clone(),
                    created_at: now,
                };
                let id = diesel::insert_into(accounts::table)
                    .values(&row)
                    .returning(accounts::id)
                    .get_result(c)
                    .await?;
                (id, Created::UserAndAccount)
            }
        };
        let row = NewUser {
            identifier: uuid::Uuid::new_v4().to_string(),
            external_identifier: email.clone(),
            account_id,
            first_name: req.first_name.clone(),
            last_name: req.last_name.clone(),
            email: email.clone(),
            status: "ACTIVE".into(),
            title: String::new(),
            created_at: now,
        };
        let user_id = diesel::insert_into(users::table)
            .values(&row)
            .returning(users::id)
            .get_result(c)
            .await?;
        Ok(Owner { user_id, account_id, account: name, created })
    })
}
