//! The errors of every GraphQL answer, on every transport: each leaves here with a stable
//! `extensions.code` and a message a person can act on. Our resolvers give theirs
//! (`error.rs`) and the abuse limits theirs (`limits.rs`); what is left is what async-graphql
//! reports itself, in its own words and without a code:
//!
//! - the document does not parse: `GRAPHQL_PARSE_FAILED`, "syntax error at line 1, column 17:
//!   expected name" (not pest's ` --> 1:17 … = expected name`);
//! - it does not fit the schema (an unknown field, argument or type, a literal of the wrong
//!   type, …): `GRAPHQL_VALIDATION_FAILED`, async-graphql's message, naming the field and type;
//! - a value the client supplies is not acceptable (any value from a variable, a `DateTime` or
//!   `Long` in the wrong format): `BAD_USER_INPUT`, the argument path
//!   (`filter.createdAt.from`) and what is expected;
//! - `operationName` names no operation, or is missing among several:
//!   `OPERATION_RESOLUTION_FAILURE`, async-graphql's message;
//! - a subscription sent over HTTP: `BAD_REQUEST`, saying where subscriptions are served;
//! - anything else (a bug): `INTERNAL_SERVER_ERROR`, logged with an error id; only the id is
//!   sent.
//!
//! `locations` and `path` stay as async-graphql gives them (the specification's form). Errors
//! are rare: an answer without one returns at once, and the document is looked at only for an
//! argument's error.

use std::sync::Arc;

use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Name, Pos, Positioned, Response, ServerError};
use async_graphql_value::Value;

use super::error::ApiError;
use super::scalars;

/// Gives every error of `response` a code and a readable message. `document` returns the
/// executed document (`None` if it does not parse); it is called at most once, and only when
/// an argument's error needs it.
pub fn response(
    mut response: Response,
    document: impl FnOnce() -> Option<Arc<ExecutableDocument>>,
) -> Response {
    // async-graphql reads arguments twice before execution: validation reports a bad one with
    // its path, and the complexity count then fails on the same value in its own words.
    if response
        .errors
        .iter()
        .any(|e| e.message.starts_with(INVALID_ARGUMENT))
    {
        response
            .errors
            .retain(|e| has_code(e) || !e.path.is_empty() || !is_value_error(&e.message));
    }
    let mut document = Some(document);
    let mut doc: Option<Arc<ExecutableDocument>> = None;
    for error in &mut response.errors {
        if has_code(error) {
            continue;
        }
        if needs_document(&error.message)
            && let Some(get) = document.take()
        {
            doc = get();
        }
        let (code, message) = classify(error, doc.as_deref());
        if let Some(message) = message {
            error.message = message;
        }
        error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code);
    }
    response
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
}

const INVALID_ARGUMENT: &str = "Invalid value for argument ";
const FAILED_TO_PARSE: &str = "Failed to parse \"";
const EXPECTED_INPUT_TYPE: &str = "Expected input type \"";

/// async-graphql's words for a value its input type rejected (`InputValueError`).
fn is_value_error(message: &str) -> bool {
    message.starts_with(FAILED_TO_PARSE) || message.starts_with(EXPECTED_INPUT_TYPE)
}

fn needs_document(message: &str) -> bool {
    message.starts_with(INVALID_ARGUMENT) || is_value_error(message)
}

/// async-graphql-parser's messages for documents that parse but cannot be used (7.x, its
/// `Display for Error`; duplicated names are matched apart).
const PARSER_MESSAGES: &[&str] = &[
    "document contains multiple operations",
    "document does not contain an operation",
    "recursion limit exceeded.",
];

