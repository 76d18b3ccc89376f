//! Accounts' identifiers and the model catalogue, kept in memory by id so that reading jobs
//! needs no join.
//!
//! Both are reference rows that are only ever inserted — nothing updates or deletes an account
//! or a model — so a kept copy can never be stale, whatever other replicas or the CLI do: a row
//! is read from the database the first time a job refers to it (one `IN (…)` statement per
//! table for all of a page's misses) and then served from memory. The joins this replaces cost
//! PostgreSQL more than the page query itself (at 1M jobs: planning 0.55 → 0.25 ms, execution
//! 0.23 → 0.07 ms for the benchmark's page; EXPLAIN ANALYZE). Bounded: a table's map starts
//! over past [`CAPACITY`] entries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::jobs::JobRecord;
use super::models::{Job, Model};
use super::schema::{accounts, models};
use super::{Conn, DbError, Tx};
use crate::domain::{AccountId, ModelId};

/// The whole model catalogue, ordered by name then version (read from the database each
/// time: the kept copy holds only the models jobs referred to).
pub async fn all_models(conn: &mut Conn<'_>) -> Result<Vec<Model>, DbError> {
    crate::on_backend!(conn, c => {
        Ok(models::table
            .order((models::name, models::version))
            .select(Model::as_select())
            .load(c)
            .await?)
    })
}

/// What [`add_model`] did.
#[derive(Clone, Debug)]
pub enum Added {
    /// The model was inserted.
    Created(Model),
    /// The same model (identifier, version and name) was already there: nothing changed.
    Existing(Model),
    /// The identifier and version exist under another name. Nothing is renamed: a model's row
    /// never changes once written (the kept copies rely on it).
    Conflict(Model),
}

/// Adds the model `identifier` at `version` named `name` to the catalogue, idempotently: run
/// again with the same values it changes nothing. One statement that inserts unless the pair
/// exists, then one that reads the row, so concurrent adds of the same model both succeed.
/// New models need nothing else to be seen: [`Catalogue`] keeps models by id and reads the
/// ones it has not seen, and [`all_models`] always reads the table.
pub async fn add_model(
    tx: &mut Tx<'_>,
    identifier: &str,
    version: &str,
    name: &str,
) -> Result<Added, DbError> {
    let new = super::models::NewModel {
        identifier: identifier.to_string(),
        version: version.to_string(),
        name: name.to_string(),
    };
    crate::on_backend!(tx.conn(), c => {
        let inserted = diesel::insert_into(models::table)
            .values(&new)
            .on_conflict((models::identifier, models::version))
            .do_nothing()
            .execute(c)
            .await?;
        let row: Model = models::table
            .filter(models::identifier.eq(identifier))
            .filter(models::version.eq(version))
            .select(Model::as_select())
            .first(c)
            .await?;
        Ok(if inserted == 1 {
            Added::Created(row)
        } else if row.name == name {
            Added::Existing(row)
        } else {
            Added::Conflict(row)
        })
    })
}

/// Most entries kept per table.
pub const CAPACITY: usize = 100_000;

/// Account identifiers and models by id, shared by every clone of a [`Db`](super::Db).
#[derive(Debug, Default)]
pub struct Catalogue {
    accounts: RwLock<HashMap<AccountId, Arc<str>>>,
    models: RwLock<HashMap<ModelId, Arc<Model>>>,
}

impl Catalogue {
    /// How many accounts and models are kept.
    pub fn len(&self) -> (usize, usize) {
        (read(&self.accounts).len(), read(&self.models).len())
    }

    /// Completes `jobs` into records with their account's identifier and their model, reading
    /// the ones not kept yet (at most one statement per table).
    pub async fn records(
        &self,
        conn: &mut Conn<'_>,
        jobs: Vec<Job>,
    ) -> Result<Vec<JobRecord>, DbError> {
        let accounts = self
            .accounts(conn, jobs.iter().map(|j| j.account_id))
            .await?;
        let models = self.models(conn, jobs.iter().map(|j| j.model_id)).await?;
        jobs.into_iter()
            .map(|job| {
                let (Some(account), Some(model)) =
                    (accounts.get(&job.account_id), models.get(&job.model_id))
                else {
                    // Foreign keys make both exist: the database broke its own constraints.
                    tracing::error!(
                        job = %job.id,
                        account = %job.account_id,
                        model = %job.model_id,
                        "a job refers to an account or model that does not exist"
                    );
                    return Err(DbError::Query(diesel::result::Error::NotFound));
                };
                Ok(JobRecord {
                    account_identifier: Arc::clone(account),
                    model: Arc::clone(model),
                    job,
                })
            })
            .collect()
    }

    /// The identifiers of the accounts `ids`, reading those not kept yet (one statement).
    pub async fn accounts(
        &self,
        conn: &mut Conn<'_>,
        ids: impl Iterator<Item = AccountId>,
    ) -> Result<HashMap<AccountId, Arc<str>>, DbError> {
        lookup(&self.accounts, ids, async |ids| {
            let rows: Vec<(AccountId, String)> = crate::on_backend!(conn, c => {
                accounts::table
                    .filter(accounts::id.eq_any(ids))
                    .select((accounts::id, accounts::identifier))
                    .load(c)
                    .await?
            });
            Ok(rows.into_iter().map(|(id, i)| (id, Arc::from(i))).collect())
        })
        .await
    }

    /// The models `ids`, reading those not kept yet (one statement).
    pub async fn models(
        &self,
        conn: &mut Conn<'_>,
        ids: impl Iterator<Item = ModelId>,
    ) -> Result<HashMap<ModelId, Arc<Model>>, DbError> {
        lookup(&self.models, ids, async |ids| {
            let rows: Vec<Model> = crate::on_backend!(conn, c => {
                models::table
                    .filter(models::id.eq_any(ids))
                    .select(Model::as_select())
                    .load(c)
                    .await?
            });
            Ok(rows.into_iter().map(|m| (m.id, Arc::new(m))).collect())
        })
        .await
    }
}

/// The values of `ids`: those kept, and the others read by `load` (and kept). Works on its
/// own copy, so a concurrent start-over of the map cannot lose an entry it needs.
async fn lookup<K: Copy + Eq + std::hash::Hash, V: Clone>(
    kept: &RwLock<HashMap<K, V>>,
    ids: impl Iterator<Item = K>,
    load: impl AsyncFnOnce(Vec<K>) -> Result<Vec<(K, V)>, DbError>,
) -> Result<HashMap<K, V>, DbError> {
    let mut found = HashMap::new();
    let mut missing = HashSet::new();
    {
        let kept = read(kept);
        for id in ids {
            match kept.get(&id) {
                Some(v) => {
                    found.entry(id).or_insert_with(|| v.clone());
                }
                None => {
                    missing.insert(id);
                }
            }
        }
    }
    if !missing.is_empty() {
        let rows = load(missing.into_iter().collect()).await?;
        let mut kept = kept.write().unwrap_or_else(|e| e.into_inner());
        for (id, value) in rows {
            if kept.len() >= CAPACITY {
                kept.clear();
            }
            kept.insert(id, value.clone());
            found.insert(id, value);
        }
    }
    Ok(found)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // Each write is a few calls on the map, none of which can leave it half-changed.
    lock.read().unwrap_or_else(|e| e.into_inner())
}
