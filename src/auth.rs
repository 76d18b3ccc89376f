//! Authentication: `Authorization: ApiKey PREFIX.SECRET` (Modzy's header) becomes a
//! [`Caller`], or an [`AuthError`] that says what is wrong without echoing the secret.
//!
//! Keys are looked up by their public prefix; the SHA-256 of the presented secret is compared
//! with the stored one in constant time. Lookups are cached per prefix for a short TTL
//! (`AUTH_CACHE_TTL_MS`, default 5 s) so an authenticated request costs no extra statement in
//! steady state; a revoked key therefore stops working within that TTL on every replica.
//! Prefixes that match no key are remembered apart, for the same TTL, in a bounded negative
//! cache: random prefixes fill (and at worst reset) that one, never evicting good keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use subtle::ConstantTimeEq;

use crate::db::models::ApiKey;
use crate::db::{Db, DbError};
use crate::domain::{AccountId, KeyId, Role, Scope, UserId};
use crate::keys::hash_secret;

/// Who is calling: the authenticated key and what it may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// `api_keys.id`.
    pub key_id: KeyId,
    /// The key's public prefix.
    pub prefix: String,
    /// The key's user.
    pub user_id: UserId,
    /// The key's account.
    pub account_id: AccountId,
    /// What the key may do.
    pub role: Role,
}

impl Caller {
    /// The accounts this caller's reads and writes are confined to: its own, or every account
    /// for administrators. The one place a scope is derived from a caller.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin => Scope::All,
            Role::User | Role::Worker => Scope::Account(self.account_id),
        }
    }
}

/// Why a request is not authenticated. Each message tells the caller what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `ApiKey PREFIX.SECRET`.
    Malformed,
    /// No such key, or the secret does not match.
    Unknown,
    /// The key was revoked.
    Revoked(NaiveDateTime),
    /// The key expired.
    Expired(NaiveDateTime),
    /// The key store could not be read.
    Unavailable,
}

impl AuthError {
    /// The message sent to the client.
    pub fn message(&self) -> String {
        let at = |t: &NaiveDateTime| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        match self {
            Self::Missing => {
                "missing credentials: send the header `Authorization: ApiKey PREFIX.SECRET`".into()
            }
            Self::Malformed => {
                "malformed Authorization header: expected `ApiKey PREFIX.SECRET`".into()
            }
            Self::Unknown => {
                "unknown API key: check the key, or create one with `job-history keys create`"
                    .into()
            }
            Self::Revoked(t) => format!("this API key was revoked at {}", at(t)),
            Self::Expired(t) => format!("this API key expired at {}", at(t)),
            Self::Unavailable => "the key store is temporarily unavailable; retry shortly".into(),
        }
    }
}

/// Splits an `Authorization` header value into (prefix, secret).
pub fn parse_header(value: &str) -> Result<(&str, &str), AuthError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("apikey") {
        return Err(AuthError::Malformed);
    }
    let (prefix, secret) = token.trim().split_once('.').ok_or(AuthError::Malformed)?;
    let plausible = |s: &str, max| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if !plausible(prefix, 64) || !plausible(secret, 256) {
        return Err(AuthError::Malformed);
    }
    Ok((prefix, secret))
}

/// Checks keys against the database, with a short per-prefix cache.
pub struct Authenticator {
    db: Db,
    ttl: Duration,
    cache: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    /// Prefixes found to match no key, and when.
    unknown: Mutex<HashMap<String, Instant>>,
    /// The secret hash of every key read so far, by prefix: what [`Self::trusts`]
    /// compares with. Apart from `cache`, because a cache entry is stale or locked while it is
    /// read again, and a good key must not count as anonymous traffic meanwhile.
    trusted: Mutex<HashMap<String, String>>,
}

/// A looked-up key (or its absence) and when it was read.
type Cached = (Instant, Option<ApiKey>);

/// Most prefixes kept in the cache; beyond it the cache starts over.
const CACHE_CAPACITY: usize = 10_000;
/// Most unknown prefixes remembered; beyond it that cache starts over.
const UNKNOWN_CAPACITY: usize = 10_000;

