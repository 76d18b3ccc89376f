//! The one way a GraphQL operation gets in, whatever its transport: [`AppState::admit`]
//! authenticates the caller (or lets an anonymous introspection through), counts requests
//! without a valid key against their client address, and applies the key's rate limit; then
//! [`crate::graphql::execute`] / [`crate::graphql::execute_stream`] attach the caller and
//! per-request loaders and judge the document. HTTP (`graphql.rs`) and the websocket (`ws.rs`)
//! both call these, and only turn a refusal — an [`ApiError`] (`UNAUTHENTICATED`,
//! `RATE_LIMITED`, `SERVICE_UNAVAILABLE`) — into their own wire form (a status code and
//! headers, an error message on the socket, a close code).

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::{AuthError, Caller};
use crate::graphql::error::ApiError;

use super::AppState;

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
    ) -> Result<Option<Caller>, ApiError> {
        // Requests that do not carry a key the server already trusts count against their
        // address before anything reads the database.
        let trusted = authorization.is_some_and(|a| self.auth.trusts(a));
        if !trusted
            && let (Some(limiter), Some(ip)) = (&self.address_limiter, client)
            && let Err(wait) = limiter.check(&ip.to_string())
        {
            return Err(ApiError::address_rate_limited(seconds(wait)));
        }
        let caller = match self
            .auth
            .authenticate(authorization, crate::db::now())
            .await
        {
            Ok(caller) => caller,
            Err(AuthError::Missing) if anonymous() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if let Some(limiter) = &self.limiter
            && let Err(wait) = limiter.check(&caller.prefix)
        {
            return Err(ApiError::key_rate_limited(seconds(wait)));
        }
        Ok(Some(caller))
    }
}
