//! The one error type of the service: every refusal and failure a client can see, whatever
//! produced it (a resolver, the document limits, the admission pipeline, the HTTP handler or
//! the layers around it) and whatever carries it (HTTP, the websocket, the REST routes). Each
//! variant has a stable `extensions.code`, the HTTP status it is answered with when it is the
//! whole answer, and a public message; clients branch on the code, people read the message.
//! Database and internal details are logged with a correlation id and never sent: the client
//! sees the id, operators grep for it.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error by its text alone, which would drop the code and could leak internals.
//! The ways out are [`ApiError::to_server_error`] and the `From<ApiError>` below, which both
//! go through [`ApiError::public_message`].

use std::sync::Arc;

use async_graphql::{ErrorExtensions, ServerError};

use crate::auth::AuthError;
use crate::db::DbError;
use crate::db::health::{Failure, classify};

/// An error a client is told about.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The request's arguments are wrong; the message says how to fix them.
    BadUserInput(String),
    /// The thing asked for does not exist (or is not visible to the caller).
    NotFound(String),
    /// No valid credentials.
    Unauthenticated(String),
    /// Valid credentials without the right.
    Forbidden(String),
    /// The change does not apply to the object's current state.
    Conflict(String),
    /// A subscriber fell behind (or the event listener reconnected) and missed events.
    EventsMissed(String),
    /// The database is down or overloaded; retrying later may succeed.
    Unavailable(Arc<DbError>),
    /// The database gave up on a statement (PostgreSQL `statement_timeout`).
    Timeout(Arc<DbError>),
    /// A bug or an unexpected failure.
    Internal(Arc<anyhow::Error>),
    /// The HTTP request cannot be served as sent (code `BAD_REQUEST`): malformed (400), in a
    /// media type not accepted (415), or asking for one not offered (406).
    BadRequest {
        /// The HTTP status: 400, 406, 415, or what an outer layer answered.
        status: u16,
        /// What to change.
        message: String,
    },
    /// The HTTP method is not allowed (405, code `BAD_REQUEST`).
    MethodNotAllowed {
        /// The `Allow` header: the methods that are.
        allow: &'static str,
        /// What to change.
        message: String,
    },
    /// The request body is over the limit (413, code `PAYLOAD_TOO_LARGE`).
    PayloadTooLarge(String),
    /// The request as a whole ran out of time and was abandoned (504, code `TIMEOUT`).
    RequestTimeout(String),
    /// Over a rate limit (429, code `RATE_LIMITED`).
    RateLimited {
        /// Seconds to wait before retrying (`Retry-After`).
        retry_after: u64,
        /// Whose rate, and when to retry.
        message: String,
    },
    /// Something the service needs is briefly unavailable, with nothing to log (503, code
    /// `SERVICE_UNAVAILABLE`): the key store could not be read.
    ServiceUnavailable(String),
    /// A document or connection over one of the abuse limits, with the limit's own code.
    Limit(Limit, String),
}

/// The abuse limits, each with its own `extensions.code` ([`super::limits`], the websocket).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Undefined or cyclic fragments: the document cannot be measured.
    Fragments,
    /// Introspection asked while disabled.
    IntrospectionDisabled,
    /// Too many root fields in an operation.
    RootFields,
    /// Too many directives on one selection.
    Directives,
    /// Nested too deep.
    Depth,
    /// Too complex.
    Complexity,
    /// An introspection too large.
    IntrospectionSize,
    /// Too many aliases.
    Aliases,
    /// More errors than one response reports.
    Errors,
    /// Too many operations running on one websocket.
    Operations,
    /// Too many websockets open for one key.
    Connections,
}

impl Limit {
    /// The stable `extensions.code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fragments => "GRAPHQL_VALIDATION_FAILED",
            Self::IntrospectionDisabled => "INTROSPECTION_DISABLED",
            Self::RootFields => "TOO_MANY_ROOT_FIELDS",
            Self::Directives => "TOO_MANY_DIRECTIVES",
            Self::Depth => "QUERY_TOO_DEEP",
            Self::Complexity => "QUERY_TOO_COMPLEX",
            Self::IntrospectionSize => "INTROSPECTION_TOO_LARGE",
            Self::Aliases => "TOO_MANY_ALIASES",
            Self::Errors => "TOO_MANY_ERRORS",
            Self::Operations => "TOO_MANY_OPERATIONS",
            Self::Connections => "TOO_MANY_CONNECTIONS",
        }
    }
}

