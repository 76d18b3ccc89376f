//! The root `Mutation` type: the job lifecycle. Users submit and cancel; workers start jobs and
//! report each input's outcome. Every change is one transaction (see
//! [`crate::db::lifecycle`]) that returns the job as it wrote it; the change is published to
//! subscribers after it commits and answered from that row, without reading the job again.

use std::collections::HashSet;

use async_graphql::{Context, Enum, InputObject, Object};

use super::error::{ApiError, ApiResult};
use super::scalars::Long;
use super::types::job::Job;
use super::types::model::Model;
use crate::auth::Caller;
use crate::db::catalogue::{self, Added};
use crate::db::lifecycle::{self, JobSpec, LifecycleError, Outcome, Submitter};
use crate::db::{Db, Tx, models};
use crate::domain::Role;
use crate::events::{EventBus, JobEvent};

/// Most inputs one job may have.
pub const MAX_INPUTS: usize = 100;
/// Longest timeout accepted: 7 days, in milliseconds.
pub const MAX_TIMEOUT_MS: i64 = 7 * 24 * 3_600_000;

/// A model of the catalogue, by identifier and version.
#[derive(InputObject, Clone, Debug)]
pub struct ModelRef {
    /// Model identifier, e.g. `ed542963de`.
    pub identifier: String,
    /// Model version, e.g. `1.0.1`.
    pub version: String,
}

/// One input of a job to submit.
#[derive(InputObject, Clone, Debug)]
pub struct InputSpec {
    /// Name, unique within the job.
    pub name: String,
    /// Size in bytes (0 or more).
    pub byte_amount: Long,
}

/// A job to submit.
#[derive(InputObject, Clone, Debug)]
pub struct SubmitJobInput {
    /// The model to run.
    pub model: ModelRef,
    /// The inputs (1 to 100, unique names).
    pub inputs: Vec<InputSpec>,
    /// Ask for an explanation of the results.
    #[graphql(default)]
    pub explain: bool,
    /// Milliseconds after submission at which the job times out if still pending (at most
    /// 7 days); omit for no timeout.
    pub timeout: Option<Long>,
    /// Whether the model is an image classification model.
    #[graphql(default)]
    pub image_classification_model: bool,
}

impl SubmitJobInput {
    /// The validated job; messages name the list of inputs `list` (the REST route's inputs
    /// are its `input.sources`).
    pub fn spec_naming(&self, list: &str) -> ApiResult<JobSpec> {
        let bad = |m: String| Err(ApiError::BadUserInput(m));
        if self.inputs.is_empty() {
            return bad(format!("{list} is empty: a job needs at least one input"));
        }
        if self.inputs.len() > MAX_INPUTS {
            return bad(format!(
                "{list} has {} inputs; at most {MAX_INPUTS} are allowed",
                self.inputs.len()
            ));
        }
        let mut names = HashSet::new();
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (i, input) in self.inputs.iter().enumerate() {
            let name = input.name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return bad(format!("{list}[{i}].name must be 1 to 200 characters"));
            }
            if !names.insert(name.to_string()) {
                return bad(format!(
                    "{list}[{i}].name {name:?} is used twice; \
                     input names are unique within a job"
                ));
            }
            if input.byte_amount.0 < 0 {
                return bad(format!(
                    "{list}[{i}].byteAmount must be 0 or more, got {}",
                    input.byte_amount.0
                ));
            }
            inputs.push((name.to_string(), input.byte_amount.0));
        }
        // The job's `inputByteAmount` is their sum, a 64-bit integer too.
        if inputs
            .iter()
            .try_fold(0_i64, |sum, (_, bytes)| sum.checked_add(*bytes))
            .is_none()
        {
            return bad(format!(
                "{list}: the byteAmount values add up to more than {} bytes, \
                 the most a job can hold",
                i64::MAX
            ));
        }
        if let Some(Long(t)) = self.timeout
            && !(1..=MAX_TIMEOUT_MS).contains(&t)
        {
            return bad(format!(
                "input.timeout must be between 1 and {MAX_TIMEOUT_MS} ms, got {t}"
            ));
        }
        Ok(JobSpec {
            model_identifier: self.model.identifier.trim().to_string(),
            model_version: self.model.version.trim().to_string(),
            inputs,
            explain: self.explain,
            timeout_ms: self.timeout.map(|t| t.0),
            image_classification_model: self.image_classification_model,
        })
    }
}