/// Locks `m`, recovering the guard if a thread panicked while holding it: every critical
/// section here is one call on a map, which a panic cannot leave half done.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Authenticator {
    /// An authenticator over `db` caching lookups for `ttl` (zero disables the cache).
    pub fn new(db: Db, ttl: Duration) -> Self {
        Self {
            db,
            ttl,
            cache: Mutex::new(HashMap::new()),
            unknown: Mutex::new(HashMap::new()),
            trusted: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `header` carries a key whose secret matched when this authenticator last read
    /// it (without waiting or reading the database): such a request is not anonymous traffic.
    /// Its cache entry may be stale or being read again; authentication still checks the key
    /// as usual.
    pub fn trusts(&self, header: &str) -> bool {
        let Ok((prefix, secret)) = parse_header(header) else {
            return false;
        };
        let Some(hash) = lock(&self.trusted).get(prefix).cloned() else {
            return false;
        };
        hash_secret(secret).as_bytes().ct_eq(hash.as_bytes()).into()
    }

    /// Remembers (or forgets) `prefix`'s key as read just now, for [`Self::trusts`]. A revoked
    /// or expired key stays trusted: the server knows it (a wrong secret is not), its lookups
    /// are cached like any other, and its client must hear `FORBIDDEN`, not a rate limit.
    fn note(&self, prefix: &str, key: Option<&ApiKey>) {
        let mut trusted = lock(&self.trusted);
        match key {
            Some(k) => {
                if trusted.len() >= CACHE_CAPACITY && !trusted.contains_key(prefix) {
                    trusted.clear();
                }
                trusted.insert(prefix.to_string(), k.secret_hash.clone());
            }
            None => {
                trusted.remove(prefix);
            }
        }
    }

    /// Authenticates an `Authorization` header value (or its absence) at instant `now`.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Caller, AuthError> {
        let (prefix, secret) = parse_header(header.ok_or(AuthError::Missing)?)?;
        let key = self.lookup(prefix).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read API keys");
            AuthError::Unavailable
        })?;
        let key = key.ok_or(AuthError::Unknown)?;
        let matches: bool = hash_secret(secret)
            .as_bytes()
            .ct_eq(key.secret_hash.as_bytes())
            .into();
        if !matches {
            return Err(AuthError::Unknown);
        }
        if let Some(t) = key.revoked_at {
            return Err(AuthError::Revoked(t));
        }
        if let Some(t) = key.expires_at.filter(|t| *t <= now) {
            return Err(AuthError::Expired(t));
        }
        Ok(Caller {
            key_id: key.id,
            prefix: key.prefix,
            user_id: key.user_id,
            account_id: key.account_id,
            role: key.role,
        })
    }

    /// The key with `prefix`, from the cache while fresh. Concurrent requests for an expired
    /// (or new) prefix wait for one lookup instead of each running their own: one statement per
    /// prefix per TTL, even under load.
    async fn lookup(&self, prefix: &str) -> Result<Option<ApiKey>, DbError> {
        if self.ttl.is_zero() {
            return self.read(prefix).await;
        }
        if lock(&self.unknown)
            .get(prefix)
            .is_some_and(|at| at.elapsed() < self.ttl)
        {
            return Ok(None);
        }
        let slot = {
            let mut cache = lock(&self.cache);
            if cache.len() >= CACHE_CAPACITY && !cache.contains_key(prefix) {
                cache.clear();
            }
            Arc::clone(cache.entry(prefix.to_string()).or_default())
        };
        let mut entry = slot.lock().await;
        if let Some((at, key)) = entry.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(key.clone());
        }
        let key = self.read(prefix).await?;
        if key.is_none() {
            // Remembered apart, so unknown prefixes never crowd out good keys.
            *entry = None;
            lock(&self.cache).remove(prefix);
            let mut unknown = lock(&self.unknown);
            if unknown.len() >= UNKNOWN_CAPACITY {
                unknown.clear();
            }
            unknown.insert(prefix.to_string(), Instant::now());
            return Ok(None);
        }
        *entry = Some((Instant::now(), key.clone()));
        Ok(key)
    }

    async fn read(&self, prefix: &str) -> Result<Option<ApiKey>, DbError> {
        let key = self
            .db
            .read(async |c| crate::db::keys::by_prefix(c, prefix).await)
            .await?;
        self.note(prefix, key.as_ref());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_strictly() {
        assert_eq!(parse_header("ApiKey abc.def"), Ok(("abc", "def")));
        assert_eq!(parse_header("apikey  abc.def "), Ok(("abc", "def")));
        for bad in [
            "",
            "ApiKey",
            "Bearer abc.def",
            "ApiKey abcdef",
            "ApiKey .def",
            "ApiKey abc.",
            "ApiKey a-b.c",
            "ApiKey abc.d ef",
        ] {
            assert_eq!(parse_header(bad), Err(AuthError::Malformed), "{bad:?}");
        }
    }

    /// (That no message repeats a secret is shown with real bad keys over HTTP and the
    /// websocket, logs included: `tests/secrets.rs`.)
    #[test]
    fn an_expired_key_says_when() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        assert_eq!(
            AuthError::Expired(t).message(),
            "this API key expired at 2026-01-02T03:04:05Z"
        );
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let m = Mutex::new(HashMap::<String, Instant>::new());
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = m.lock().unwrap();
            panic!("a request panicked while holding the lock");
        }));
        assert!(m.is_poisoned());
        lock(&m).insert("p".into(), Instant::now());
        assert_eq!(lock(&m).len(), 1);
    }

    #[test]
    fn admins_are_not_confined_to_an_account() {
        let c = Caller {
            key_id: KeyId(1),
            prefix: "p".into(),
            user_id: UserId(2),
            account_id: AccountId(3),
            role: Role::User,
        };
        assert_eq!(c.scope(), Scope::Account(AccountId(3)));
        assert_eq!(
            Caller {
                role: Role::Admin,
                ..c.clone()
            }
            .scope(),
            Scope::All
        );
        assert_eq!(
            Caller {
                role: Role::Worker,
                ..c
            }
            .scope(),
            Scope::Account(AccountId(3))
        );
    }
}
