//! Abuse limits on GraphQL documents, each with its own error code: query depth
//! (`QUERY_TOO_DEEP`), complexity (`QUERY_TOO_COMPLEX`, list fields multiplied by their
//! sizes), introspection size (`INTROSPECTION_TOO_LARGE`), introspection when disabled
//! (`INTROSPECTION_DISABLED`), aliases (`TOO_MANY_ALIASES`), root fields
//! (`TOO_MANY_ROOT_FIELDS`), directives on one field (`TOO_MANY_DIRECTIVES`), and undefined or
//! cyclic fragments (`GRAPHQL_VALIDATION_FAILED`).
//!
//! [`Limits::check`] judges the parsed document *before* async-graphql's own checks and
//! validation (which expand fragments without memoizing), from the figures
//! [`super::figures`] computes in time linear in the document's length. Not an async-graphql
//! extension: with any extension registered, async-graphql sends every field of every
//! response through the extension chain (a boxed future and a registry lookup per field).
//! A response carries at most [`MAX_ERRORS`] errors ([`cap_errors`]).

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, Variables};

use super::error::{ApiError, Limit};
use super::figures::{Figures, IntrospectionSizes, Measure};

/// Most errors in one response; the rest are replaced by one error saying how many were
/// dropped (code `TOO_MANY_ERRORS`).
pub const MAX_ERRORS: usize = 100;

/// The limits; every one configurable (see `serve --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of selections.
    pub depth: usize,
    /// Largest complexity (1 per field, list fields multiplied by their size).
    pub complexity: usize,
    /// Largest introspection complexity (1 per field, introspection lists multiplied by the
    /// schema's largest such list): bounds the size of an introspection answer.
    pub introspection_complexity: usize,
    /// Most aliases in one document (counted per use of a fragment).
    pub aliases: usize,
    /// Most fields at the root of an operation.
    pub root_fields: usize,
    /// Most directives on one field, fragment spread or operation.
    pub directives: usize,
    /// Whether `__schema`/`__type` may be asked (refused with `INTROSPECTION_DISABLED` if not).
    pub introspection: bool,
}

impl Limits {
    /// The defaults, written once (`serve`'s flags take theirs from here): depth 15
    /// (GraphiQL's introspection query needs 13), complexity 10 000 (a page of 100 jobs with
    /// every field, user and inputs is ~8 000), introspection complexity 1 000 000 (GraphiQL's
    /// introspection query measures ~240 000 here; its answer is ~100 KB), 30 aliases, 10 root
    /// fields, 10 directives per field, introspection on.
    pub const DEFAULT: Self = Self {
        depth: 15,
        complexity: 10_000,
        introspection_complexity: 1_000_000,
        aliases: 30,
        root_fields: 10,
        directives: 10,
        introspection: true,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Limits {
    /// Refuses a document that breaks a limit, or cannot be measured (undefined or cyclic
    /// fragments). Every operation of the document is judged: async-graphql validates them all.
    pub fn check(
        &self,
        doc: &ExecutableDocument,
        sizes: &IntrospectionSizes,
        variables: &Variables,
    ) -> Result<(), ApiError> {
        let measure = Measure { sizes, variables };
        let operations = measure
            .operations(doc)
            .map_err(|e| ApiError::Limit(Limit::Fragments, e.message()))?;
        let mut aliases: u64 = 0;
        for (_, figures) in &operations {
            self.check_operation(figures)?;
            aliases = aliases.saturating_add(figures.aliases);
        }
        if aliases > as_u64(self.aliases) {
            return Err(ApiError::Limit(
                Limit::Aliases,
                format!(
                    "the document uses {aliases} aliases (fragments counted once per use); \
                     at most {} are allowed",
                    self.aliases
                ),
            ));
        }
        Ok(())
    }

    fn check_operation(&self, f: &Figures) -> Result<(), ApiError> {
        if f.introspects && !self.introspection {
            return Err(ApiError::Limit(
                Limit::IntrospectionDisabled,
                "introspection is disabled on this server".into(),
            ));
        }
        if f.top_fields > as_u64(self.root_fields) {
            return Err(ApiError::Limit(
                Limit::RootFields,
                format!(
                    "an operation selects {} root fields; at most {} are allowed",
                    f.top_fields, self.root_fields
                ),
            ));
        }
        if f.directives > as_u64(self.directives) {
            return Err(ApiError::Limit(
                Limit::Directives,
                format!(
                    "a selection carries {} directives; at most {} are allowed",
                    f.directives, self.directives
                ),
            ));
        }
        if f.depth > as_u64(self.depth) {
            return Err(ApiError::Limit(
                Limit::Depth,
                format!(
                    "the query is nested {} levels deep; at most {} levels are allowed",
                    f.depth, self.depth
                ),
            ));
        }
        if f.complexity > as_u64(self.complexity) {
            return Err(ApiError::Limit(
                Limit::Complexity,
                format!(
                    "the query's complexity is {} (1 per field, list fields multiplied by their \
                     page size); at most {} is allowed: ask for fewer jobs per page or fewer \
                     fields",
                    shown(f.complexity),
                    self.complexity
                ),
            ));
        }
        if f.introspection > as_u64(self.introspection_complexity) {
            return Err(ApiError::Limit(
                Limit::IntrospectionSize,
                format!(
                    "the introspection's complexity is {} (1 per field, its lists multiplied by \
                     the schema's largest); at most {} is allowed: ask for each list once, \
                     without nesting `fields` in `fields`",
                    shown(f.introspection),
                    self.introspection_complexity
                ),
            ));
        }
        Ok(())
    }
}

/// Keeps the first [`MAX_ERRORS`] errors of `response` and says how many more there were.
pub fn cap_errors(mut response: Response) -> Response {
    if response.errors.len() > MAX_ERRORS {
        let dropped = response.errors.len() - MAX_ERRORS;
        response.errors.truncate(MAX_ERRORS);
        let message =
            format!("{dropped} more errors were dropped; at most {MAX_ERRORS} are reported");
        response
            .errors
            .push(ApiError::Limit(Limit::Errors, message).to_server_error());
    }
    response
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A figure as shown to clients: a saturated one is "more than 2^64".
fn shown(n: u64) -> String {
    if n == u64::MAX {
        "more than 18446744073709551615".into()
    } else {
        n.to_string()
    }
}
