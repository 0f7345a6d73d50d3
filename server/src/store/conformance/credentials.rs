//! Credentials: round trips, signature-counter compare-and-set, owner-only updates and deletes, the last-passkey lock-out guard.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Credentials come back field for field, listed per user oldest first (ties by id);
/// ids are unique and a credential needs an existing user.
pub async fn credentials_round_trip_oldest_first(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();

    let mut full = credential("c-b", "u-1", at(0));
    full.label = Some("Laptop".into());
    full.counter = 7;
    full.backed_up = false;
    full.last_used_at = Some(at(5));
    full.metadata = Some(metadata(json!({ "device": "laptop" })));
    let mut bare = credential("c-bare", "u-1", at(-MINUTE));
    bare.aaguid = None;
    bare.transports = Vec::new();
    bare.backup_eligible = false;
    bare.backed_up = false;
    let tie = credential("c-a", "u-1", at(0));
    let newest = credential("c-0-newest", "u-1", at(MINUTE));
    let others = credential("c-other", "u-2", at(-2 * MINUTE));
    for c in [&full, &bare, &tie, &newest, &others] {
        store.create_credential(c).await.unwrap();
    }

    let stored = store.credential_by_id("c-b").await.unwrap().unwrap();
    assert_eq!(as_json(&stored), as_json(&full));
    let stored = store.credential_by_id("c-bare").await.unwrap().unwrap();
    assert_eq!(as_json(&stored), as_json(&bare));
    assert!(store.credential_by_id("c-none").await.unwrap().is_none());

    let listed = store.credentials_for_user("u-1").await.unwrap();
    assert_eq!(ids(&listed), ["c-bare", "c-a", "c-b", "c-0-newest"]);
    assert_eq!(as_json(&listed[2]), as_json(&full));
    assert!(
        store
            .credentials_for_user("u-none")
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        store
            .create_credential(&credential("c-a", "u-2", at(0)))
            .await,
        Err(StoreError::Conflict("id"))
    );
    let stored = store.credential_by_id("c-a").await.unwrap().unwrap();
    assert_eq!(stored.user_id, "u-1");

    assert!(
        store
            .create_credential(&credential("c-orphan", "u-none", at(0)))
            .await
            .is_err(),
        "a credential needs an existing user"
    );
    assert!(store.credential_by_id("c-orphan").await.unwrap().is_none());
}

/// [`Store::credential_with_user`] returns a passkey field for field with its whole user
/// record (metadata included), and nothing for an unknown passkey or once the user is
/// deleted.
pub async fn credentials_are_found_with_their_user(store: &dyn Store) {
    let mut ada = user("u-1", Some("Ada@Example.com"));
    ada.metadata = Some(metadata(json!({ "plan": "pro", "n": 1 })));
    store.create_user(&ada).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    // Every column the two tables share differs, so a mixed-up join shows.
    let mut full = credential("c-1", "u-1", at(-MINUTE));
    full.label = Some("Laptop".into());
    full.counter = 7;
    full.last_used_at = Some(at(5));
    full.metadata = Some(metadata(json!({ "device": "laptop" })));
    store.create_credential(&full).await.unwrap();
    store
        .create_credential(&credential("c-2", "u-2", at(0)))
        .await
        .unwrap();

    let (found, owner) = store.credential_with_user("c-1").await.unwrap().unwrap();
    assert_eq!(as_json(&found), as_json(&full));
    assert_eq!(owner, ada);
    let (found, owner) = store.credential_with_user("c-2").await.unwrap().unwrap();
    assert_eq!((found.user_id.as_str(), owner.id.as_str()), ("u-2", "u-2"));
    assert!(
        store
            .credential_with_user("c-none")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.delete_user("u-2").await.unwrap());
    assert!(store.credential_with_user("c-2").await.unwrap().is_none());
}

