-- The job-history data model (see docs/ARCHITECTURE.md). Keep migrations/sqlite in step:
-- tests/schema_parity.rs proves both backends end with the same tables and columns.

CREATE TABLE accounts (
    id          BIGSERIAL PRIMARY KEY,
    identifier  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id                  BIGSERIAL PRIMARY KEY,
    identifier          TEXT NOT NULL UNIQUE,
    external_identifier TEXT NOT NULL,
    account_id          BIGINT NOT NULL REFERENCES accounts (id),
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    email               TEXT NOT NULL,
    status              TEXT NOT NULL,
    title               TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX users_account_idx ON users (account_id, id);

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    prefix       TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    role         TEXT NOT NULL CHECK (role IN ('user', 'worker', 'admin')),
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE models (
    id          BIGSERIAL PRIMARY KEY,
    identifier  TEXT NOT NULL,
    version     TEXT NOT NULL,
    name        TEXT NOT NULL,
    UNIQUE (identifier, version)
);

-- status: 0 SUBMITTED, 1 IN_PROGRESS, 2 COMPLETED, 3 CANCELED, 4 TIMEDOUT, 5 ERROR
-- (lifecycle order, so `status <= 1` is the pending group and STATUS sorts by progress).
CREATE TABLE jobs (
    id                          BIGSERIAL PRIMARY KEY,
    job_identifier              TEXT NOT NULL UNIQUE,
    account_id                  BIGINT NOT NULL REFERENCES accounts (id),
    user_id                     BIGINT NOT NULL REFERENCES users (id),
    submitted_by                TEXT NOT NULL,
    model_id                    BIGINT NOT NULL REFERENCES models (id),
    status                      INTEGER NOT NULL CHECK (status BETWEEN 0 AND 5),
    explain                     BOOLEAN NOT NULL,
    image_classification_model  BOOLEAN NOT NULL,
    timeout_ms                  BIGINT CHECK (timeout_ms > 0),
    deadline_at                 TIMESTAMP,
    total                       INTEGER NOT NULL,
    pending                     INTEGER NOT NULL CHECK (pending >= 0),
    completed                   INTEGER NOT NULL CHECK (completed >= 0),
    failed                      INTEGER NOT NULL CHECK (failed >= 0),
    input_byte_amount           BIGINT NOT NULL CHECK (input_byte_amount >= 0),
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL,
    submitted_at                TIMESTAMP NOT NULL,
    started_at                  TIMESTAMP,
    finished_at                 TIMESTAMP,
    queue_ms                    BIGINT,
    elapsed_ms                  BIGINT,
    CHECK (total = pending + completed + failed),
    CHECK ((timeout_ms IS NULL) = (deadline_at IS NULL))
);
-- Every history query is scoped to one account: one index per sort key, id as the tie-break.
-- Nullable sort keys sort NULL as the smallest value on both backends (SQLite's rule).
CREATE INDEX jobs_account_created_idx   ON jobs (account_id, created_at, id);
CREATE INDEX jobs_account_submitted_idx ON jobs (account_id, submitted_at, id);
CREATE INDEX jobs_account_updated_idx   ON jobs (account_id, updated_at, id);
CREATE INDEX jobs_account_status_idx    ON jobs (account_id, status, id);
CREATE INDEX jobs_account_elapsed_idx   ON jobs (account_id, elapsed_ms NULLS FIRST, id);
CREATE INDEX jobs_account_queue_idx     ON jobs (account_id, queue_ms NULLS FIRST, id);
CREATE INDEX jobs_account_bytes_idx     ON jobs (account_id, input_byte_amount, id);
CREATE INDEX jobs_account_total_idx     ON jobs (account_id, total, id);
-- Filters: status group over a date range, user, key prefix, model.
CREATE INDEX jobs_account_status_created_idx ON jobs (account_id, status, created_at);
CREATE INDEX jobs_user_idx         ON jobs (user_id, created_at);
CREATE INDEX jobs_submitted_by_idx ON jobs (submitted_by, created_at);
CREATE INDEX jobs_model_idx        ON jobs (model_id, created_at);
-- Administrators read across accounts, newest first.
CREATE INDEX jobs_created_idx      ON jobs (created_at, id);
-- The timeout sweeper looks only at pending jobs that can time out.
CREATE INDEX jobs_pending_deadline_idx ON jobs (deadline_at) WHERE status <= 1 AND deadline_at IS NOT NULL;

-- status: 0 PENDING, 1 COMPLETED, 2 FAILED
CREATE TABLE job_inputs (
    id             BIGSERIAL PRIMARY KEY,
    job_id         BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    status         INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    byte_amount    BIGINT NOT NULL CHECK (byte_amount >= 0),
    started_at     TIMESTAMP,
    finished_at    TIMESTAMP,
    error_message  TEXT,
    UNIQUE (job_id, position),
    UNIQUE (job_id, name)
);
