//! The root `Query` type: thin resolvers that delegate to the types and loaders.

use async_graphql::{Context, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::error::ApiResult;
use super::types::model::Model;
use crate::db::schema::models;
use crate::db::{Db, DbError, models as rows};

/// Entry points for reading job history.
pub struct Query;

#[Object]
impl Query {
    /// The model catalogue, ordered by name then version.
    async fn models(&self, ctx: &Context<'_>) -> ApiResult<Vec<Model>> {
        let db = ctx.data_unchecked::<Db>();
        let rows: Vec<rows::Model> = crate::with_conn!(db, conn => {
            models::table
                .order((models::name, models::version))
                .select(rows::Model::as_select())
                .load(conn)
                .await
                .map_err(DbError::from)?
        });
        Ok(rows.into_iter().map(Model::from).collect())
    }
}
