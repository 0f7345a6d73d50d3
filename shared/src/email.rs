//! Email syntax and canonical form.
//!
//! The protocol accepts `something@something.tld`: one `@`, no whitespace, a dot inside
//! the domain, at most [`MAX_EMAIL_LEN`] characters, **ASCII only** (internationalised
//! domains in their `xn--` form). Deliverability is proven by the magic link, not by
//! syntax. Emails are matched by **ASCII** lower-casing only: [`canonical`] is the key
//! under which an address is unique. Full Unicode case rules would make different
//! addresses equal (`"\u{212A}ate@…"`, with a Kelvin sign, lower-cases to `kate@…`), so
//! addresses that cannot be compared that way are refused instead.

use crate::limits::MAX_EMAIL_LEN;

/// Whether `email` has the protocol's email syntax.
///
/// ```
/// use passkey_magic_shared::email::is_valid;
/// assert!(is_valid("ada@example.com"));
/// assert!(!is_valid("ada@localhost"));
/// assert!(!is_valid("ada lovelace@example.com"));
/// ```
pub fn is_valid(email: &str) -> bool {
    if email.len() > MAX_EMAIL_LEN
        || !email.is_ascii()
        || email
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.contains('@') {
        return false;
    }
    // A dot with at least one character on each side.
    domain
        .char_indices()
        .any(|(at, c)| c == '.' && at > 0 && at + 1 < domain.len())
}

/// The canonical form used to compare and index emails: ASCII lower case.
///
/// ```
/// use passkey_magic_shared::email::canonical;
/// assert_eq!(canonical("Ada@Example.COM"), "ada@example.com");
/// ```
pub fn canonical(email: &str) -> String {
    email.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ascii_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "j@xn--bcher-kva.de",
            "x@y.z",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
    }

    /// Non-ASCII addresses cannot be compared safely: the Kelvin sign lower-cases to `k`
    /// under Unicode rules, so `\u{212A}ate@…` would be Kate's address.
    #[test]
    fn refuses_what_cannot_be_compared_by_ascii_case() {
        for bad in [
            "\u{212A}ate@example.com",
            "jürgen@bücher.de",
            "a\u{200B}@example.com",
            "evil\u{202E}@example.com",
            "a\u{7F}@example.com",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert_eq!(canonical("Kate@Example.COM"), "kate@example.com");
        assert_ne!(canonical("\u{212A}ate@example.com"), "kate@example.com");
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@.com",
            "a@com.",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@b.com\n",
            "\ta@b.com",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn enforces_the_length_limit() {
        let domain = "@example.com";
        let at_limit = format!("{}{}", "a".repeat(MAX_EMAIL_LEN - domain.len()), domain);
        assert!(is_valid(&at_limit));
        let over = format!("a{at_limit}");
        assert!(!is_valid(&over));
    }
}
