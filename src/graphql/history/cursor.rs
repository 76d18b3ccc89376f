//! Opaque cursors of the `jobs` connection: base64url (no padding) of a small JSON document
//! carrying the order it was issued for, the row's sort key and its id. A cursor used with
//! another order, or that does not decode, is a `BAD_USER_INPUT` error, never a panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::order::JobOrder;
use crate::db::jobs::{Seek, SortKey, from_micros};
use crate::db::models::Job;
use crate::domain::JobId;
use crate::graphql::error::ApiError;

#[derive(Serialize, Deserialize)]
struct Wire {
    /// Order label, e.g. `CREATED_AT DESC`.
    o: String,
    /// Sort key (timestamps as microseconds); null for a NULL key.
    k: Option<i64>,
    /// `jobs.id`.
    i: i64,
}

/// The cursor of `job` in `order`.
pub fn encode(order: JobOrder, job: &Job) -> String {
    let wire = Wire {
        o: order.label(),
        k: order.sort().key.key_of(job),
        i: job.id.0,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("cursor serializes"))
}

/// Decodes the cursor passed as `argument` (`after`/`before`) for `order`.
pub fn decode(argument: &str, cursor: &str, order: JobOrder) -> Result<Seek, ApiError> {
    let invalid = || {
        ApiError::bad_input(format!(
            "`{argument}` is not a valid cursor: \
             pass a cursor returned by this connection's edges or pageInfo"
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if wire.o != order.label() {
        return Err(ApiError::bad_input(format!(
            "`{argument}` is a cursor for the order {} but this request orders by {}: \
             drop the cursor to start over, or request the order the cursor came from",
            wire.o,
            order.label()
        )));
    }
    let key = order.sort().key;
    let key_fits = match (key, wire.k) {
        (_, None) => key.nullable(),
        (SortKey::CreatedAt | SortKey::SubmittedAt | SortKey::UpdatedAt, Some(v)) => {
            from_micros(v).is_some()
        }
        (SortKey::Status | SortKey::Total, Some(v)) => i32::try_from(v).is_ok(),
        (_, Some(_)) => true,
    };
    if !key_fits || wire.i < 0 {
        return Err(invalid());
    }
    Ok(Seek {
        key: wire.k,
        id: JobId(wire.i),
    })
}

#[cfg(test)]
mod tests {
    use super::super::order::{JobOrderField, OrderDirection};
    use super::*;

    fn order(field: JobOrderField, direction: OrderDirection) -> JobOrder {
        JobOrder { field, direction }
    }

    fn wire(o: &str, k: Option<i64>, i: i64) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Wire { o: o.into(), k, i }).unwrap())
    }

    #[test]
    fn cursors_round_trip() {
        let o = order(JobOrderField::ElapsedTime, OrderDirection::Asc);
        let c = wire("ELAPSED_TIME ASC", None, 7);
        assert_eq!(
            decode("after", &c, o).unwrap(),
            Seek {
                key: None,
                id: JobId(7)
            }
        );
        let c = wire("ELAPSED_TIME ASC", Some(1500), 8);
        assert_eq!(
            decode("after", &c, o).unwrap(),
            Seek {
                key: Some(1500),
                id: JobId(8)
            }
        );
    }

    #[test]
    fn malformed_and_foreign_cursors_are_user_errors() {
        let o = JobOrder::default();
        for bad in [
            "",
            "%%%",
            "bm90IGpzb24",
            &wire("CREATED_AT DESC", None, 1),
            &wire("CREATED_AT DESC", Some(1), -1),
        ] {
            let e = decode("after", bad, o).unwrap_err();
            assert_eq!(e.code(), "BAD_USER_INPUT");
            assert!(
                e.message().contains("not a valid cursor"),
                "{}",
                e.message()
            );
        }
        let foreign = wire("STATUS ASC", Some(1), 1);
        let e = decode("before", &foreign, o).unwrap_err();
        assert!(
            e.message().contains(
                "cursor for the order STATUS ASC but this request orders by CREATED_AT DESC"
            ),
            "{}",
            e.message()
        );
        let too_big = wire("STATUS ASC", Some(i64::MAX), 1);
        assert!(
            decode(
                "after",
                &too_big,
                order(JobOrderField::Status, OrderDirection::Asc)
            )
            .is_err()
        );
    }
}
