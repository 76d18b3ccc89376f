//! Abuse limits on GraphQL documents, each with its own error code: query depth
//! (`QUERY_TOO_DEEP`), introspection when disabled (`INTROSPECTION_DISABLED`), complexity (`QUERY_TOO_COMPLEX`, with list fields multiplied by their
//! page sizes), aliases (`TOO_MANY_ALIASES`) and root fields (`TOO_MANY_ROOT_FIELDS`).
//!
//! Not an async-graphql extension: with any extension registered, async-graphql sends every
//! field of every response through the extension chain (a boxed future and a registry lookup
//! per field, ~2 600 fields on a 50-job page). Instead [`Limits::check`] inspects the parsed
//! document before execution (parsed once, by [`super::documents`]), depth and complexity are async-graphql's own limits (they need the schema's complexity
//! formulas), and [`Limits::explain`] gives their errors our codes and messages.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError};

/// The limits; every one configurable (see `serve --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of selections.
    pub depth: usize,
    /// Largest complexity (1 per field, list fields multiplied by their size).
    pub complexity: usize,
    /// Most aliases in one document.
    pub aliases: usize,
    /// Most fields at the root of an operation.
    pub root_fields: usize,
    /// Whether `__schema`/`__type` may be asked (refused with `INTROSPECTION_DISABLED` if not).
    pub introspection: bool,
}

impl Default for Limits {
    /// Depth 15 (GraphiQL's introspection query needs 13), complexity 10 000 (a page of 100
    /// jobs with every field, user and inputs is ~8 000), 30 aliases, 10 root fields.
    fn default() -> Self {
        Self {
            depth: 15,
            complexity: 10_000,
            aliases: 30,
            root_fields: 10,
            introspection: true,
        }
    }
}

/// async-graphql's messages for its depth and complexity limits (`validation/mod.rs`, 7.x).
const TOO_COMPLEX: &str = "Query is too complex.";
const TOO_DEEP: &str = "Query is nested too deep.";

impl Limits {
    /// Refuses a document with too many aliases or root fields, or asking for introspection
    /// when it is disabled.
    pub fn check(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        let mut aliases: usize = doc
            .fragments
            .values()
            .map(|f| count_aliases(&f.node.selection_set.node))
            .sum();
        for (_, op) in doc.operations.iter() {
            let set = &op.node.selection_set.node;
            aliases += count_aliases(set);
            let introspects = set.items.iter().any(|item| {
                matches!(&item.node, Selection::Field(f) if matches!(f.node.name.node.as_str(), "__schema" | "__type"))
            });
            if introspects && !self.introspection {
                return Err(limit_error(
                    "INTROSPECTION_DISABLED",
                    "introspection is disabled on this server".into(),
                ));
            }
            if set.items.len() > self.root_fields {
                return Err(limit_error(
                    "TOO_MANY_ROOT_FIELDS",
                    format!(
                        "an operation selects {} root fields; at most {} are allowed",
                        set.items.len(),
                        self.root_fields
                    ),
                ));
            }
        }
        if aliases > self.aliases {
            return Err(limit_error(
                "TOO_MANY_ALIASES",
                format!(
                    "the document uses {aliases} aliases; at most {} are allowed",
                    self.aliases
                ),
            ));
        }
        Ok(())
    }

    /// Gives async-graphql's depth and complexity refusals in `response` our codes and
    /// messages saying what the limit is and what to do.
    pub fn explain(&self, mut response: Response) -> Response {
        for error in &mut response.errors {
            if error.extensions.is_some() {
                continue;
            }
            if error.message == TOO_DEEP {
                *error = limit_error(
                    "QUERY_TOO_DEEP",
                    format!(
                        "the query is nested too deeply; at most {} levels are allowed",
                        self.depth
                    ),
                );
            } else if error.message == TOO_COMPLEX {
                *error = limit_error(
                    "QUERY_TOO_COMPLEX",
                    format!(
                        "the query is too complex (1 per field, list fields multiplied by their page size); at most {} is allowed: ask for fewer jobs per page or fewer fields",
                        self.complexity
                    ),
                );
            }
        }
        response
    }
}

fn limit_error(code: &'static str, message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    e
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0, // each fragment definition is counted once
        })
        .sum()
}
