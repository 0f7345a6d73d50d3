//! Bearer secrets: generated from the OS CSPRNG, stored only as SHA-256 hashes, compared
//! in constant time, never printed.
//!
//! Every bearer secret is a [`BearerToken`] (the protocol's type, whose `Debug` is
//! redacted); what storage keeps is its [`TokenHash`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use passkey_magic_shared::BearerToken;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// Bytes of entropy in every bearer token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// The OS random generator failed (it does not on supported platforms).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the OS random number generator failed: {0}")]
pub struct RandomError(String);

/// Fills an array from the OS CSPRNG.
///
/// # Errors
/// [`RandomError`] if the OS refuses.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| RandomError(error.to_string()))?;
    Ok(bytes)
}

/// A new random bearer token: 256 bits, base64url (43 characters).
///
/// # Errors
/// [`RandomError`] if the OS refuses.
pub fn generate_token() -> Result<BearerToken, RandomError> {
    Ok(BearerToken::new(
        URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?),
    ))
}

/// SHA-256 of a bearer secret: what storage keeps. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The SHA-256 hash under which a bearer secret (a token as issued or as a client
    /// presented it, or a salted confirmation code) is stored.
    pub fn of(secret: &str) -> Self {
        TokenHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// The hash of a [`BearerToken`].
    pub fn of_token(token: &BearerToken) -> Self {
        Self::of(token.expose())
    }

    /// From stored bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenHash(bytes)
    }

    /// The hash bytes (for storage keys).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for text keys (Redis, logs of *hashes* only).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses [`TokenHash::to_hex`] output.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
        }
        Some(TokenHash(bytes))
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TokenHash::from_hex(&text).ok_or_else(|| serde::de::Error::custom("invalid token hash"))
    }
}

/// A new random id (UUID v4 text), the default id generator.
///
/// # Errors
/// [`RandomError`] if the OS refuses.
pub fn random_id() -> Result<String, RandomError> {
    Ok(uuid::Builder::from_random_bytes(random_bytes::<16>()?)
        .into_uuid()
        .to_string())
}

/// A new random WebAuthn user handle.
///
/// # Errors
/// [`RandomError`] if the OS refuses.
pub fn random_user_handle() -> Result<uuid::Uuid, RandomError> {
    Ok(uuid::Builder::from_random_bytes(random_bytes::<16>()?).into_uuid())
}

/// Base64url (no padding) encoding, the WebAuthn JSON form of binary values.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_ne!(TokenHash::of_token(&a), TokenHash::of_token(&b));
    }

    #[test]
    fn hashes_are_stable_and_round_trip() {
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let hash = TokenHash::of_token(&BearerToken::new("abc"));
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), hash);
    }

    #[test]
    fn secrets_never_print() {
        let token = BearerToken::new("super-secret");
        let hash = TokenHash::of_token(&token);
        assert!(!format!("{token:?}").contains("super"));
        assert!(!format!("{hash:?}").contains(&hash.to_hex()));
    }

    #[test]
    fn ids_are_uuids() {
        let id = random_id().unwrap();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert_ne!(id, random_id().unwrap());
    }
}