/// Websocket close codes (graphql-transport-ws and RFC 6455) an error closes a socket with.
pub mod close {
    /// Forbidden: the key is bad, missing, revoked or expired.
    pub const FORBIDDEN: u16 = 4403;
    /// Too many initialisation requests, or too many sockets or requests for the key.
    pub const TOO_MANY: u16 = 4429;
    /// The server cannot serve the connection (RFC 6455 internal error).
    pub const INTERNAL: u16 = 1011;
}

impl ApiError {
    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Conflict(_) => "CONFLICT",
            Self::EventsMissed(_) => "EVENTS_MISSED",
            Self::Unavailable(_) | Self::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Timeout(_) | Self::RequestTimeout(_) => "TIMEOUT",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
            Self::BadRequest { .. } | Self::MethodNotAllowed { .. } => "BAD_REQUEST",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Limit(limit, _) => limit.code(),
        }
    }

    /// The HTTP status when this error is the whole answer (a refusal before execution, or a
    /// REST route); errors inside an executed GraphQL response travel with a 200.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadUserInput(_) | Self::Limit(..) => 400,
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            // The events are gone for good: resubscribe and read the current state.
            Self::EventsMissed(_) => 410,
            Self::Unavailable(_) | Self::ServiceUnavailable(_) => 503,
            Self::Timeout(_) | Self::RequestTimeout(_) => 504,
            Self::Internal(_) => 500,
            Self::BadRequest { status, .. } => *status,
            Self::MethodNotAllowed { .. } => 405,
            Self::PayloadTooLarge(_) => 413,
            Self::RateLimited { .. } => 429,
        }
    }

    /// The message a client sees (without the error id [`Self::public_message`] adds).
    pub fn message(&self) -> String {
        match self {
            Self::BadUserInput(m)
            | Self::NotFound(m)
            | Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::EventsMissed(m)
            | Self::PayloadTooLarge(m)
            | Self::RequestTimeout(m)
            | Self::ServiceUnavailable(m)
            | Self::Limit(_, m)
            | Self::BadRequest { message: m, .. }
            | Self::MethodNotAllowed { message: m, .. }
            | Self::RateLimited { message: m, .. } => m.clone(),
            Self::Unavailable(e) => match e.refusal() {
                Some(refusal) => refusal.to_string(),
                None => "the service is temporarily unavailable; retry shortly".into(),
            },
            Self::Timeout(_) => {
                "the query took too long and was canceled: narrow the filter or ask for fewer jobs"
                    .into()
            }
            Self::Internal(_) => "internal server error".into(),
        }
    }

    /// The seconds to wait before retrying (`Retry-After`), when waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The close code of a websocket this error ends.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) | Self::Forbidden(_) => close::FORBIDDEN,
            Self::RateLimited { .. } | Self::Limit(..) => close::TOO_MANY,
            _ => close::INTERNAL,
        }
    }

    /// The message as sent: for a failure with a cause (database or internal), the cause is
    /// logged here with a new error id, and the message names the id.
    pub fn public_message(&self) -> String {
        let message = self.message();
        match self {
            Self::Unavailable(_) | Self::Timeout(_) | Self::Internal(_) => {
                let id = uuid::Uuid::new_v4();
                let code = self.code();
                tracing::error!(error_id = %id, code, error = ?self, "request failed");
                format!("{message} (error id {id})")
            }
            _ => message,
        }
    }

    /// As a GraphQL error with its code, for a response's `errors`.
    pub fn to_server_error(&self) -> ServerError {
        let mut error = ServerError::new(self.public_message(), None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", self.code());
        error
    }

    /// An internal failure with its (logged, never sent) cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(Arc::new(anyhow::anyhow!("{cause}")))
    }

    /// Shorthand for [`ApiError::BadUserInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }

    /// A malformed HTTP request (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            status: 400,
            message: message.into(),
        }
    }

    /// Over the rate of the caller's API key.
    pub fn key_rate_limited(retry_after: u64) -> Self {
        Self::RateLimited {
            retry_after,
            message: format!("rate limit exceeded for this API key: retry in {retry_after} s"),
        }
    }

    /// Over the rate of requests without a valid key from one client address.
    pub fn address_rate_limited(retry_after: u64) -> Self {
        Self::RateLimited {
            retry_after,
            message: format!(
                "too many requests without a valid API key from this address: retry in \
                 {retry_after} s, or send `Authorization: ApiKey PREFIX.SECRET`"
            ),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable => Self::ServiceUnavailable(e.message()),
            e => Self::Unauthenticated(e.message()),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        let failure = match &e {
            DbError::Query(query) => classify(query),
            DbError::Unavailable(_) => None,
        };
        // The database's own state (busy, read-only, full, restarting) is the client's to
        // retry or report, not a bug: SERVICE_UNAVAILABLE with a message saying which.
        match (failure, e) {
            (Some(Failure::StatementTimeout), e) => Self::Timeout(Arc::new(e)),
            (Some(Failure::State(_)), e) | (None, e @ DbError::Unavailable(_)) => {
                Self::Unavailable(Arc::new(e))
            }
            (Some(Failure::NulInText), _) => Self::BadUserInput(
                "text arguments must not contain the NUL character (U+0000): remove it".into(),
            ),
            (None, DbError::Query(e)) => Self::Internal(Arc::new(e.into())),
        }
    }
}

