//! Bearer secrets cannot leak through `{:?}`: the `Debug` of every type that carries a
//! session token, QR status token, desktop token, magic-link token or QR confirmation
//! code hides it, while its JSON stays exactly the protocol's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use passkey_magic_server::mail::{MagicLinkEmail, OutboxMessage};
use passkey_magic_server::secrets::{BearerToken, TokenHash};
use passkey_magic_shared::magic_links::{VerifyMagicLinkRequest, VerifyMagicLinkResponse};
use passkey_magic_shared::passkeys::RegisterVerifyResponse;
use passkey_magic_shared::qr::{
    CancelQrRequest, ConfirmQrRequest, CreateQrResponse, QrStatusQuery,
};
use passkey_magic_shared::sessions::SignInResponse;
use passkey_magic_shared::{QrStatus, Session, SessionGrant, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Debug;
use std::time::Duration;

const SECRET: &str = "SECRET-bearer-8c1f3e0a";
const AT: &str = "2026-11-29T21:41:38.000Z";

/// Parses `json` as `T`, checks it serialises back to the same JSON, and returns its
/// `Debug` text.
fn debug_of<T: DeserializeOwned + serde::Serialize + Debug>(json: Value) -> String {
    let value: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&value).unwrap(),
        json,
        "JSON unchanged"
    );
    format!("{value:?} {value:#?}")
}

#[test]
fn debug_of_every_secret_bearing_type_is_redacted() {
    let session = json!({
        "id": "s-1", "token": SECRET, "userId": "u-1", "authMethod": "passkey",
        "expiresAt": AT, "createdAt": AT,
    });
    let user = json!({"id": "u-1", "createdAt": AT});
    let credential = json!({
        "id": "c-1", "userId": "u-1", "publicKey": "pQECAyYgAQ", "counter": 1,
        "deviceType": "multiDevice", "backedUp": true, "createdAt": AT,
    });
    let printed = [
        format!("{:?}", BearerToken::new(SECRET)),
        format!("{:?}", Some(BearerToken::new(SECRET))),
        debug_of::<Session>(session.clone()),
        debug_of::<SessionGrant>(json!({"token": SECRET, "expiresAt": AT})),
        debug_of::<QrStatus>(json!({
            "state": "authenticated", "session": {"token": SECRET, "expiresAt": AT},
        })),
        debug_of::<CreateQrResponse>(json!({"sessionId": "q-1", "statusToken": SECRET})),
        debug_of::<CreateQrResponse>(json!({
            "sessionId": "q-1", "statusToken": "s", "confirmationCode": SECRET,
        })),
        debug_of::<ConfirmQrRequest>(json!({"confirmationCode": SECRET})),
        debug_of::<CancelQrRequest>(json!({"statusToken": SECRET})),
        debug_of::<QrStatusQuery>(json!({"token": SECRET, "wait": 25})),
        debug_of::<VerifyMagicLinkRequest>(json!({"token": SECRET})),
        debug_of::<SignInResponse>(json!({
            "method": "passkey", "user": user, "session": session,
        })),
        debug_of::<RegisterVerifyResponse>(json!({
            "method": "passkey", "user": user, "session": session, "credential": credential,
        })),
        debug_of::<VerifyMagicLinkResponse>(json!({
            "method": "magic-link", "user": user, "session": session, "isNewUser": true,
        })),
        debug_of::<OutboxMessage>(json!({
            "email": "ada@example.com", "url": format!("https://example.com/v?token={SECRET}"),
            "token": SECRET, "sentAt": AT, "subject": "Sign in to Example",
        })),
        format!(
            "{:?}",
            MagicLinkEmail::new(
                "ada@example.com",
                format!("https://example.com/v?token={SECRET}"),
                BearerToken::new(SECRET),
                "Example",
                Timestamp::from_unix_millis(1_795_988_498_000),
                Duration::from_secs(900),
            )
        ),
    ];
    for text in &printed {
        assert!(!text.contains(SECRET), "a secret in {text}");
    }
    // What storage keeps is the hash, and its `Debug` shows only a prefix of it.
    let hash = TokenHash::of(SECRET);
    assert!(!format!("{hash:?}").contains(&hash.to_hex()));
}