/// The outcome of processing one input.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputOutcome {
    /// Processed successfully.
    Completed,
    /// Processing failed.
    Failed,
}

/// The caller, if its role is one of `roles`.
fn allowed<'a>(ctx: &Context<'a>, action: &str, roles: &[Role]) -> ApiResult<&'a Caller> {
    let caller = super::caller(ctx)?;
    require_role(caller, action, roles)?;
    Ok(caller)
}

/// `FORBIDDEN` unless `caller`'s role is one of `roles`, naming `action` and the roles.
pub fn require_role(caller: &Caller, action: &str, roles: &[Role]) -> ApiResult<()> {
    if roles.contains(&caller.role) {
        Ok(())
    } else {
        let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::Forbidden(format!(
            "{action} needs a key with role {}; this key's role is {}",
            names.join(" or "),
            caller.role.as_str()
        )))
    }
}

/// Who submits as `caller`: the job is written into the caller's account.
fn submitter(caller: &Caller) -> Submitter {
    Submitter {
        account_id: caller.account_id,
        user_id: caller.user_id,
        key_prefix: caller.prefix.clone(),
    }
}

/// Runs the lifecycle write `change` in one write transaction and completes the job it wrote
/// into a record on the same connection, then publishes the committed change (when a `bus` is
/// given) and answers with the job as the change wrote it. Every transport's writes go
/// through here, so subscribers see a change whichever API made it.
pub async fn apply(
    db: &Db,
    bus: Option<&EventBus>,
    change: impl AsyncFnOnce(&mut Tx<'_>) -> Result<models::Job, LifecycleError>,
) -> ApiResult<Job> {
    let record = db
        .write(async |tx: &mut Tx<'_>| {
            let job = change(tx).await?;
            Ok::<_, LifecycleError>(db.catalogue().records(tx, vec![job]).await?.pop())
        })
        .await?;
    let record = record.ok_or_else(|| ApiError::internal("a changed job has no record"))?;
    if let Some(bus) = bus {
        bus.publish(&[JobEvent::of(&record.job)]).await;
    }
    Ok(Job::new(record, crate::db::now()))
}

/// Longest model identifier, version or name accepted.
pub const MAX_MODEL_TEXT: usize = 200;