impl From<crate::db::lifecycle::LifecycleError> for ApiError {
    fn from(e: crate::db::lifecycle::LifecycleError) -> Self {
        use crate::db::lifecycle::LifecycleError as L;
        let message = e.to_string();
        match e {
            L::UnknownModel { .. } => Self::BadUserInput(message),
            L::JobNotFound(_) | L::InputNotFound { .. } => Self::NotFound(message),
            L::WrongStatus { .. } | L::AlreadyReported { .. } => Self::Conflict(message),
            L::Db(e) => e.into(),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let code = e.code();
        async_graphql::Error::new(e.public_message()).extend_with(|_, ext| ext.set("code", code))
    }
}

/// Result of a resolver.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(e: ApiError) -> (String, String) {
        let e: async_graphql::Error = e.into();
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|v| v.to_string());
        (code.unwrap_or_default(), e.message)
    }

    fn server_code_of(e: &ApiError) -> (String, String) {
        let e = e.to_server_error();
        let code = e.extensions.as_ref().and_then(|x| x.get("code"));
        (code.map(|v| v.to_string()).unwrap_or_default(), e.message)
    }

    /// One example of every variant.
    fn examples() -> Vec<ApiError> {
        let db = || Arc::new(DbError::Unavailable("pool".into()));
        vec![
            ApiError::bad_input("x"),
            ApiError::NotFound("x".into()),
            ApiError::Unauthenticated("x".into()),
            ApiError::Forbidden("x".into()),
            ApiError::Conflict("x".into()),
            ApiError::EventsMissed("x".into()),
            ApiError::Unavailable(db()),
            ApiError::Timeout(db()),
            ApiError::internal("x"),
            ApiError::BadRequest {
                status: 406,
                message: "x".into(),
            },
            ApiError::MethodNotAllowed {
                allow: "POST",
                message: "x".into(),
            },
            ApiError::PayloadTooLarge("x".into()),
            ApiError::RequestTimeout("x".into()),
            ApiError::key_rate_limited(3),
            ApiError::ServiceUnavailable("x".into()),
            ApiError::Limit(Limit::Depth, "x".into()),
        ]
    }

    /// Writes `expected` (an exhaustive `match`: a new variant does not compile without its
    /// case) and counts its arms into `CASES`, so the test below fails until [`examples`] has
    /// one of the new variant too.
    macro_rules! cases {
        ($($pattern:pat => $expected:expr,)*) => {
            const CASES: usize = [$(stringify!($pattern)),*].len();

            /// What each variant must answer: (code, status, close code, error id sent).
            fn expected(e: &ApiError) -> (&'static str, u16, u16, bool) {
                use close::*;
                match e {
                    $($pattern => $expected,)*
                }
            }
        };
    }

    cases! {
        ApiError::BadUserInput(_) => ("BAD_USER_INPUT", 400, INTERNAL, false),
        ApiError::NotFound(_) => ("NOT_FOUND", 404, INTERNAL, false),
        ApiError::Unauthenticated(_) => ("UNAUTHENTICATED", 401, FORBIDDEN, false),
        ApiError::Forbidden(_) => ("FORBIDDEN", 403, FORBIDDEN, false),
        ApiError::Conflict(_) => ("CONFLICT", 409, INTERNAL, false),
        ApiError::EventsMissed(_) => ("EVENTS_MISSED", 410, INTERNAL, false),
        ApiError::Unavailable(_) => ("SERVICE_UNAVAILABLE", 503, INTERNAL, true),
        ApiError::Timeout(_) => ("TIMEOUT", 504, INTERNAL, true),
        ApiError::Internal(_) => ("INTERNAL_SERVER_ERROR", 500, INTERNAL, true),
        ApiError::BadRequest { .. } => ("BAD_REQUEST", 406, INTERNAL, false),
        ApiError::MethodNotAllowed { .. } => ("BAD_REQUEST", 405, INTERNAL, false),
        ApiError::PayloadTooLarge(_) => ("PAYLOAD_TOO_LARGE", 413, INTERNAL, false),
        ApiError::RequestTimeout(_) => ("TIMEOUT", 504, INTERNAL, false),
        ApiError::RateLimited { .. } => ("RATE_LIMITED", 429, TOO_MANY, false),
        ApiError::ServiceUnavailable(_) => ("SERVICE_UNAVAILABLE", 503, INTERNAL, false),
        ApiError::Limit(..) => ("QUERY_TOO_DEEP", 400, TOO_MANY, false),
    }

    #[test]
    fn every_variant_has_its_code_status_and_message() {
        let examples = examples();
        let variants: std::collections::HashSet<_> =
            examples.iter().map(std::mem::discriminant).collect();
        assert_eq!(
            (examples.len(), variants.len()),
            (CASES, CASES),
            "one example of every variant"
        );
        for e in examples {
            let (code, status, close_code, with_id) = expected(&e);
            assert_eq!(
                (e.code(), e.status(), e.close_code()),
                (code, status, close_code)
            );
            for (sent_code, message) in [code_of(e.clone()), server_code_of(&e)] {
                assert_eq!(sent_code, format!("\"{code}\""), "{e:?}");
                assert_eq!(message.contains("(error id "), with_id, "{message}");
                assert!(message.starts_with(&e.message()), "{message}");
            }
        }
        assert_eq!(ApiError::key_rate_limited(3).retry_after(), Some(3));
        assert_eq!(ApiError::bad_input("x").retry_after(), None);
    }

    #[test]
    fn every_limit_has_its_own_code() {
        use Limit::*;
        let all = [
            Fragments,
            IntrospectionDisabled,
            RootFields,
            Directives,
            Depth,
            Complexity,
            IntrospectionSize,
            Aliases,
            Errors,
            Operations,
            Connections,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|l| l.code()).collect();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn auth_errors_are_unauthenticated_unless_the_store_is_down() {
        let e = ApiError::from(AuthError::Unknown);
        assert_eq!(e.code(), "UNAUTHENTICATED");
        assert!(e.message().contains("unknown API key"));
        assert_eq!(
            ApiError::from(AuthError::Unavailable).code(),
            "SERVICE_UNAVAILABLE"
        );
    }

    #[test]
    fn nul_in_text_is_the_callers_error() {
        use diesel::result::{DatabaseErrorKind, Error};
        let refused = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(r#"invalid byte sequence for encoding "UTF8": 0x00"#.to_string()),
        );
        let (code, message) = code_of(refused.into());
        assert_eq!(code, "\"BAD_USER_INPUT\"");
        assert!(message.contains("U+0000"), "{message}");
    }

    #[test]
    fn database_states_are_unavailable_with_their_reason() {
        let locked = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("attempt to write a readonly database".to_string()),
        );
        let (code, message) = code_of(locked.into());
        assert_eq!(code, "\"SERVICE_UNAVAILABLE\"");
        assert!(message.contains("read-only"), "{message}");
        assert!(!message.contains("readonly database"), "{message}");
    }

    #[test]
    fn internal_details_are_not_sent() {
        let (code, message) =
            code_of(diesel::result::Error::QueryBuilderError("secret table jobs_x".into()).into());
        assert_eq!(code, "\"INTERNAL_SERVER_ERROR\"");
        assert!(
            message.starts_with("internal server error (error id "),
            "{message}"
        );
        assert!(!message.contains("jobs_x"));
    }
}