/// A sign-in updates counter, backup state, passkey and last use, nothing else; an
/// unknown credential is ignored.
pub async fn credential_use_is_recorded(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let mut before = credential("c-1", "u-1", at(0));
    before.label = Some("Phone".into());
    store.create_credential(&before).await.unwrap();

    assert!(
        store
            .record_credential_use(&CredentialUsage {
                id: "c-1".into(),
                passkey: passkey(),
                counter: 42,
                backed_up: false,
                used_at: at(MINUTE),
            })
            .await
            .unwrap()
    );
    let after = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(after.counter, 42);
    assert!(!after.backed_up);
    assert_eq!(after.last_used_at, Some(at(MINUTE)));
    assert_eq!(as_json(&after.passkey), as_json(&passkey()));
    let expected = CredentialRecord {
        counter: 42,
        backed_up: false,
        last_used_at: Some(at(MINUTE)),
        ..before
    };
    assert_eq!(as_json(&after), as_json(&expected));

    assert!(
        !store
            .record_credential_use(&CredentialUsage {
                id: "c-none".into(),
                passkey: passkey(),
                counter: u32::MAX,
                backed_up: true,
                used_at: at(2 * MINUTE),
            })
            .await
            .unwrap()
    );
    assert!(store.credential_by_id("c-none").await.unwrap().is_none());
}

fn usage(id: &str, counter: u32, used_at: Timestamp) -> CredentialUsage {
    CredentialUsage {
        id: id.to_owned(),
        passkey: passkey(),
        counter,
        backed_up: true,
        used_at,
    }
}

/// A use is recorded only when the signature counter moves forward (or stays 0 for an
/// authenticator without one): a lower or equal counter changes nothing.
pub async fn credential_use_needs_a_higher_counter(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();
    assert!(
        store
            .record_credential_use(&usage("c-1", 0, at(1)))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_credential_use(&usage("c-1", 0, at(2)))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_credential_use(&usage("c-1", 5, at(3)))
            .await
            .unwrap()
    );
    for stale in [5, 4, 0] {
        assert!(
            !store
                .record_credential_use(&usage("c-1", stale, at(4)))
                .await
                .unwrap(),
            "counter {stale} after 5 must be refused"
        );
    }
    let after = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!((after.counter, after.last_used_at), (5, Some(at(3))));
}

/// Twenty sign-ins racing with the same counter (copies of one authenticator): exactly
/// one is recorded.
pub async fn racing_uses_with_one_counter_have_one_winner(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();
    let uses: Vec<CredentialUsage> = (0..20).map(|i| usage("c-1", 7, at(i))).collect();
    let outcomes = join_all(
        uses.iter()
            .map(|usage| store.record_credential_use(usage))
            .collect(),
    )
    .await;
    let recorded = outcomes
        .into_iter()
        .map(Result::unwrap)
        .filter(|&won| won)
        .count();
    assert_eq!(recorded, 1);
    let after = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(after.counter, 7);
}

/// Label and metadata change independently (`None` keeps the field), and only for the
/// credential's owner.
pub async fn credentials_are_updated_only_by_their_owner(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();

    assert!(
        store
            .update_credential("u-1", "c-1", Some("Work laptop"), None)
            .await
            .unwrap()
    );
    let meta = metadata(json!({ "color": "blue" }));
    assert!(
        store
            .update_credential("u-1", "c-1", None, Some(&meta))
            .await
            .unwrap()
    );
    assert!(
        store
            .update_credential("u-1", "c-1", None, None)
            .await
            .unwrap()
    );
    let stored = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(stored.label.as_deref(), Some("Work laptop"));
    assert_eq!(stored.metadata, Some(meta.clone()));

    assert!(
        !store
            .update_credential("u-2", "c-1", Some("stolen"), Some(&meta))
            .await
            .unwrap(),
        "another user's credential"
    );
    assert!(
        !store
            .update_credential("u-1", "c-none", Some("x"), None)
            .await
            .unwrap()
    );
    let stored = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(stored.label.as_deref(), Some("Work laptop"));
}

