//! Users: creation, lookup by id and email, unique emails, the email lock-out guard, metadata.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Users are created, found by id and by email (any case), updated, and deleted once.
pub async fn users_round_trip(store: &dyn Store) {
    let mut ada = user("u-ada", Some("Ada@Example.com"));
    ada.metadata = Some(metadata(json!({ "plan": "pro" })));
    store.create_user(&ada).await.unwrap();

    assert_eq!(store.user_by_id("u-ada").await.unwrap(), Some(ada.clone()));
    assert_eq!(
        store.user_by_email("ada@example.COM").await.unwrap(),
        Some(ada.clone()),
        "email lookup ignores case and returns the email as typed"
    );
    assert_eq!(store.user_by_id("u-nobody").await.unwrap(), None);
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );

    let passkey_only = user("u-passkey-only", None);
    store.create_user(&passkey_only).await.unwrap();
    assert_eq!(
        store.user_by_id("u-passkey-only").await.unwrap(),
        Some(passkey_only)
    );

    let new_metadata = metadata(json!({ "plan": "free" }));
    assert!(
        store
            .set_user_metadata("u-ada", Some(&new_metadata))
            .await
            .unwrap()
    );
    let stored = store.user_by_id("u-ada").await.unwrap().unwrap();
    assert_eq!(stored.metadata, Some(new_metadata.clone()));
    assert!(store.set_user_metadata("u-ada", None).await.unwrap());
    let stored = store.user_by_id("u-ada").await.unwrap().unwrap();
    assert_eq!(stored.metadata, None);
    assert!(
        !store
            .set_user_metadata("u-nobody", Some(&new_metadata))
            .await
            .unwrap()
    );

    assert!(store.delete_user("u-ada").await.unwrap());
    assert!(!store.delete_user("u-ada").await.unwrap());
    assert_eq!(store.user_by_id("u-ada").await.unwrap(), None);
    assert_eq!(store.user_by_email("ada@example.com").await.unwrap(), None);
}

/// Two users cannot share an email in any ASCII letter case; users without an email are
/// many; an email is free again once changed or deleted. Only ASCII case is folded
/// (`email::canonical`): under Unicode rules the Kelvin sign `\u{212A}` would equal `k`,
/// so such addresses are refused by the engine before they reach a store, and a store
/// never treats them as the same address.
pub async fn emails_are_unique_case_insensitively(store: &dyn Store) {
    store
        .create_user(&user("u-1", Some("ada@example.com")))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_user(&user("u-2", Some("ADA@EXAMPLE.COM")))
            .await,
        Err(StoreError::Conflict("email"))
    );

    store
        .create_user(&user("u-kate", Some("Kate@Example.com")))
        .await
        .unwrap();
    let found = store.user_by_email("KATE@example.COM").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some("u-kate".to_owned()));
    let kelvin = store
        .user_by_email("\u{212A}ate@example.com")
        .await
        .unwrap();
    assert_eq!(kelvin, None, "the Kelvin sign is not a k");

    for id in ["u-none-1", "u-none-2", "u-none-3"] {
        store.create_user(&user(id, None)).await.unwrap();
    }

    // Changing an email frees the old one; deleting a user frees its email.
    assert_eq!(
        store
            .set_user_email("u-1", Some("ada@new.example.com"))
            .await,
        Ok(Guarded::Done)
    );
    store
        .create_user(&user("u-4", Some("Ada@Example.com")))
        .await
        .unwrap();
    assert!(store.delete_user("u-kate").await.unwrap());
    store
        .create_user(&user("u-5", Some("kate@example.com")))
        .await
        .unwrap();
}

/// Twenty sign-ups racing for one email: exactly one is stored, the rest get a conflict.
pub async fn concurrent_sign_ups_with_one_email_have_one_winner(store: &dyn Store) {
    let users: Vec<UserRecord> = (0..20)
        .map(|n| user(&format!("u-racer-{n}"), Some("Race@Example.com")))
        .collect();
    let results = join_all(users.iter().map(|u| store.create_user(u)).collect()).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "results: {results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict("email")))),
        "results: {results:?}"
    );
    let winner = store.user_by_email("race@example.com").await.unwrap();
    assert!(winner.is_some());
}

