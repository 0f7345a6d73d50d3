//! Input hygiene: what text the engine accepts beyond the protocol's lengths.
//!
//! - **Invisible and control characters** are refused in credential labels, user names
//!   and metadata keys ([`is_safe_text`]): C0/C1 controls, bidirectional overrides and
//!   isolates (which reorder what a user sees, e.g. `U+202E`), zero-width characters and
//!   the byte-order mark (which make two different strings look the same).
//! - **Client-chosen user ids** (`register/options` with `userId`) are 1 to
//!   [`MAX_USER_ID_LEN`] characters of `A-Z a-z 0-9 . _ -` ([`is_safe_user_id`]): the id
//!   appears in URLs, logs and WebAuthn options, and an id that looks like another
//!   cannot be chosen. An id that exists is refused (`User already exists`).
//! - **Emails** are ASCII and compared by ASCII lower-casing only
//!   ([`passkey_magic_shared::email`]): full Unicode case rules make `"\u{212A}ate"`
//!   (Kelvin sign) equal `kate`.

use passkey_magic_shared::Metadata;

/// Longest client-chosen user id.
pub const MAX_USER_ID_LEN: usize = 64;

/// Whether `c` is invisible or reorders text: a control character, a bidirectional
/// formatting character, a zero-width character or the byte-order mark.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                      // soft hyphen
            | '\u{061C}'                    // Arabic letter mark
            | '\u{180E}'                    // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}'       // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202E}'       // separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}'       // bidi isolates
            | '\u{FEFF}'                    // byte-order mark, zero-width no-break space
        )
}

/// Whether `text` has no [invisible](is_invisible) character.
pub fn is_safe_text(text: &str) -> bool {
    !text.chars().any(is_invisible)
}

/// Whether `id` is an acceptable client-chosen user id.
pub fn is_safe_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_USER_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether every key of `metadata`, at any depth, is [safe text](is_safe_text).
pub fn has_safe_keys(metadata: &Metadata) -> bool {
    fn value_ok(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => map
                .iter()
                .all(|(key, value)| is_safe_text(key) && value_ok(value)),
            serde_json::Value::Array(items) => items.iter().all(value_ok),
            _ => true,
        }
    }
    metadata
        .iter()
        .all(|(key, value)| is_safe_text(key) && value_ok(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_refused() {
        for bad in [
            "evil\u{202E}gpj.exe",
            "a\u{200B}b",
            "\u{FEFF}x",
            "tab\there",
            "line\nbreak",
            "iso\u{2066}late",
            "\u{7F}",
        ] {
            assert!(!is_safe_text(bad), "{bad:?}");
        }
        for good in ["My phone", "Jürgen's YubiKey 5", "日本語", "emoji 🔑"] {
            assert!(is_safe_text(good), "{good:?}");
        }
    }

    #[test]
    fn user_ids_have_a_safe_charset_and_length() {
        for good in ["user-1", "a", "A.b_c-9", &"x".repeat(MAX_USER_ID_LEN)] {
            assert!(is_safe_user_id(good), "{good:?}");
        }
        for bad in [
            "",
            "with space",
            "slash/",
            "ünïcode",
            "a\u{200B}",
            "../admin",
            "x@y",
            &"x".repeat(MAX_USER_ID_LEN + 1),
        ] {
            assert!(!is_safe_user_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn metadata_keys_are_checked_at_every_depth() {
        let ok: Metadata = serde_json::from_str(r#"{"a": {"b": [{"c": 1}]}}"#).unwrap();
        assert!(has_safe_keys(&ok));
        let bad: Metadata = serde_json::from_str(r#"{"a": {"b": [{"c\u200b": 1}]}}"#).unwrap();
        assert!(!has_safe_keys(&bad));
        let values_may_be_anything: Metadata =
            serde_json::from_str(r#"{"note": "line\nbreak"}"#).unwrap();
        assert!(has_safe_keys(&values_may_be_anything));
    }
}
