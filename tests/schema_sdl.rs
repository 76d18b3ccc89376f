//! `schema.graphql` at the repository root is the API contract: it must equal the code's SDL,
//! and every type, field, argument, input field and enum value must carry a description.

use serde_json::Value;

#[test]
fn committed_schema_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let current = job_history::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is stale: regenerate it with `cargo run -- schema > schema.graphql` and review the diff"
    );
}

#[tokio::test]
async fn everything_in_the_schema_is_described() {
    let schema = async_graphql::Schema::build(
        job_history::graphql::Query,
        job_history::graphql::Mutation,
        job_history::graphql::Subscriptions,
    )
    .finish();
    let query = r#"{ __schema { types {
        name kind description
        fields { name description args { name description } }
        inputFields { name description }
        enumValues { name description }
    } } }"#;
    let response = schema.execute(query).await;
    let data = serde_json::to_value(&response.data).unwrap();
    let mut missing = Vec::new();
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let blank = |v: &Value| v.as_str().is_none_or(|s| s.trim().is_empty());
    for t in data["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if blank(&t["description"]) {
            missing.push(name.to_string());
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            let fname = format!("{name}.{}", f["name"].as_str().unwrap());
            if blank(&f["description"]) {
                missing.push(fname.clone());
            }
            for a in f["args"].as_array().into_iter().flatten() {
                if blank(&a["description"]) {
                    missing.push(format!("{fname}({})", a["name"].as_str().unwrap()));
                }
            }
        }
        for f in t["inputFields"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(t["enumValues"].as_array().into_iter().flatten())
        {
            if blank(&f["description"]) {
                missing.push(format!("{name}.{}", f["name"].as_str().unwrap()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented schema elements: {missing:?}"
    );
}
