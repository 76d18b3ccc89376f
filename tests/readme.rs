//! README.md says what is true: its configuration table is the CLI's own (generated from the
//! clap definitions), its numbers are the seeder's, and every ```graphql example in it answers
//! something on `serve --demo`, run through the real server with the demo's key.

mod common;

use std::collections::HashMap;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use common::process::{Served, bin, database_url};
use job_history::cli::reference;
use serde_json::{Value, json};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

fn readme() -> String {
    std::fs::read_to_string(README).expect("README.md")
}

/// The README's generated table equals the CLI's; with `UPDATE_README=1` the README is
/// rewritten instead (then review the diff).
#[test]
fn configuration_table_matches_the_cli() {
    let text = readme();
    let begin = text
        .find(reference::BEGIN)
        .expect("README.md has the configuration table's opening marker")
        + reference::BEGIN.len();
    let end = text[begin..]
        .find(reference::END)
        .expect("README.md has the configuration table's closing marker")
        + begin;
    let wanted = format!("\n{}", reference::configuration_table());
    if text[begin..end] == wanted {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(
            README,
            format!("{}{wanted}{}", &text[..begin], &text[end..]),
        )
        .unwrap();
        return;
    }
    panic!(
        "README.md's configuration table is stale: regenerate it with \
         `UPDATE_README=1 cargo test --test readme configuration_table` and review the diff"
    );
}

/// The seeding paragraph's catalogue size is the catalogue's.
#[test]
fn catalogue_numbers_are_the_real_ones() {
    let models = job_history::seed::catalogue::MODELS;
    let versions: usize = models.iter().map(|(_, _, v)| v.len()).sum();
    let claim = format!("{} models ({versions} versions)", models.len());
    assert!(
        readme().contains(&claim),
        "README.md should say \"{claim}\""
    );
}

/// One ```graphql block of the README and the operations in it.
struct Example {
    line: usize,
    text: String,
}

fn graphql_examples(text: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut current: Option<Example> = None;
    for (n, line) in text.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```graphql") => {
                current = Some(Example {
                    line: n + 1,
                    text: String::new(),
                })
            }
            (Some(_), l) if l.starts_with("```") => examples.extend(current.take()),
            (Some(e), _) => {
                e.text.push_str(line);
                e.text.push('\n');
            }
            (None, _) => {}
        }
    }
    examples
}

/// Starts the demo exactly as the README says (`serve --demo`), on a free port and without
/// the simulator (the examples must not depend on its timing).
fn serve_demo(database_url: &str) -> Served {
    Served::spawn_demo(bin().env("DATABASE_URL", database_url).args([
        "serve",
        "--demo",
        "--port",
        "0",
        "--demo-rate",
        "0",
    ]))
}

/// A worker key of the demo user, made with `keys create` as the README shows.
fn worker_key(database_url: &str, email: &str) -> String {
    let (ok, key, err) = common::process::output(
        bin()
            .env("DATABASE_URL", database_url)
            .args(["keys", "create", "--user", email, "--role", "worker"]),
    );
    assert!(ok, "{err}");
    key.trim().to_string()
}

/// True when `value` holds nothing: null, an empty list, or an object whose lists are all
/// empty (a connection without edges or nodes).
fn nothing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => {
            let lists: Vec<&Vec<Value>> = fields.values().filter_map(Value::as_array).collect();
            !lists.is_empty() && lists.iter().all(|l| l.is_empty())
        }
        _ => false,
    }
}

/// The values the examples' variables get: a job of the demo key's account (or the job the
/// last mutation example returned) and its Relay id; unknown nullable variables stay unset.
fn variables(
    operation: &async_graphql::parser::types::OperationDefinition,
    known: &HashMap<String, Value>,
    where_: &str,
) -> Value {
    let mut vars = serde_json::Map::new();
    for var in &operation.variable_definitions {
        let name = var.node.name.node.as_str();
        match known.get(name) {
            Some(value) => {
                vars.insert(name.to_string(), value.clone());
            }
            None => assert!(
                var.node.var_type.node.nullable || var.node.default_value.is_some(),
                "{where_}: the test has no value for the required variable ${name}: \
                 teach `variables` in tests/readme.rs where to find one"
            ),
        }
    }
    Value::Object(vars)
}

/// Runs one operation of a README example on the demo as `key`.
async fn post(
    server: &Served,
    key: &str,
    query: &str,
    operation: Option<&str>,
    vars: Value,
) -> Value {
    common::post_operation(&server.graphql(), key, query, operation, vars).await
}

/// Which key an operation's README line asks for: "worker key" in a comment on the line that
/// opens it (`mutation Start(…) {  # worker key`) means the worker key; anything else runs
/// with the demo's (user) key.
fn wants_worker(example: &str, operation: Option<&str>) -> bool {
    example
        .lines()
        .find(|l| {
            let mut words = l.split_whitespace();
            let opens = matches!(
                words.next(),
                Some("query" | "mutation" | "subscription" | "{")
            );
            let named = words
                .next()
                .map(|w| w.split(['(', '{']).next().unwrap_or(""));
            opens && (operation.is_none() || named == operation)
        })
        .is_some_and(|l| l.contains("worker key"))
}

