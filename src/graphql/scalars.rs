//! Custom scalars: `Long` (64-bit integers, since GraphQL's `Int` is 32-bit) and `DateTime`
//! (ISO 8601 with milliseconds and offset, always UTC on output).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, NaiveDateTime, SecondsFormat, Utc};

/// A signed 64-bit integer, for byte amounts and durations in milliseconds. Serialized as a
/// JSON number; accepted as a number or a decimal string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Long(pub i64);

/// A signed 64-bit integer (GraphQL's `Int` is 32-bit). Byte amounts and durations in
/// milliseconds use it. Serialized as a JSON number; accepted as a number or a decimal string.
#[Scalar(name = "Long")]
impl ScalarType for Long {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_i64()
                .map(Long)
                .ok_or_else(|| InputValueError::custom("Long must be an integer within ±2^63")),
            Value::String(s) => s
                .parse()
                .map(Long)
                .map_err(|_| InputValueError::custom("Long must be a decimal integer")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Checked during validation, so a bad value is reported with its argument path.
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// An instant, as ISO 8601 / RFC 3339 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

impl DateTime {
    /// From a stored UTC timestamp.
    pub fn from_naive(t: NaiveDateTime) -> Self {
        Self(t.and_utc())
    }

    /// As a stored UTC timestamp.
    pub fn naive(self) -> NaiveDateTime {
        self.0.naive_utc()
    }

    /// The text form every transport sends: UTC, milliseconds, explicit offset.
    pub fn to_iso(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, false)
    }
}

/// An instant in ISO 8601 / RFC 3339 form. Output is UTC with milliseconds and an explicit
/// offset (`2026-05-01T12:30:00.250+00:00`); input accepts any offset and precision.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => ChronoDateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "{s:?} is not an ISO 8601 date-time with offset, e.g. 2026-05-01T12:30:00Z"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Checked during validation, so a bad value is reported with its argument path.
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if ChronoDateTime::parse_from_rfc3339(s).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_iso())
    }
}

/// What a value of the custom scalar `type_name` must look like, for error messages (`None`
/// for types that are not ours).
pub fn expectation(type_name: &str) -> Option<&'static str> {
    match type_name {
        "DateTime" => Some("an ISO 8601 date-time with an offset, e.g. 2026-05-01T12:30:00Z"),
        "Long" => Some("a 64-bit integer, as a JSON number or a decimal string"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_prints_milliseconds_and_offset() {
        let t = ChronoDateTime::parse_from_rfc3339("2026-05-01T12:30:00.2504Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            DateTime(t).to_value(),
            Value::String("2026-05-01T12:30:00.250+00:00".into())
        );
    }

    #[test]
    fn datetime_parses_offsets_and_rejects_garbage() {
        let t = <DateTime as ScalarType>::parse(Value::String("2026-05-01T14:30:00+02:00".into()))
            .unwrap();
        assert_eq!(t.0.to_rfc3339(), "2026-05-01T12:30:00+00:00");
        assert!(<DateTime as ScalarType>::parse(Value::String("yesterday".into())).is_err());
        assert!(<DateTime as ScalarType>::parse(Value::String("2026-05-01".into())).is_err());
    }

    #[test]
    fn long_holds_64_bits() {
        let big = i64::from(i32::MAX) * 4;
        assert_eq!(Long(big).to_value(), Value::Number(big.into()));
        assert_eq!(
            <Long as ScalarType>::parse(Value::String(big.to_string())).unwrap(),
            Long(big)
        );
        assert!(<Long as ScalarType>::parse(Value::String("1.5".into())).is_err());
    }
}
