//! Strict parsing of request bodies, with the protocol's error messages.
//!
//! Serde alone cannot produce the spec's per-field messages, so request types implement
//! [`FromJsonObject`] on top of a [`Fields`] reader. `null` counts as absent everywhere.

use crate::error::RequestError;
use crate::limits::{MAX_BODY_BYTES, MAX_METADATA_BYTES};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A request body type that can be read from a JSON object.
pub trait FromJsonObject: Sized {
    /// Reads and validates the fields.
    ///
    /// # Errors
    /// The first field that is missing or invalid, as a [`RequestError`].
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError>;
}

/// Parses a request body: JSON, an object, then the type's fields.
///
/// # Errors
/// [`RequestError::InvalidJson`], [`RequestError::NotObject`], [`RequestError::TooLarge`]
/// or the type's field error.
///
/// ```
/// use passkey_magic_shared::{magic_links::SendMagicLinkRequest, request::parse_body};
/// let request: SendMagicLinkRequest = parse_body(br#"{"email":"ada@example.com"}"#).unwrap();
/// assert_eq!(request.email, "ada@example.com");
/// let error = parse_body::<SendMagicLinkRequest>(b"[]").unwrap_err();
/// assert_eq!(error.to_string(), "Request body must be a JSON object");
/// ```
pub fn parse_body<T: FromJsonObject>(body: &[u8]) -> Result<T, RequestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| RequestError::InvalidJson)?;
    parse_value(&value)
}

/// Like [`parse_body`], for a body that is already parsed.
///
/// # Errors
/// [`RequestError::NotObject`] or the type's field error.
pub fn parse_value<T: FromJsonObject>(value: &Value) -> Result<T, RequestError> {
    match value {
        Value::Object(map) => T::from_object(&Fields { map }),
        _ => Err(RequestError::NotObject),
    }
}

/// Read access to the fields of a request object.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// Wraps a JSON object.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields { map }
    }

    /// The value of a field; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|value| !value.is_null())
    }

    /// A non-empty string of at most `max_chars` characters.
    ///
    /// # Errors
    /// Missing/empty/not a string → [`RequestError::MissingField`]; too long →
    /// [`RequestError::InvalidField`].
    pub fn required_string(
        &self,
        name: &'static str,
        max_chars: usize,
    ) -> Result<String, RequestError> {
        match self.get(name) {
            Some(Value::String(text)) if !text.is_empty() => check_length(name, text, max_chars),
            _ => Err(RequestError::MissingField(name)),
        }
    }

    /// An optional string of at most `max_chars` characters.
    ///
    /// # Errors
    /// Not a string → [`RequestError::WrongType`]; too long → [`RequestError::InvalidField`].
    pub fn optional_string(
        &self,
        name: &'static str,
        max_chars: usize,
    ) -> Result<Option<String>, RequestError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => check_length(name, text, max_chars).map(Some),
            Some(_) => Err(RequestError::WrongType {
                name,
                expected: "string",
            }),
        }
    }

    /// An optional JSON object, decoded as `T` (metadata), at most
    /// [`MAX_METADATA_BYTES`] long as compact JSON.
    ///
    /// # Errors
    /// Not an object → [`RequestError::WrongType`]; too large or not a `T` →
    /// [`RequestError::InvalidField`].
    pub fn optional_object<T: DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, RequestError> {
        match self.get(name) {
            None => Ok(None),
            Some(value @ Value::Object(_)) => {
                let size = serde_json::to_vec(value)
                    .map(|bytes| bytes.len())
                    .unwrap_or(usize::MAX);
                if size > MAX_METADATA_BYTES {
                    return Err(RequestError::InvalidField(name));
                }
                T::deserialize(value)
                    .map(Some)
                    .map_err(|_| RequestError::InvalidField(name))
            }
            Some(_) => Err(RequestError::WrongType {
                name,
                expected: "object",
            }),
        }
    }

    /// A required JSON object decoded as `T` (a WebAuthn response).
    ///
    /// # Errors
    /// Missing or not an object → [`RequestError::MissingField`]; not a `T` →
    /// [`RequestError::InvalidField`].
    pub fn required_object<T: DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<T, RequestError> {
        match self.get(name) {
            Some(value @ Value::Object(_)) => {
                T::deserialize(value).map_err(|_| RequestError::InvalidField(name))
            }
            _ => Err(RequestError::MissingField(name)),
        }
    }
}