backend_tests! {
    async fn every_graphql_example_answers_on_the_demo(db: TestDb) {
        let database_url = database_url(&db.db);
        let server = serve_demo(&database_url);
        let demo_key = server.demo_key.clone().expect("the demo prints a key");
        let viewer = post(&server, &demo_key, "{ viewer { user { email } } }", None, json!({})).await;
        let email = viewer["data"]["viewer"]["user"]["email"].as_str().expect("viewer").to_string();
        let worker = worker_key(&database_url, &email);
        let first = post(&server, &demo_key, "{ jobs(first: 1) { nodes { id jobIdentifier } } }", None, json!({})).await;
        let job = &first["data"]["jobs"]["nodes"][0];
        let mut known: HashMap<String, Value> = HashMap::from([
            ("jobIdentifier".to_string(), job["jobIdentifier"].clone()),
            ("id".to_string(), job["id"].clone()),
        ]);

        let text = readme();
        let examples = graphql_examples(&text);
        assert!(examples.len() >= 5, "README.md's ```graphql blocks were not found");
        let mut ran = 0;
        let mut subscriptions = Vec::new();
        // The README's own submit example, which feeds the subscription examples.
        let mut submit: Option<(String, Option<String>)> = None;
        for example in &examples {
            let document = async_graphql::parser::parse_query(&example.text)
                .unwrap_or_else(|e| panic!("README.md:{}: the example does not parse: {e}", example.line));
            // In the README's order (a document keeps its named operations in a map).
            let mut operations: Vec<(_, Option<String>, _)> = match &document.operations {
                DocumentOperations::Single(op) => vec![(op.pos, None, op.node.clone())],
                DocumentOperations::Multiple(ops) => ops.iter().map(|(name, op)| (op.pos, Some(name.to_string()), op.node.clone())).collect(),
            };
            operations.sort_by_key(|(pos, _, _)| (pos.line, pos.column));
            for (_, name, operation) in operations {
                let where_ = format!("README.md:{} ({})", example.line, name.as_deref().unwrap_or("anonymous"));
                let vars = variables(&operation, &known, &where_);
                if operation.ty == OperationType::Subscription {
                    subscriptions.push((where_, example.text.clone(), name, vars));
                    continue;
                }
                let key = if wants_worker(&example.text, name.as_deref()) { &worker } else { &demo_key };
                let response = post(&server, key, &example.text, name.as_deref(), vars).await;
                assert!(response.get("errors").is_none(), "{where_}: the example fails: {response:#}");
                let data = response["data"].as_object().unwrap_or_else(|| panic!("{where_}: no data: {response:#}"));
                for (field, value) in data {
                    assert!(!nothing(value), "{where_}: `{field}` answers nothing on the demo: {response:#}");
                }
                if operation.ty == OperationType::Mutation {
                    for value in data.values() {
                        if let Some(job) = value["jobIdentifier"].as_str() {
                            known.insert("jobIdentifier".into(), json!(job));
                            if submit.is_none() {
                                submit = Some((example.text.clone(), name.clone()));
                            }
                        }
                    }
                }
                ran += 1;
            }
        }
        assert!(ran >= 5, "ran only {ran} README examples");

        // Subscriptions over the websocket: each must deliver an item once a job changes,
        // and the README's submit example is what changes one.
        let (submit_text, submit_name) = submit.expect("the README has a mutation example that submits a job");
        let ws_url = server.ws();
        for (where_, text, name, vars) in subscriptions {
            let (mut client, ack) = common::ws::Client::connect(&ws_url, "graphql-transport-ws", &demo_key).await;
            assert_eq!(ack["type"], "connection_ack", "{where_}: {ack}");
            client
                .send(json!({ "id": "example", "type": "subscribe", "payload": { "query": text, "operationName": name, "variables": vars } }))
                .await;
            // A jobUpdated after it answers at once; messages are handled in order, so once its
            // snapshot is here the example's subscription is live too.
            client.subscribe("sync", "subscription($j: String!) { jobUpdated(jobIdentifier: $j) { status } }", json!({ "j": known["jobIdentifier"] })).await;
            let mut item = None;
            loop {
                let message = client.next().await;
                match message["id"].as_str() {
                    Some("sync") => break,
                    Some("example") => item = Some(message),
                    _ => panic!("{where_}: {message:#}"),
                }
            }
            let item = match item {
                Some(item) => item,
                None => {
                    let submitted = post(&server, &demo_key, &submit_text, submit_name.as_deref(), json!({})).await;
                    assert!(submitted.get("errors").is_none(), "{submitted:#}");
                    loop {
                        let message = client.next().await;
                        if message["id"] != "sync" {
                            break message;
                        }
                    }
                }
            };
            assert_eq!(item["type"], "next", "{where_}: {item:#}");
            assert!(item["payload"].get("errors").is_none(), "{where_}: {item:#}");
            let data = item["payload"]["data"].as_object().unwrap_or_else(|| panic!("{where_}: {item:#}"));
            for (field, value) in data {
                assert!(!nothing(value), "{where_}: `{field}` delivers nothing: {item:#}");
            }
        }
    }
}
