//! Maintenance: purging expired rows, and deleting a user with everything it owns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Purging removes expired sessions and challenges, counts them, and keeps live rows.
pub async fn purge_removes_only_expired_rows(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    for s in [
        session("s-expired-1", "u-1", at(-2 * MINUTE), at(-MINUTE)),
        session("s-expired-2", "u-1", at(-2 * MINUTE), at(0)),
        session("s-live", "u-1", at(-2 * MINUTE), at(MINUTE)),
    ] {
        store.create_session(&s).await.unwrap();
    }
    let expired = challenge(at(0));
    let live = challenge(at(MINUTE));
    store.put_challenge(&expired).await.unwrap();
    store.put_challenge(&live).await.unwrap();

    assert_eq!(
        store.purge_expired(at(0)).await.map(|purged| purged.rows),
        Ok(3)
    );
    assert_eq!(
        store.purge_expired(at(0)).await.map(|purged| purged.rows),
        Ok(0)
    );
    // Looking back in time shows what is left: only live rows.
    assert_eq!(
        session_ids(
            &store
                .sessions_for_user("u-1", at(-3 * MINUTE))
                .await
                .unwrap()
        ),
        ["s-live"]
    );
    assert!(
        store
            .take_challenge(&expired.challenge, at(-MINUTE))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_challenge(&live.challenge, at(0))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.user_by_id("u-1").await.unwrap().is_some());
}

/// Deleting a user takes its credentials and sessions with it, and nobody else's.
pub async fn deleting_a_user_removes_its_credentials_and_sessions(store: &dyn Store) {
    for (id, address) in [
        ("u-gone", "gone@example.com"),
        ("u-kept", "kept@example.com"),
    ] {
        store.create_user(&user(id, Some(address))).await.unwrap();
        store
            .create_credential(&credential(&format!("c-{id}"), id, at(0)))
            .await
            .unwrap();
        store
            .create_session(&session(&format!("s-{id}"), id, at(0), at(MINUTE)))
            .await
            .unwrap();
    }

    assert!(store.delete_user("u-gone").await.unwrap());
    assert!(store.credential_by_id("c-u-gone").await.unwrap().is_none());
    assert!(
        store
            .credentials_for_user("u-gone")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .session_by_token_hash(&token("s-u-gone"), at(0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sessions_for_user("u-gone", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.delete_sessions_for_user("u-gone").await, Ok(0));

    assert!(store.credential_by_id("c-u-kept").await.unwrap().is_some());
    assert!(
        store
            .session_by_token_hash(&token("s-u-kept"), at(0))
            .await
            .unwrap()
            .is_some()
    );

    // The id is free again, with none of the old rows attached.
    store.create_user(&user("u-gone", None)).await.unwrap();
    assert!(
        store
            .credentials_for_user("u-gone")
            .await
            .unwrap()
            .is_empty()
    );
}
