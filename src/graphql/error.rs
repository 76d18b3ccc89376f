//! The one error type of the API. Each variant has a stable `extensions.code`; clients branch on
//! the code, people read the message. Database and internal details are logged with a
//! correlation id and never sent: the client sees the id, operators grep for it.

//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error by its text alone, which would drop the code and could leak internals.
//! The only way out of a resolver is the `From<ApiError>` below.

use std::sync::Arc;

use async_graphql::ErrorExtensions;

use crate::db::DbError;

/// An error a resolver returns.
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
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Timeout(_) => "TIMEOUT",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message a client sees.
    pub fn message(&self) -> String {
        match self {
            Self::BadUserInput(m)
            | Self::NotFound(m)
            | Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::EventsMissed(m) => m.clone(),
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

    /// An internal failure with its (logged, never sent) cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(Arc::new(anyhow::anyhow!("{cause}")))
    }

    /// Shorthand for [`ApiError::BadUserInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        let message = match &e {
            DbError::Query(diesel::result::Error::DatabaseError(_, info)) => info.message(),
            _ => "",
        };
        let timed_out = message.contains("statement timeout");
        // PostgreSQL refuses U+0000 in text (SQLite stores it): the caller's text, not a fault.
        let nul = message.contains("invalid byte sequence") && message.contains("0x00");
        // The database's own state (busy, read-only, full, restarting) is the client's to
        // retry or report, not a bug: SERVICE_UNAVAILABLE with a message saying which.
        match e {
            _ if timed_out => Self::Timeout(Arc::new(e)),
            _ if e.refusal().is_some() => Self::Unavailable(Arc::new(e)),
            DbError::Unavailable(_) => Self::Unavailable(Arc::new(e)),
            DbError::Query(_) if nul => Self::BadUserInput(
                "text arguments must not contain the NUL character (U+0000): remove it".into(),
            ),
            DbError::Query(e) => Self::Internal(Arc::new(e.into())),
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
        let mut message = e.message();
        if let ApiError::Unavailable(_) | ApiError::Timeout(_) | ApiError::Internal(_) = &e {
            let id = uuid::Uuid::new_v4();
            tracing::error!(error_id = %id, code, error = ?e, "request failed");
            message = format!("{message} (error id {id})");
        }
        async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
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

    #[test]
    fn every_variant_has_its_code() {
        assert_eq!(code_of(ApiError::bad_input("x")).0, "\"BAD_USER_INPUT\"");
        assert_eq!(code_of(ApiError::NotFound("x".into())).0, "\"NOT_FOUND\"");
        assert_eq!(
            code_of(ApiError::Unauthenticated("x".into())).0,
            "\"UNAUTHENTICATED\""
        );
        assert_eq!(code_of(ApiError::Forbidden("x".into())).0, "\"FORBIDDEN\"");
        let (code, _) = code_of(DbError::Unavailable("pool".into()).into());
        assert_eq!(code, "\"SERVICE_UNAVAILABLE\"");
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
