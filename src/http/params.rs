//! Reading a GraphQL-over-HTTP request into its [`Params`]: `query`, `operationName`,
//! `variables` and `extensions` from a POST's `application/json` body or from GET's URL
//! parameters. Anything else — another method, another content type, malformed JSON, a
//! parameter of the wrong type — is refused with what to change ([`read`]).

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{Request, Variables};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value};

use super::reply::JSON;
use crate::graphql::error::ApiError;

/// Reads the parameters of a request to `/graphql` sent with `method`.
pub fn read(
    method: &Method,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    body: &Bytes,
) -> Result<Params, ApiError> {
    let params = if method == Method::GET {
        Params::from_query_string(raw_query.unwrap_or(""))
    } else if method == Method::POST {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.to_ascii_lowercase() != JSON {
            return Err(ApiError::BadRequest {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16(),
                message: "send the request as application/json".into(),
            });
        }
        serde_json::from_slice::<Value>(body)
            .map_err(|e| format!("the request body is not valid JSON: {e}"))
            .and_then(Params::from_json)
    } else {
        return Err(ApiError::MethodNotAllowed {
            allow: "GET, POST",
            message: "use GET or POST".into(),
        });
    };
    params.map_err(ApiError::bad_request)
}

/// The GraphQL parameters of a request.
#[derive(Debug)]
pub struct Params {
    /// The document.
    pub query: String,
    /// The operation to run, when the document has several.
    pub operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

impl Params {
    /// From a POST body.
    fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut map) = value else {
            return Err(
                "the request body must be a JSON object (batched requests are not supported)"
                    .into(),
            );
        };
        let query = match map.remove("query") {
            Some(Value::String(q)) => q,
            Some(_) => return Err("`query` must be a string".into()),
            None => return Err("the request has no `query`".into()),
        };
        let operation_name = match map.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err("`operationName` must be a string".into()),
        };
        let object = |name: &str, v: Option<Value>| match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(format!("`{name}` must be a JSON object")),
        };
        Ok(Self {
            query,
            operation_name,
            variables: object("variables", map.remove("variables"))?,
            extensions: object("extensions", map.remove("extensions"))?,
        })
    }

    /// From GET's URL parameters.
    fn from_query_string(raw: &str) -> Result<Self, String> {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = match k.as_ref() {
                "variables" | "extensions" => {
                    serde_json::from_str(&v).map_err(|_| format!("`{k}` must be JSON"))?
                }
                _ => Value::String(v.into_owned()),
            };
            map.insert(k.into_owned(), value);
        }
        Self::from_json(Value::Object(map))
    }

    /// The operation of `doc` that would run: the one named by `operationName`, else the only
    /// one (a document with several and no name does not run: the executor says so).
    fn operation<'d>(&self, doc: &'d ExecutableDocument) -> Option<&'d OperationDefinition> {
        crate::graphql::operation(doc, self.operation_name.as_deref())
    }

    /// The type of the operation that would run.
    pub fn operation_type(&self, doc: &ExecutableDocument) -> Option<OperationType> {
        self.operation(doc).map(|op| op.ty)
    }

    /// True when the operation selects only introspection fields (`__schema`, `__type`,
    /// `__typename`): those answer without a key, so GraphiQL can load the docs.
    pub fn is_introspection_only(&self, doc: &ExecutableDocument) -> bool {
        self.operation(doc).is_some_and(|op| {
            op.selection_set
                .node
                .items
                .iter()
                .all(|item| match &item.node {
                    Selection::Field(f) => f.node.name.node.starts_with("__"),
                    _ => false,
                })
        })
    }

    /// The request to execute.
    pub fn into_request(self) -> Request {
        let mut request = Request::new(self.query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(vars) = self.variables {
            request = request.variables(Variables::from_json(Value::Object(vars)));
        }
        if let Some(ext) = self.extensions {
            for (k, v) in ext {
                if let Ok(v) = async_graphql::Value::from_json(v) {
                    request.extensions.insert(k, v);
                }
            }
        }
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_get_and_json_posts_are_read() {
        let headers = HeaderMap::new();
        let body = Bytes::from_static(br#"{"query":"{a}"}"#);
        let put = read(&Method::PUT, &headers, None, &body).unwrap_err();
        assert_eq!(put.status(), 405);
        let form = read(&Method::POST, &headers, None, &body).unwrap_err();
        assert_eq!((form.status(), form.code()), (415, "BAD_REQUEST"));
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(read(&Method::POST, &json, None, &body).is_ok());
        let bad = read(&Method::POST, &json, None, &Bytes::from_static(b"{")).unwrap_err();
        assert_eq!((bad.status(), bad.code()), (400, "BAD_REQUEST"));
        assert!(read(&Method::GET, &headers, Some("query=%7Ba%7D"), &Bytes::new()).is_ok());
    }

    #[test]
    fn params_are_validated() {
        assert!(Params::from_json(json!({ "query": "{ a }" })).is_ok());
        assert!(
            Params::from_json(json!({}))
                .unwrap_err()
                .contains("no `query`")
        );
        assert!(
            Params::from_json(json!({ "query": 1 }))
                .unwrap_err()
                .contains("must be a string")
        );
        assert!(
            Params::from_json(json!({ "query": "{a}", "variables": [] }))
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(Params::from_json(json!([{ "query": "{a}" }])).is_err());
        assert!(Params::from_query_string("query=%7Ba%7D&variables=%7B%7D").is_ok());
        assert!(Params::from_query_string("query=%7Ba%7D&variables=nope").is_err());
    }

    #[test]
    fn introspection_only_documents_are_recognised() {
        let p = |q: &str| {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            Params::from_json(json!({ "query": q }))
                .unwrap()
                .is_introspection_only(&doc)
        };
        assert!(p("{ __schema { types { name } } }"));
        assert!(p(
            "query IntrospectionQuery { __schema { queryType { name } } __typename }"
        ));
        assert!(!p("{ __typename jobs { totalCount } }"));
        assert!(!p("{ ...F } fragment F on Query { __typename }"));
    }

    #[test]
    fn operation_type_follows_operation_name() {
        let p = Params::from_json(
            json!({ "query": "query A { a } mutation B { b }", "operationName": "B" }),
        )
        .unwrap();
        let doc = async_graphql::parser::parse_query(&p.query).unwrap();
        assert_eq!(p.operation_type(&doc), Some(OperationType::Mutation));
        // Several operations and no name: none runs.
        let p = Params::from_json(json!({ "query": "query A { a } mutation B { b }" })).unwrap();
        assert_eq!(p.operation_type(&doc), None);
        let p = Params::from_json(json!({ "query": "mutation { b }" })).unwrap();
        let single = async_graphql::parser::parse_query(&p.query).unwrap();
        assert_eq!(p.operation_type(&single), Some(OperationType::Mutation));
        let p = Params::from_json(
            json!({ "query": "query A { a } mutation B { b }", "operationName": "C" }),
        )
        .unwrap();
        assert_eq!(p.operation_type(&doc), None);
    }
}