/// Deleting another user's or an unknown credential is `NotFound` and changes nothing.
pub async fn credentials_are_deleted_only_by_their_owner(store: &dyn Store) {
    store
        .create_user(&user("u-1", Some("one@example.com")))
        .await
        .unwrap();
    store
        .create_user(&user("u-2", Some("two@example.com")))
        .await
        .unwrap();
    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();

    assert_eq!(
        store.delete_credential("u-2", "c-1").await,
        Ok(Guarded::NotFound)
    );
    assert_eq!(
        store.delete_credential("u-1", "c-none").await,
        Ok(Guarded::NotFound)
    );
    assert!(store.credential_by_id("c-1").await.unwrap().is_some());
    assert_eq!(
        store.delete_credential("u-1", "c-1").await,
        Ok(Guarded::Done)
    );
    assert!(store.credential_by_id("c-1").await.unwrap().is_none());
    assert_eq!(
        store.delete_credential("u-1", "c-1").await,
        Ok(Guarded::NotFound)
    );
}

/// The last passkey of a user without email is kept (`WouldLockOut`); with an email, or
/// with another passkey left, it goes.
pub async fn last_passkey_without_email_is_kept(store: &dyn Store) {
    store.create_user(&user("u-no-email", None)).await.unwrap();
    store
        .create_credential(&credential("c-1", "u-no-email", at(0)))
        .await
        .unwrap();
    store
        .create_credential(&credential("c-2", "u-no-email", at(1)))
        .await
        .unwrap();
    assert_eq!(
        store.delete_credential("u-no-email", "c-1").await,
        Ok(Guarded::Done)
    );
    assert_eq!(
        store.delete_credential("u-no-email", "c-2").await,
        Ok(Guarded::WouldLockOut)
    );
    assert!(store.credential_by_id("c-2").await.unwrap().is_some());

    store
        .create_user(&user("u-email", Some("mail@example.com")))
        .await
        .unwrap();
    store
        .create_credential(&credential("c-3", "u-email", at(0)))
        .await
        .unwrap();
    assert_eq!(
        store.delete_credential("u-email", "c-3").await,
        Ok(Guarded::Done)
    );
    assert!(
        store
            .credentials_for_user("u-email")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Racing guarded changes cannot together remove a user's last way in: two deletes of
/// the last two passkeys, or clearing the email while deleting the only passkey.
pub async fn racing_deletes_never_lock_a_user_out(store: &dyn Store) {
    for round in 0..10 {
        let user_id = format!("u-two-keys-{round}");
        store.create_user(&user(&user_id, None)).await.unwrap();
        let (first, second) = (format!("c-{round}-a"), format!("c-{round}-b"));
        for id in [&first, &second] {
            store
                .create_credential(&credential(id, &user_id, at(0)))
                .await
                .unwrap();
        }
        let results = join_all(vec![
            store.delete_credential(&user_id, &first),
            store.delete_credential(&user_id, &second),
        ])
        .await;
        let done = results.iter().filter(|r| **r == Ok(Guarded::Done)).count();
        let refused = results
            .iter()
            .filter(|r| **r == Ok(Guarded::WouldLockOut))
            .count();
        assert_eq!((done, refused), (1, 1), "round {round}: {results:?}");
        assert_eq!(store.credentials_for_user(&user_id).await.unwrap().len(), 1);

        let user_id = format!("u-key-and-email-{round}");
        let address = format!("race-{round}@example.com");
        store
            .create_user(&user(&user_id, Some(&address)))
            .await
            .unwrap();
        let only = format!("c-{round}-only");
        store
            .create_credential(&credential(&only, &user_id, at(0)))
            .await
            .unwrap();
        let results = join_all(vec![
            store.set_user_email(&user_id, None),
            store.delete_credential(&user_id, &only),
        ])
        .await;
        let (cleared, deleted) = (results[0].clone(), results[1].clone());
        assert!(
            !(cleared == Ok(Guarded::Done) && deleted == Ok(Guarded::Done)),
            "round {round}: both the email and the last passkey went"
        );
        let stored = store.user_by_id(&user_id).await.unwrap().unwrap();
        let keys = store.credentials_for_user(&user_id).await.unwrap();
        assert!(
            stored.email.is_some() || !keys.is_empty(),
            "round {round}: user locked out"
        );
    }
}