/// The code of an error async-graphql reported, and the message to send instead of its own
/// (`None`: its own is readable).
fn classify(
    error: &ServerError,
    doc: Option<&ExecutableDocument>,
) -> (&'static str, Option<String>) {
    let message = error.message.as_str();
    let at = error.locations.first().copied();
    if let Some(syntax) = syntax_error(message, at) {
        return ("GRAPHQL_PARSE_FAILED", Some(syntax));
    }
    if PARSER_MESSAGES.contains(&message)
        || ((message.starts_with("operation ") || message.starts_with("fragment "))
            && message.ends_with(" is defined twice"))
    {
        return ("GRAPHQL_PARSE_FAILED", None);
    }
    if let Some(rest) = message.strip_prefix(INVALID_ARGUMENT) {
        return invalid_argument(rest, at, doc);
    }
    if is_value_error(message) {
        // A value async-graphql could not read (validation let it through).
        let reason = parse_failure_reason(message);
        let message = match at
            .zip(doc)
            .and_then(|(pos, doc)| argument_valued_at(doc, pos))
        {
            Some(name) => format!("invalid value for argument \"{name}\": {reason}"),
            None => format!("invalid value: {reason}"),
        };
        return ("BAD_USER_INPUT", Some(message));
    }
    if message.starts_with("Variable ") && message.ends_with(" is not defined.") {
        return ("BAD_USER_INPUT", None);
    }
    if let Some(name) = message.strip_prefix("Unknown operation named ") {
        let message = format!("the document has no operation named {name}: check `operationName`");
        return ("OPERATION_RESOLUTION_FAILURE", Some(message));
    }
    if message == "Operation name required in request." {
        let message = "the document has several operations: name the one to run in `operationName`";
        return ("OPERATION_RESOLUTION_FAILURE", Some(message.into()));
    }
    if message == "Subscriptions are not supported on this transport." {
        return (
            "BAD_REQUEST",
            Some(
                "subscriptions are served over the websocket at /graphql/ws \
                 (graphql-transport-ws), not over HTTP"
                    .into(),
            ),
        );
    }
    if error.path.is_empty() {
        // Before execution and not a parse error: one of the validation rules.
        return ("GRAPHQL_VALIDATION_FAILED", None);
    }
    // An execution error without a code is none of ours: a bug. Logged; the client gets an id.
    let internal: async_graphql::Error = ApiError::internal(message).into();
    ("INTERNAL_SERVER_ERROR", Some(internal.message))
}

/// `syntax error at line L, column C: expected …`, from pest's multi-line text.
fn syntax_error(message: &str, at: Option<Pos>) -> Option<String> {
    let header = message.strip_prefix(" --> ")?;
    let (line, column) = match at {
        Some(pos) => (pos.line, pos.column),
        None => {
            let (l, c) = header.lines().next()?.split_once(':')?;
            (l.trim().parse().ok()?, c.trim().parse().ok()?)
        }
    };
    let what = message
        .lines()
        .rev()
        .find_map(|line| line.trim_start().strip_prefix("= "))
        .unwrap_or("unexpected input")
        .replace("EOI", "end of document")
        .replace('_', " ");
    Some(format!(
        "syntax error at line {line}, column {column}: {what}"
    ))
}

/// `Failed to parse "DateTime": REASON (occurred while parsing "DateRange") …` → `REASON`.
fn parse_failure_reason(message: &str) -> &str {
    let reason = message
        .strip_prefix(FAILED_TO_PARSE)
        .and_then(|r| r.split_once("\": ").map(|(_, reason)| reason))
        .unwrap_or(message);
    reason
        .find(" (occurred while parsing \"")
        .map_or(reason, |i| &reason[..i])
}

/// async-graphql's `"PATH", REASON` for an argument value that failed validation.
fn invalid_argument(
    rest: &str,
    at: Option<Pos>,
    doc: Option<&ExecutableDocument>,
) -> (&'static str, Option<String>) {
    let Some((path, reason)) = rest.strip_prefix('"').and_then(|r| r.split_once("\", ")) else {
        return ("GRAPHQL_VALIDATION_FAILED", None);
    };
    let variable = at
        .zip(doc)
        .and_then(|(pos, doc)| argument_named_at(doc, pos))
        .and_then(|value| variable_along(value, path.split('.').skip(1)));
    let scalar = reason
        .strip_prefix("expected type \"")
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| scalars::expectation(t).map(|hint| (t, hint)));
    let what = match scalar {
        Some((name, hint)) => format!("expected a {name}, {hint}"),
        None => reason.to_string(),
    };
    match variable {
        Some(var) => (
            "BAD_USER_INPUT",
            Some(format!(
                "invalid value for argument \"{path}\" (from variable ${var}): {what}"
            )),
        ),
        None => (
            if scalar.is_some() {
                "BAD_USER_INPUT"
            } else {
                "GRAPHQL_VALIDATION_FAILED"
            },
            Some(format!("invalid value for argument \"{path}\": {what}")),
        ),
    }
}

/// The variable the value at `path` (input field names and list indexes) inside `value`
/// comes from, if it does.
fn variable_along<'a>(value: &Value, mut path: impl Iterator<Item = &'a str>) -> Option<Name> {
    match value {
        Value::Variable(name) => Some(name.clone()),
        Value::Object(fields) => {
            let next = path.next()?;
            variable_along(fields.get(next)?, path)
        }
        Value::List(items) => {
            let next = path.next()?;
            variable_along(items.get(next.parse::<usize>().ok()?)?, path)
        }
        _ => None,
    }
}

/// The value of the argument (of a field or a directive) whose name is at `pos`.
fn argument_named_at(doc: &ExecutableDocument, pos: Pos) -> Option<&Value> {
    find_argument(doc, &mut move |name, value| {
        (name.pos == pos).then_some(&value.node)
    })
}

