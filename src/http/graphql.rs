//! `GET|POST /graphql`: GraphQL over HTTP.

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;

use super::AppState;

/// Executes one GraphQL request (or batch).
pub async fn handle(State(state): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    crate::graphql::execute(&state.schema, &state.db, request.into_inner())
        .await
        .into()
}
