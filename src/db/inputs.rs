//! `job_inputs`: the inputs of a page's jobs, for the `jobInputs` loader.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::JobInput;
use super::schema::job_inputs;
use super::{Conn, DbError};
use crate::domain::JobId;

/// The inputs of these jobs, by job then submitted position (one statement, for the
/// `jobInputs` loader).
pub async fn of_jobs(conn: &mut Conn<'_>, ids: &[JobId]) -> Result<Vec<JobInput>, DbError> {
    let ids = ids.to_vec();
    crate::on_backend!(conn, c => {
        Ok(job_inputs::table
            .filter(job_inputs::job_id.eq_any(ids))
            .order((job_inputs::job_id, job_inputs::position))
            .select(JobInput::as_select())
            .load(c)
            .await?)
    })
}
