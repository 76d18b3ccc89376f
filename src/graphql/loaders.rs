//! DataLoaders for the nested fields of a page of jobs: `user` and `jobInputs` each cost one
//! `IN (…)` query per page, whatever its size. Made per request ([`Loaders::attach`]), so their
//! caches never outlive a request.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use super::error::ApiError;
use crate::db::models::{JobInput, User};
use crate::db::{Db, inputs, people};
use crate::domain::{JobId, UserId};

/// Reads users by id.
pub struct UserReader(Db);

impl Loader<UserId> for UserReader {
    type Value = User;
    type Error = ApiError;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, User>, ApiError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self.0.read(async |c| people::users(c, keys).await).await?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Reads the inputs of jobs, in their submitted order.
pub struct InputsReader(Db);

impl Loader<JobId> for InputsReader {
    type Value = Vec<JobInput>;
    type Error = ApiError;

    async fn load(&self, keys: &[JobId]) -> Result<HashMap<JobId, Vec<JobInput>>, ApiError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .0
            .read(async |c| inputs::of_jobs(c, keys).await)
            .await?;
        let mut by_job: HashMap<JobId, Vec<JobInput>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            by_job.entry(row.job_id).or_default().push(row);
        }
        Ok(by_job)
    }
}

/// The per-request user loader (with its cache).
pub type UserLoader = DataLoader<UserReader, HashMapCache>;
/// The per-request inputs loader (with its cache).
pub type InputsLoader = DataLoader<InputsReader, HashMapCache>;

/// The loader of type `L` attached to this request.
pub fn loader<'a, L: Send + Sync + 'static>(
    ctx: &async_graphql::Context<'a>,
) -> Result<&'a L, ApiError> {
    ctx.data::<L>()
        .map_err(|_| ApiError::internal("request executed without its loaders"))
}

/// The user `id`: through this request's loader, or read directly where there is none
/// (subscription events, which must not see a cache filled by an earlier event).
pub async fn user(ctx: &async_graphql::Context<'_>, id: UserId) -> Result<Option<User>, ApiError> {
    match ctx.data::<UserLoader>() {
        Ok(loader) => loader.load_one(id).await,
        Err(_) => {
            let reader = UserReader(ctx.data_unchecked::<Db>().clone());
            Ok(Loader::load(&reader, &[id]).await?.remove(&id))
        }
    }
}

/// The inputs of job `id`, in order: through this request's loader, or read directly (see
/// [`user`]).
pub async fn inputs(
    ctx: &async_graphql::Context<'_>,
    id: JobId,
) -> Result<Vec<JobInput>, ApiError> {
    let found = match ctx.data::<InputsLoader>() {
        Ok(loader) => loader.load_one(id).await?,
        Err(_) => {
            let reader = InputsReader(ctx.data_unchecked::<Db>().clone());
            Loader::load(&reader, &[id]).await?.remove(&id)
        }
    };
    Ok(found.unwrap_or_default())
}

/// `keys` without repetitions, in first-seen order.
fn unique<K: Copy + Eq + std::hash::Hash>(keys: impl Iterator<Item = K>) -> Vec<K> {
    let mut seen = std::collections::HashSet::new();
    keys.filter(|k| seen.insert(*k)).collect()
}

/// Which nested parts of a page of jobs to read.
#[derive(Clone, Copy, Debug)]
pub struct Nested {
    /// The submitting users.
    pub users: bool,
    /// The inputs.
    pub inputs: bool,
}

/// The users and the inputs of `jobs` (those `wanted`), each in one `IN (…)` statement, run
/// at once: what a page of jobs shows next to each job, for the GraphQL loaders' caches and
/// the REST routes alike.
pub async fn nested(
    db: &Db,
    jobs: &[&crate::db::models::Job],
    wanted: Nested,
) -> Result<(HashMap<UserId, User>, HashMap<JobId, Vec<JobInput>>), ApiError> {
    let users = async {
        if !wanted.users {
            return Ok(HashMap::new());
        }
        let keys = unique(jobs.iter().map(|j| j.user_id));
        Loader::load(&UserReader(db.clone()), &keys).await
    };
    let inputs = async {
        if !wanted.inputs {
            return Ok(HashMap::new());
        }
        let keys = unique(jobs.iter().map(|j| j.id));
        Loader::load(&InputsReader(db.clone()), &keys).await
    };
    let (users, inputs) = tokio::join!(users, inputs);
    Ok((users?, inputs?))
}

/// The per-request loaders.
pub struct Loaders;

impl Loaders {
    /// Loads, in one batch each, the users and inputs of `jobs` when the selection below
    /// `node` (a job) asks for them, and feeds them to the request's loaders, so the resolvers
    /// find them cached. DataLoader's own batching waits 1 ms for more keys (and a slow
    /// resolution can outlast that and split a page into several queries); here every key is
    /// known, so the readers run at once: a page costs exactly one query per loader.
    pub async fn prefetch(
        ctx: &async_graphql::Context<'_>,
        node: &async_graphql::Lookahead<'_>,
        jobs: &[&crate::db::models::Job],
    ) -> Result<(), ApiError> {
        let wanted = Nested {
            users: node.field("user").exists(),
            inputs: node.field("jobInputs").exists(),
        };
        if !wanted.users && !wanted.inputs {
            return Ok(());
        }
        let db = ctx.data_unchecked::<Db>();
        let (users, inputs) = nested(db, jobs, wanted).await?;
        if wanted.users {
            loader::<UserLoader>(ctx)?.feed_many(users).await;
        }
        if wanted.inputs {
            loader::<InputsLoader>(ctx)?.feed_many(inputs).await;
        }
        Ok(())
    }

    /// Attaches fresh loaders over `db` to a request.
    pub fn attach(request: async_graphql::Request, db: &Db) -> async_graphql::Request {
        request
            .data(DataLoader::with_cache(
                UserReader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ))
            .data(DataLoader::with_cache(
                InputsReader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ))
    }
}
