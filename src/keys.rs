//! API keys in Modzy's form `PREFIX.SECRET`: generation, hashing and storage.
//!
//! The prefix is public (a job's `submittedBy` shows it) and unique; only the SHA-256 of the
//! secret is stored. Secrets have ~190 bits of entropy, so a fast hash is the right tool (no
//! password-stretching needed) and lookups stay cheap per request.

use chrono::NaiveDateTime;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::db::models::NewApiKey;
use crate::db::{Db, DbError};
use crate::domain::{AccountId, Role, UserId};

/// Length of the public prefix.
pub const PREFIX_LEN: usize = 20;
/// Length of the secret.
pub const SECRET_LEN: usize = 32;

/// A freshly generated key; the only moment its secret exists outside the caller's hands.
#[derive(Clone)]
pub struct IssuedKey {
    /// The public prefix.
    pub prefix: String,
    /// The secret part.
    pub secret: String,
}

impl IssuedKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut part = |n| {
            (&mut rng)
                .sample_iter(Alphanumeric)
                .take(n)
                .map(char::from)
                .collect()
        };
        Self {
            prefix: part(PREFIX_LEN),
            secret: part(SECRET_LEN),
        }
    }

    /// The full key as a client sends it: `PREFIX.SECRET`.
    pub fn full(&self) -> String {
        format!("{}.{}", self.prefix, self.secret)
    }

    /// The row to store for this key.
    pub fn to_row(
        &self,
        user_id: UserId,
        account_id: AccountId,
        role: Role,
        now: NaiveDateTime,
    ) -> NewApiKey {
        NewApiKey {
            prefix: self.prefix.clone(),
            secret_hash: hash_secret(&self.secret),
            user_id,
            account_id,
            role,
            created_at: now,
            expires_at: None,
        }
    }
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedKey({}.***)", self.prefix)
    }
}

/// Hex SHA-256 of a secret, as stored in `api_keys.secret_hash`.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores a new key for `user_id` and returns it (the secret is never stored).
pub async fn create(
    db: &Db,
    user_id: UserId,
    account_id: AccountId,
    role: Role,
    expires_at: Option<NaiveDateTime>,
) -> Result<IssuedKey, DbError> {
    let key = IssuedKey::generate();
    let mut row = key.to_row(user_id, account_id, role, crate::db::now());
    row.expires_at = expires_at;
    db.read(async |c| crate::db::keys::insert(c, &row).await)
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_differ() {
        let a = IssuedKey::generate();
        let b = IssuedKey::generate();
        assert_eq!(a.prefix.len(), PREFIX_LEN);
        assert_eq!(a.secret.len(), SECRET_LEN);
        assert!(a.full().starts_with(&format!("{}.", a.prefix)));
        assert_ne!(a.full(), b.full());
        assert!(!format!("{a:?}").contains(&a.secret));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
