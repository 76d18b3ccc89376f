//! Relay global object identification: opaque global ids and the `Node` interface.
//!
//! A global id is base64url (no padding) of `TYPE:KEY`, e.g. `Job:<jobIdentifier>`. Clients
//! must treat it as opaque; the server decodes it for `node`/`nodes`.

use async_graphql::{ID, Interface};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;
use super::types::job::Job;

/// An object with a globally unique, opaque `id` that `node(id:)` refetches.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Globally unique, opaque identifier."))]
pub enum Node {
    /// A job.
    Job(Job),
}

/// The kinds of object a global id can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A job, keyed by its `jobIdentifier`.
    Job,
}

impl NodeKind {
    fn name(self) -> &'static str {
        match self {
            Self::Job => "Job",
        }
    }
}

/// Encodes a global id.
pub fn encode(kind: NodeKind, key: &str) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{key}", kind.name())))
}

/// Decodes a global id into its kind and key.
pub fn decode(id: &ID) -> Result<(NodeKind, String), ApiError> {
    let invalid = || {
        ApiError::bad_input(format!(
            "{:?} is not a valid node id: pass an `id` returned by this API",
            id.as_str()
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.split_once(':') {
        Some(("Job", key)) if !key.is_empty() => Ok((NodeKind::Job, key.to_string())),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_is_refused() {
        let id = encode(NodeKind::Job, "0f6c5a4e-0000-4000-8000-000000000001");
        assert_eq!(
            decode(&id).unwrap(),
            (NodeKind::Job, "0f6c5a4e-0000-4000-8000-000000000001".into())
        );
        for bad in [
            "", "!!!", "VXNlcjox", /* User:1 */
            "Sm9iOg",   /* Job: */
        ] {
            let err = decode(&ID(bad.into())).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
        }
    }
}