/// A second user with a taken id is refused, and the first is unchanged.
pub async fn user_ids_are_unique(store: &dyn Store) {
    let first = user("u-same", Some("first@example.com"));
    store.create_user(&first).await.unwrap();
    assert_eq!(
        store
            .create_user(&user("u-same", Some("second@example.com")))
            .await,
        Err(StoreError::Conflict("id"))
    );
    assert_eq!(store.user_by_id("u-same").await.unwrap(), Some(first));
    assert_eq!(
        store.user_by_email("second@example.com").await.unwrap(),
        None
    );
}

/// An email can be set, changed and re-cased freely, but cleared only while the user has
/// a passkey; another user's email is a conflict; an unknown user is not found.
pub async fn clearing_the_email_needs_a_passkey(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store
        .create_user(&user("u-other", Some("other@example.com")))
        .await
        .unwrap();

    assert_eq!(
        store.set_user_email("u-1", None).await,
        Ok(Guarded::WouldLockOut)
    );
    assert_eq!(
        store.set_user_email("u-1", Some("one@example.com")).await,
        Ok(Guarded::Done)
    );
    assert_eq!(
        store.set_user_email("u-1", None).await,
        Ok(Guarded::WouldLockOut),
        "the email is the only way in"
    );
    let stored = store.user_by_id("u-1").await.unwrap().unwrap();
    assert_eq!(stored.email.as_deref(), Some("one@example.com"));

    // Re-casing one's own email is not a conflict.
    assert_eq!(
        store.set_user_email("u-1", Some("One@Example.com")).await,
        Ok(Guarded::Done)
    );
    let stored = store
        .user_by_email("ONE@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email.as_deref(), Some("One@Example.com"));

    assert_eq!(
        store.set_user_email("u-1", Some("OTHER@example.com")).await,
        Err(StoreError::Conflict("email"))
    );
    let stored = store.user_by_id("u-1").await.unwrap().unwrap();
    assert_eq!(stored.email.as_deref(), Some("One@Example.com"));

    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();
    assert_eq!(store.set_user_email("u-1", None).await, Ok(Guarded::Done));
    let stored = store.user_by_id("u-1").await.unwrap().unwrap();
    assert_eq!(stored.email, None);
    assert_eq!(store.user_by_email("one@example.com").await.unwrap(), None);

    assert_eq!(
        store.set_user_email("u-nobody", None).await,
        Ok(Guarded::NotFound)
    );
    assert_eq!(
        store
            .set_user_email("u-nobody", Some("nobody@example.com"))
            .await,
        Ok(Guarded::NotFound)
    );
}

/// Metadata and auth context come back exactly: nested objects, arrays, numbers, nulls,
/// booleans and Unicode.
pub async fn metadata_round_trips_as_json(store: &dyn Store) {
    let rich = metadata(json!({
        "name": "Zoë 🦀 Ñandú",
        "nested": { "deeper": { "list": [1, 2.5, -3, true, null, "x"], "empty": {} } },
        "big": 9_007_199_254_740_991_i64,
        "quote": "she said \"hi\"\n\t\\",
        "日本語": "キー",
    }));
    let mut u = user("u-meta", Some("meta@example.com"));
    u.metadata = Some(rich.clone());
    store.create_user(&u).await.unwrap();
    assert_eq!(store.user_by_id("u-meta").await.unwrap(), Some(u));

    let mut c = credential("c-meta", "u-meta", at(0));
    c.metadata = Some(rich.clone());
    c.label = Some("Zoë's 🔑".into());
    store.create_credential(&c).await.unwrap();
    let stored = store.credential_by_id("c-meta").await.unwrap().unwrap();
    assert_eq!(stored.metadata, Some(rich.clone()));
    assert_eq!(stored.label.as_deref(), Some("Zoë's 🔑"));

    let mut s = session("s-meta", "u-meta", at(0), at(MINUTE));
    s.auth_method = AuthMethod::Qr;
    s.user_agent = Some("Mozilla/5.0 (Zoë)".into());
    s.ip_address = Some("2001:db8::1".into());
    s.auth_context = Some(AuthContext {
        qr_session_id: Some("qr-1".into()),
    });
    store.create_session(&s).await.unwrap();
    assert_eq!(
        store
            .session_by_token_hash(&s.token_hash, at(0))
            .await
            .unwrap(),
        Some(s)
    );
}
