//! Abuse limits on GraphQL documents, each with its own error code: query depth
//! (`QUERY_TOO_DEEP`), introspection when disabled (`INTROSPECTION_DISABLED`), complexity (`QUERY_TOO_COMPLEX`, with list fields multiplied by their
//! page sizes), aliases (`TOO_MANY_ALIASES`) and root fields (`TOO_MANY_ROOT_FIELDS`).
//! Implemented as an async-graphql extension so the messages and codes are ours.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

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
            Selection::FragmentSpread(_) => 0, // fragment definitions are counted once below
        })
        .sum()
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for Limits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
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
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.depth > self.depth {
            return Err(vec![limit_error(
                "QUERY_TOO_DEEP",
                format!(
                    "the query is nested {} levels deep; at most {} are allowed",
                    result.depth, self.depth
                ),
            )]);
        }
        if result.complexity > self.complexity {
            return Err(vec![limit_error(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query's complexity is {} (fields × page sizes); at most {} is allowed: ask for fewer jobs per page or fewer fields",
                    result.complexity, self.complexity
                ),
            )]);
        }
        Ok(result)
    }
}
