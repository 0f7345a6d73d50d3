//! Persistence, for stores that outlive the process: what is written before a restart reads back after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn restart_user() -> UserRecord {
    UserRecord {
        id: "u-restart".into(),
        email: Some("Restart@Example.com".into()),
        user_handle: Uuid::from_u128(0x5e55_1011),
        created_at: at(0),
        metadata: Some(metadata(json!({ "survives": ["restarts", 1] }))),
    }
}

fn restart_credential() -> CredentialRecord {
    CredentialRecord {
        label: Some("Restart key".into()),
        ..credential("c-restart", "u-restart", at(0))
    }
}

fn restart_session() -> SessionRecord {
    SessionRecord {
        user_agent: Some("restart-test".into()),
        ..session("s-restart", "u-restart", at(0), at(10 * MINUTE))
    }
}

/// First half of the restart check for persistent stores: writes a user with a
/// credential and a session. Drop the store, open the same database again, then run
/// [`reads_back_after_restart`] on the new store.
pub async fn write_before_restart(store: &dyn Store) {
    store.create_user(&restart_user()).await.unwrap();
    store
        .create_credential(&restart_credential())
        .await
        .unwrap();
    store.create_session(&restart_session()).await.unwrap();
}

/// Second half of the restart check: everything [`write_before_restart`] wrote is there,
/// unchanged, and still indexed (by email, owner and token hash).
pub async fn reads_back_after_restart(store: &dyn Store) {
    let user = restart_user();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store.user_by_email("restart@example.com").await.unwrap(),
        Some(user)
    );
    let credentials = store.credentials_for_user("u-restart").await.unwrap();
    assert_eq!(as_json(&credentials), as_json(&vec![restart_credential()]));
    let session = restart_session();
    assert_eq!(
        store
            .session_by_token_hash(&session.token_hash, at(0))
            .await
            .unwrap(),
        Some(session)
    );
}
