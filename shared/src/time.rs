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
        match self.iso_bytes() {
            Some(bytes) => f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?),
            None => match self.format_extended() {
                Some(text) => f.write_str(&text),
                None => Err(fmt::Error),
            },
        }
    }
}

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for the years 0000–9999, built on the stack: every
    /// response carries timestamps, and the general formatter below costs an allocation
    /// and a format-description walk for each. `None` outside those years.
    fn iso_bytes(self) -> Option<[u8; 24]> {
        let t = self.to_offset_date_time()?;
        let year = u32::try_from(t.year()).ok().filter(|year| *year <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00.000Z";
        put_digits(&mut out[0..4], year);
        put_digits(&mut out[5..7], u32::from(u8::from(t.month())));
        put_digits(&mut out[8..10], u32::from(t.day()));
        put_digits(&mut out[11..13], u32::from(t.hour()));
        put_digits(&mut out[14..16], u32::from(t.minute()));
        put_digits(&mut out[17..19], u32::from(t.second()));
        put_digits(&mut out[20..23], u32::from(t.millisecond()));
        Some(out)
    }

    /// Any representable year, through `time`'s formatter.
    fn format_extended(self) -> Option<String> {
        const ISO: &[time::format_description::BorrowedFormatItem<'_>] = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        self.to_offset_date_time()?.format(ISO).ok()
    }
}

/// Writes `value` as decimal digits filling `slot` (zero-padded on the left).
fn put_digits(slot: &mut [u8], mut value: u32) {
    for byte in slot.iter_mut().rev() {
        // `value % 10` is below 10: the conversion cannot fail.
        *byte = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
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
        match self.iso_bytes() {
            Some(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => Err(serde::ser::Error::custom("unformattable timestamp")),
            },
            // `collect_str` would panic on a formatting error: a timestamp beyond the
            // calendar's range is an error instead.
            None => match self.format_extended() {
                Some(text) => serializer.serialize_str(&text),
                None => Err(serde::ser::Error::custom("timestamp out of range")),
            },
        }
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
    fn the_fast_format_matches_the_general_one() {
        // Leap days, month and year ends, the epoch, both ends of the four-digit years.
        let mut samples = vec![
            i64::MIN / 1_000_000,
            -62_167_219_200_000,
            -1,
            0,
            951_782_400_000,
            951_868_799_999,
            1_709_164_800_123,
            253_402_300_799_999,
            253_402_300_800_000,
        ];
        let mut t: i64 = -62_167_219_200_000;
        while t < 253_402_300_800_000 {
            samples.push(t);
            t += 86_399_999_937; // a little under a day, to wander through every field
        }
        for millis in samples {
            let stamp = Timestamp::from_unix_millis(millis);
            match stamp.iso_bytes() {
                Some(bytes) => assert_eq!(
                    std::str::from_utf8(&bytes).unwrap(),
                    stamp.format_extended().unwrap(),
                    "{millis}"
                ),
                None => assert!(!(-62_167_219_200_000..253_402_300_800_000).contains(&millis)),
            }
            match stamp.format_extended() {
                Some(text) => assert_eq!(
                    serde_json::to_string(&stamp).unwrap(),
                    format!("\"{text}\"")
                ),
                None => assert!(serde_json::to_string(&stamp).is_err()),
            }
        }
        assert_eq!(
            Timestamp::from_unix_millis(253_402_300_799_999).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        assert!(
            Timestamp::from_unix_millis(253_402_300_800_000)
                .iso_bytes()
                .is_none()
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