fn check_length(name: &'static str, text: &str, max_chars: usize) -> Result<String, RequestError> {
    // Byte length bounds char count from above: skip counting for short strings.
    if text.len() > max_chars && text.chars().count() > max_chars {
        return Err(RequestError::InvalidField(name));
    }
    Ok(text.to_owned())
}

/// A body with no fields (`{}`); any fields sent are ignored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Empty {}

impl FromJsonObject for Empty {
    fn from_object(_: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(Empty {})
    }
}

/// The `metadata` field of user and credential updates.
pub(crate) fn metadata<M: DeserializeOwned>(
    fields: &Fields<'_>,
) -> Result<Option<M>, RequestError> {
    fields.optional_object::<M>("metadata")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::Metadata;
    use serde_json::json;

    fn fields(value: &Value) -> Fields<'_> {
        match value {
            Value::Object(map) => Fields::new(map),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn required_string_rules() {
        let v = json!({"a": "x", "empty": "", "num": 3, "nul": null, "long": "é".repeat(5)});
        let f = fields(&v);
        assert_eq!(f.required_string("a", 10).unwrap(), "x");
        for name in ["empty", "num", "nul", "absent"] {
            assert_eq!(
                f.required_string(name, 10).unwrap_err(),
                RequestError::MissingField(name)
            );
        }
        assert_eq!(f.required_string("long", 5).unwrap(), "ééééé");
        assert_eq!(
            f.required_string("long", 4).unwrap_err(),
            RequestError::InvalidField("long")
        );
    }

    #[test]
    fn optional_string_rules() {
        let v = json!({"a": "x", "num": 3, "nul": null});
        let f = fields(&v);
        assert_eq!(f.optional_string("a", 1).unwrap().as_deref(), Some("x"));
        assert_eq!(f.optional_string("nul", 1).unwrap(), None);
        assert_eq!(f.optional_string("absent", 1).unwrap(), None);
        assert_eq!(
            f.optional_string("num", 1).unwrap_err().to_string(),
            "Invalid field: num (expected string)"
        );
        assert_eq!(
            f.optional_string("a", 0).unwrap_err(),
            RequestError::InvalidField("a")
        );
    }

    #[test]
    fn optional_object_rules() {
        let big = "x".repeat(MAX_METADATA_BYTES);
        let v = json!({"m": {"plan": "pro"}, "s": "str", "big": {"k": big}});
        let f = fields(&v);
        let m: Option<Metadata> = f.optional_object("m").unwrap();
        assert_eq!(m.unwrap()["plan"], "pro");
        assert_eq!(
            f.optional_object::<Metadata>("s").unwrap_err().to_string(),
            "Invalid field: s (expected object)"
        );
        assert_eq!(
            f.optional_object::<Metadata>("big").unwrap_err(),
            RequestError::InvalidField("big")
        );
    }

    #[test]
    fn body_level_errors() {
        assert_eq!(
            parse_body::<Empty>(b"{nope").unwrap_err(),
            RequestError::InvalidJson
        );
        assert_eq!(
            parse_body::<Empty>(b"").unwrap_err(),
            RequestError::InvalidJson
        );
        assert_eq!(
            parse_body::<Empty>(b"null").unwrap_err(),
            RequestError::NotObject
        );
        assert_eq!(
            parse_body::<Empty>(b"\"s\"").unwrap_err(),
            RequestError::NotObject
        );
        assert!(parse_body::<Empty>(b"{\"extra\":1}").is_ok());
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            parse_body::<Empty>(&huge).unwrap_err(),
            RequestError::TooLarge
        );
    }
}