/// The name of the argument (of a field or a directive) whose value is at `pos`.
fn argument_valued_at(doc: &ExecutableDocument, pos: Pos) -> Option<&str> {
    find_argument(doc, &mut move |name, value| {
        (value.pos == pos).then_some(name.node.as_str())
    })
}

type Probe<'d, T> = dyn FnMut(&'d Positioned<Name>, &'d Positioned<Value>) -> Option<T> + 'd;

/// The first argument anywhere in `doc` for which `probe` says something.
fn find_argument<'d, T>(doc: &'d ExecutableDocument, probe: &mut Probe<'d, T>) -> Option<T> {
    for (_, op) in doc.operations.iter() {
        let found = in_directives(&op.node.directives, probe)
            .or_else(|| in_selection_set(&op.node.selection_set.node, probe));
        if found.is_some() {
            return found;
        }
    }
    doc.fragments.values().find_map(|f| {
        in_directives(&f.node.directives, probe)
            .or_else(|| in_selection_set(&f.node.selection_set.node, probe))
    })
}

fn in_directives<'d, T>(
    directives: &'d [Positioned<Directive>],
    probe: &mut Probe<'d, T>,
) -> Option<T> {
    directives
        .iter()
        .flat_map(|d| d.node.arguments.iter())
        .find_map(|(name, value)| probe(name, value))
}

fn in_selection_set<'d, T>(set: &'d SelectionSet, probe: &mut Probe<'d, T>) -> Option<T> {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(f) => f
            .node
            .arguments
            .iter()
            .find_map(|(name, value)| probe(name, value))
            .or_else(|| in_directives(&f.node.directives, probe))
            .or_else(|| in_selection_set(&f.node.selection_set.node, probe)),
        Selection::FragmentSpread(s) => in_directives(&s.node.directives, probe),
        Selection::InlineFragment(f) => in_directives(&f.node.directives, probe)
            .or_else(|| in_selection_set(&f.node.selection_set.node, probe)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(message: &str, locations: Vec<Pos>, query: &str) -> (String, String) {
        let mut e = ServerError::new(message, None);
        e.locations = locations;
        let doc = async_graphql::parser::parse_query(query).ok().map(Arc::new);
        let r = response(Response::from_errors(vec![e]), || doc);
        let e = &r.errors[0];
        let code = e
            .extensions
            .as_ref()
            .unwrap()
            .get("code")
            .unwrap()
            .to_string();
        (code.trim_matches('"').to_string(), e.message.clone())
    }

    #[test]
    fn syntax_errors_say_line_and_column() {
        let query = "{ jobs(first: ) { totalCount } }";
        let pest = async_graphql::parser::parse_query(query).unwrap_err();
        let e = ServerError::from(pest);
        let (code, message) = shaped(&e.message, e.locations.clone(), query);
        assert_eq!(code, "GRAPHQL_PARSE_FAILED");
        assert_eq!(message, "syntax error at line 1, column 15: expected value");
    }

    #[test]
    fn arguments_from_variables_are_bad_user_input() {
        let query = "query($f: JobFilter) { jobs(filter: { createdAt: $f }) { totalCount } }";
        let at = Pos {
            line: 1,
            column: 29,
        };
        let reason =
            r#"Invalid value for argument "filter.createdAt.from", expected type "DateTime""#;
        let (code, message) = shaped(reason, vec![at], query);
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(
            message.starts_with(
                "invalid value for argument \"filter.createdAt.from\" (from variable $f): \
                 expected a DateTime, "
            ),
            "{message}"
        );
        let unknown =
            r#"Invalid value for argument "filter", unknown field "stauts" of type "JobFilter""#;
        let literal = "{ jobs(filter: { stauts: ALL }) { totalCount } }";
        let (code, _) = shaped(unknown, vec![Pos { line: 1, column: 8 }], literal);
        assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
        let variable = "query($f: JobFilter) { jobs(filter: $f) { totalCount } }";
        let (code, message) = shaped(
            unknown,
            vec![Pos {
                line: 1,
                column: 29,
            }],
            variable,
        );
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
    }

    #[test]
    fn uncoded_execution_errors_are_internal_and_hide_their_text() {
        let mut e = ServerError::new("Data `Db` does not exist.", None);
        e.path = vec![async_graphql::PathSegment::Field("jobs".into())];
        let r = response(Response::from_errors(vec![e]), || None);
        let e = &r.errors[0];
        assert!(
            e.message.starts_with("internal server error (error id "),
            "{}",
            e.message
        );
        assert!(!e.message.contains("Db"));
    }

    #[test]
    fn coded_errors_are_left_alone() {
        let e: async_graphql::Error = ApiError::bad_input("first must be at most 100").into();
        let e = e.into_server_error(Pos::default());
        let r = response(Response::from_errors(vec![e.clone()]), || None);
        assert_eq!(r.errors[0], e);
    }
}
