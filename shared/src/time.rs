//! Timestamps: Unix milliseconds inside, ISO-8601 UTC strings on the wire.
//!
//! The wire format matches JavaScript's `Date.prototype.toISOString()`
//! (`2026-11-24T21:41:38.000Z`), so v0.4 clients can parse what we send; any RFC 3339
//! string is accepted when reading.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset, macros::format_description};

/// A point in time with millisecond precision, in UTC.
///
/// ```
/// use passkey_magic_shared::Timestamp;
/// let t = Timestamp::from_unix_millis(1_795_988_498_000);
/// assert_eq!(t.to_string(), "2026-11-29T21:41:38.000Z");
/// assert_eq!("2026-11-29T21:41:38Z".parse::<Timestamp>().unwrap(), t);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A string that is not an RFC 3339 timestamp in the supported range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp (expected an ISO-8601/RFC 3339 string)")]
pub struct InvalidTimestamp;

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> i64 {
        self.0
    }

    /// This timestamp moved forward by `millis` milliseconds (saturating).
    pub const fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis))
    }

    /// This timestamp moved forward by `duration` (whole milliseconds), saturating at the
    /// end of the representable range instead of overflowing.
    ///
    /// ```
    /// use passkey_magic_shared::Timestamp;
    /// use std::time::Duration;
    /// let t = Timestamp::from_unix_millis(1_000);
    /// assert_eq!(t.saturating_add(Duration::from_secs(2)).as_unix_millis(), 3_000);
    /// assert_eq!(t.saturating_add(Duration::MAX).as_unix_millis(), i64::MAX);
    /// ```
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        self.plus_millis(millis)
    }

    /// This timestamp moved back by `duration` (whole milliseconds), saturating.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(millis))
    }

    /// How long after `earlier` this timestamp is; zero when it is not later.
    ///
    /// ```
    /// use passkey_magic_shared::Timestamp;
    /// use std::time::Duration;
    /// let (a, b) = (Timestamp::from_unix_millis(1_000), Timestamp::from_unix_millis(3_500));
    /// assert_eq!(b.saturating_duration_since(a), Duration::from_millis(2_500));
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        let millis = self.0.saturating_sub(earlier.0);
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }

    fn to_offset_date_time(self) -> Option<OffsetDateTime> {
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ISO: &[time::format_description::BorrowedFormatItem<'_>] = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        match self.to_offset_date_time().and_then(|t| t.format(ISO).ok()) {
            Some(text) => f.write_str(&text),
            None => Err(fmt::Error),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| InvalidTimestamp)?;
        let millis = parsed.to_offset(UtcOffset::UTC).unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis)
            .map(Timestamp)
            .map_err(|_| InvalidTimestamp)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO-8601 timestamp string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// On the wire: an ISO-8601 / RFC 3339 string (`2026-11-29T21:41:38.000Z`).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("ISO-8601 timestamp in UTC with milliseconds."))
            .examples(["2026-11-29T21:41:38.000Z"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript_to_iso_string() {
        assert_eq!(
            Timestamp::from_unix_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(1_795_988_498_123).to_string(),
            "2026-11-29T21:41:38.123Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let t: Timestamp = "2026-11-29T22:41:38.123+01:00".parse().unwrap();
        assert_eq!(t.as_unix_millis(), 1_795_988_498_123);
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn json_round_trip() {
        let t = Timestamp::from_unix_millis(1_795_988_498_001);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-29T21:41:38.001Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }
}