/// Adds a model to the catalogue, idempotently; `true` when it was created. The same model
/// again changes nothing; its identifier and version under another name is a `CONFLICT`
/// (models are never renamed). Used by the `addModel` mutation and `job-history models add`.
pub async fn add_model(
    db: &Db,
    identifier: &str,
    version: &str,
    name: &str,
) -> ApiResult<(models::Model, bool)> {
    let mut fields = [
        ("identifier", identifier),
        ("version", version),
        ("name", name),
    ];
    for (field, value) in &mut fields {
        *value = value.trim();
        if value.is_empty() || value.chars().count() > MAX_MODEL_TEXT {
            return Err(ApiError::bad_input(format!(
                "{field} must be 1 to {MAX_MODEL_TEXT} characters"
            )));
        }
    }
    let [(_, identifier), (_, version), (_, name)] = fields;
    let added = db
        .write(async |tx: &mut Tx<'_>| catalogue::add_model(tx, identifier, version, name).await)
        .await?;
    match added {
        Added::Created(model) => Ok((model, true)),
        Added::Existing(model) => Ok((model, false)),
        Added::Conflict(model) => Err(ApiError::Conflict(format!(
            "model {identifier} version {version} already exists named {:?}; a model is never \
             renamed: add a new version instead",
            model.name
        ))),
    }
}

/// Submits `input` as `caller` (role `user` or `admin`), validated with messages naming its
/// inputs `list` ([`SubmitJobInput::spec_naming`]); see [`apply`].
pub async fn submit(
    db: &Db,
    bus: Option<&EventBus>,
    caller: &Caller,
    input: &SubmitJobInput,
    list: &str,
) -> ApiResult<Job> {
    require_role(caller, "submitJob", &[Role::User, Role::Admin])?;
    let spec = input.spec_naming(list)?;
    let who = submitter(caller);
    let now = crate::db::now();
    apply(db, bus, async |tx| {
        lifecycle::submit(tx, &who, &spec, now).await
    })
    .await
}

/// Cancels the job `identifier` of `caller`'s scope (role `user` or `admin`); see [`apply`].
pub async fn cancel(
    db: &Db,
    bus: Option<&EventBus>,
    caller: &Caller,
    identifier: &str,
) -> ApiResult<Job> {
    require_role(caller, "cancelJob", &[Role::User, Role::Admin])?;
    let (scope, now) = (caller.scope(), crate::db::now());
    apply(db, bus, async |tx| {
        lifecycle::cancel(tx, scope, identifier.trim(), now).await
    })
    .await
}

/// [`apply`] with the request's database and event bus.
async fn changed(
    ctx: &Context<'_>,
    change: impl AsyncFnOnce(&mut Tx<'_>) -> Result<models::Job, LifecycleError>,
) -> ApiResult<Job> {
    apply(
        ctx.data_unchecked::<Db>(),
        ctx.data::<EventBus>().ok(),
        change,
    )
    .await
}

/// Changes to jobs.
pub struct Mutation;

/// Changes to jobs: submit and cancel (users), start and report progress (workers).
#[Object]
impl Mutation {
    /// Submits a job: SUBMITTED, with every input pending. Role `user` (or `admin`).
    async fn submit_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job to submit.")] input: SubmitJobInput,
    ) -> ApiResult<Job> {
        let caller = super::caller(ctx)?;
        let (db, bus) = (ctx.data_unchecked::<Db>(), ctx.data::<EventBus>().ok());
        submit(db, bus, caller, &input, "input.inputs").await
    }

    /// Cancels a SUBMITTED or IN_PROGRESS job of the caller's account. Role `user` (or `admin`).
    async fn cancel_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's identifier.")] job_identifier: String,
    ) -> ApiResult<Job> {
        let caller = super::caller(ctx)?;
        let (db, bus) = (ctx.data_unchecked::<Db>(), ctx.data::<EventBus>().ok());
        cancel(db, bus, caller, &job_identifier).await
    }

    /// Adds a model (at one version) to the catalogue, so jobs can be submitted against it.
    /// Idempotent: the same model again changes nothing; the identifier and version under
    /// another name is a `CONFLICT` (models are never renamed). Role `admin`.
    async fn add_model(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The model's identifier, e.g. `ed542963de`.")] identifier: String,
        #[graphql(desc = "The version, e.g. `1.0.1`.")] version: String,
        #[graphql(desc = "Human-readable name, e.g. `Sentiment Analysis`.")] name: String,
    ) -> ApiResult<Model> {
        allowed(ctx, "addModel", &[Role::Admin])?;
        let db = ctx.data_unchecked::<Db>();
        let (model, _) = add_model(db, &identifier, &version, &name).await?;
        Ok(Model::from(model))
    }

    #[doc = " Starts a SUBMITTED job: IN_PROGRESS, with its queue time recorded. \
             Role `worker` (or `admin`)."]
    async fn start_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's identifier.")] job_identifier: String,
    ) -> ApiResult<Job> {
        let caller = allowed(ctx, "startJob", &[Role::Worker, Role::Admin])?;
        let (scope, now) = (caller.scope(), crate::db::now());
        changed(ctx, async |tx| {
            lifecycle::start(tx, scope, job_identifier.trim(), now).await
        })
        .await
    }

    /// Reports the outcome of one input of an IN_PROGRESS job. When no input is left pending
    /// the job becomes COMPLETED, or ERROR when every input failed. Role `worker` (or `admin`).
    async fn report_input_result(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's identifier.")] job_identifier: String,
        #[graphql(desc = "The input's name.")] input_name: String,
        #[graphql(desc = "What happened to the input.")] outcome: InputOutcome,
        #[graphql(desc = "Why it failed (FAILED only).")] error: Option<String>,
    ) -> ApiResult<Job> {
        let caller = allowed(ctx, "reportInputResult", &[Role::Worker, Role::Admin])?;
        let outcome = match outcome {
            InputOutcome::Completed => Outcome::Completed,
            InputOutcome::Failed => Outcome::Failed,
        };
        let error = error
            .as_deref()
            .map(|e| e.chars().take(2000).collect::<String>());
        let (scope, now) = (caller.scope(), crate::db::now());
        let (job, input) = (job_identifier.trim(), input_name.trim());
        changed(ctx, async |tx| {
            lifecycle::report(tx, scope, job, input, outcome, error.as_deref(), now).await
        })
        .await
    }
}
