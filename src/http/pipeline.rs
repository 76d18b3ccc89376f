//! The one way a GraphQL operation gets in, whatever its transport: [`AppState::admit`]
//! authenticates the caller (or lets an anonymous introspection through), counts requests
//! without a valid key against their client address, and applies the key's rate limit; then
//! [`crate::graphql::execute`] / [`crate::graphql::execute_stream`] attach the caller and
//! per-request loaders and judge the document. HTTP (`graphql.rs`) and the websocket (`ws.rs`)
//! both call these, and only turn a [`Refusal`] into their own wire form (a status code, an
//! error message on the socket, a close code).

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::{AuthError, Caller};

use super::AppState;

/// Why an operation is not admitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No valid key (`UNAUTHENTICATED`).
    Unauthenticated(AuthError),
    /// The key store cannot be read (`SERVICE_UNAVAILABLE`).
    Unavailable,
    /// Over the key's rate (`RATE_LIMITED`); retry after this many seconds.
    RateLimited(u64),
    /// Over the rate of requests without a valid key from one address (`RATE_LIMITED`).
    AddressLimited(u64),
}

impl Refusal {
    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Unavailable => "SERVICE_UNAVAILABLE",
            Self::RateLimited(_) | Self::AddressLimited(_) => "RATE_LIMITED",
        }
    }

    /// What to tell the client.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(e) => e.message(),
            Self::Unavailable => AuthError::Unavailable.message(),
            Self::RateLimited(s) => {
                format!("rate limit exceeded for this API key: retry in {s} s")
            }
            Self::AddressLimited(s) => format!(
                "too many requests without a valid API key from this address: retry in {s} s, or send `Authorization: ApiKey PREFIX.SECRET`"
            ),
        }
    }

    /// The seconds to wait before retrying, when waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited(s) | Self::AddressLimited(s) => Some(*s),
            _ => None,
        }
    }

    /// As a GraphQL error with its code.
    pub fn to_server_error(&self) -> async_graphql::ServerError {
        crate::graphql::limits::limit_error(self.code(), self.message())
    }
}

fn seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl AppState {
    /// Admits one operation sent with `authorization` from `client` (when known). Without a
    /// key, `anonymous` says whether the operation may run anyway (pure introspection); it is
    /// only asked then. `Ok(None)`: admitted without a caller.
    pub async fn admit(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
        anonymous: impl FnOnce() -> bool,
    ) -> Result<Option<Caller>, Refusal> {
        // Requests that do not carry a key the server already trusts count against their
        // address before anything reads the database.
        let trusted = authorization.is_some_and(|a| self.auth.trusts(a));
        if !trusted
            && let (Some(limiter), Some(ip)) = (&self.address_limiter, client)
            && let Err(wait) = limiter.check(&ip.to_string())
        {
            return Err(Refusal::AddressLimited(seconds(wait)));
        }
        let caller = match self
            .auth
            .authenticate(authorization, crate::db::now())
            .await
        {
            Ok(caller) => caller,
            Err(AuthError::Missing) if anonymous() => return Ok(None),
            Err(AuthError::Unavailable) => return Err(Refusal::Unavailable),
            Err(e) => return Err(Refusal::Unauthenticated(e)),
        };
        if let Some(limiter) = &self.limiter
            && let Err(wait) = limiter.check(&caller.prefix)
        {
            return Err(Refusal::RateLimited(seconds(wait)));
        }
        Ok(Some(caller))
    }
}
