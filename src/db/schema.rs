//! Diesel table definitions, shared by both backends.
//!
//! Generated from PostgreSQL (`diesel print-schema`) and kept by hand since: SQLite would print
//! `Integer` ids. `tests/schema_parity.rs` proves both migration sets produce these columns.
#![allow(missing_docs)]

diesel::table! {
    accounts (id) {
        id -> BigInt,
        identifier -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        prefix -> Text,
        secret_hash -> Text,
        user_id -> BigInt,
        account_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_inputs (id) {
        id -> BigInt,
        job_id -> BigInt,
        position -> Integer,
        name -> Text,
        status -> Integer,
        byte_amount -> BigInt,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        error_message -> Nullable<Text>,
    }
}

diesel::table! {
    job_counts (account_id, day, model_id, explain, image_classification_model, slot) {
        account_id -> BigInt,
        day -> Integer,
        model_id -> BigInt,
        explain -> Bool,
        image_classification_model -> Bool,
        slot -> Integer,
        created -> Integer,
        completed -> Integer,
        canceled -> Integer,
        timedout -> Integer,
        error -> Integer,
        final_updated_min -> Nullable<Timestamp>,
        final_updated_max -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_stats_packed (account_id, grain, period) {
        account_id -> BigInt,
        grain -> Integer,
        period -> Integer,
        cells -> Binary,
        totals -> Nullable<Binary>,
    }
}

diesel::table! {
    job_stats (account_id, grain, period, model_id, status, slot) {
        account_id -> BigInt,
        grain -> Integer,
        period -> Integer,
        model_id -> BigInt,
        status -> Integer,
        slot -> Integer,
        jobs -> BigInt,
        inputs -> BigInt,
        inputs_completed -> BigInt,
        inputs_failed -> BigInt,
        input_bytes -> BigInt,
        queue_count -> BigInt,
        queue_sum -> BigInt,
        queue_max -> BigInt,
        queue_hist -> Text,
        elapsed_count -> BigInt,
        elapsed_sum -> BigInt,
        elapsed_max -> BigInt,
        elapsed_hist -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        job_identifier -> Text,
        account_id -> BigInt,
        user_id -> BigInt,
        submitted_by -> Text,
        model_id -> BigInt,
        status -> Integer,
        explain -> Bool,
        image_classification_model -> Bool,
        timeout_ms -> Nullable<BigInt>,
        deadline_at -> Nullable<Timestamp>,
        total -> Integer,
        pending -> Integer,
        completed -> Integer,
        failed -> Integer,
        input_byte_amount -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        queue_ms -> Nullable<BigInt>,
        elapsed_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    models (id) {
        id -> BigInt,
        identifier -> Text,
        version -> Text,
        name -> Text,
    }
}

diesel::table! {
    user_job_counts (user_id, account_id, slot) {
        user_id -> BigInt,
        account_id -> BigInt,
        slot -> Integer,
        created -> Integer,
        completed -> Integer,
        canceled -> Integer,
        timedout -> Integer,
        error -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        identifier -> Text,
        external_identifier -> Text,
        account_id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
        status -> Text,
        title -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_keys -> accounts (account_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(job_inputs -> jobs (job_id));
diesel::joinable!(job_counts -> models (model_id));
diesel::joinable!(job_stats -> models (model_id));
diesel::joinable!(jobs -> accounts (account_id));
diesel::joinable!(jobs -> models (model_id));
diesel::joinable!(jobs -> users (user_id));
diesel::joinable!(user_job_counts -> users (user_id));
diesel::joinable!(users -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    api_keys,
    job_counts,
    job_inputs,
    job_stats,
    job_stats_packed,
    jobs,
    models,
    user_job_counts,
    users
);
