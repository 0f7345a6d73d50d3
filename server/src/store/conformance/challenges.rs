//! Pending ceremonies: taken once, by exactly one of racing takers, never after expiry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// A pending ceremony comes back once, intact; a second take and an unknown challenge
/// get `None`.
pub async fn challenges_are_taken_once(store: &dyn Store) {
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();
    let taken = store
        .take_challenge(&record.challenge, at(0))
        .await
        .unwrap()
        .expect("a live challenge is taken");
    assert_eq!(as_json(&taken), as_json(&record));
    assert!(matches!(
        taken.ceremony,
        Ceremony::DiscoverableSignIn { .. }
    ));
    assert!(
        store
            .take_challenge(&record.challenge, at(0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_challenge("unknown", at(0))
            .await
            .unwrap()
            .is_none()
    );
}

/// A hundred takers racing for one challenge: exactly one gets it.
pub async fn concurrent_takers_of_a_challenge_have_one_winner(store: &dyn Store) {
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();
    let results = join_all(
        (0..100)
            .map(|_| store.take_challenge(&record.challenge, at(0)))
            .collect(),
    )
    .await;
    let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(winners, 1);
}

/// Fifty challenges put at once (a store may write them together) are each kept,
/// intact; the same challenge put twice at once keeps one of the two values.
pub async fn challenges_put_at_once_are_all_kept(store: &dyn Store) {
    let records: Vec<ChallengeRecord> = (0..50).map(|_| challenge(at(MINUTE))).collect();
    let twice = challenge(at(MINUTE));
    let mut again = twice.clone();
    again.expires_at = at(2 * MINUTE);
    let mut puts: Vec<_> = records
        .iter()
        .map(|record| store.put_challenge(record))
        .collect();
    puts.push(store.put_challenge(&twice));
    puts.push(store.put_challenge(&again));
    for result in join_all(puts).await {
        result.unwrap();
    }
    for record in &records {
        let taken = store
            .take_challenge(&record.challenge, at(0))
            .await
            .unwrap()
            .expect("every challenge put is kept");
        assert_eq!(as_json(&taken), as_json(record));
    }
    let taken = store
        .take_challenge(&twice.challenge, at(0))
        .await
        .unwrap()
        .expect("a challenge put twice is kept once");
    assert!([at(MINUTE), at(2 * MINUTE)].contains(&taken.expires_at));
    assert!(
        store
            .take_challenge(&twice.challenge, at(0))
            .await
            .unwrap()
            .is_none()
    );
}

/// A challenge at or past its expiry is never handed out.
pub async fn expired_challenges_cannot_be_taken(store: &dyn Store) {
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();
    assert!(
        store
            .take_challenge(&record.challenge, at(MINUTE))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_challenge(&record.challenge, at(0))
            .await
            .unwrap()
            .is_none(),
        "a take removes the challenge even when expired"
    );
}

/// A sign-in's challenge and passkey in one call: the challenge is taken (once, never
/// after expiry) and the passkey comes with its user, as the two calls would give them.
pub async fn sign_ins_take_their_challenge_and_read_their_passkey(store: &dyn Store) {
    let ada = user("u-1", Some("a@example.com"));
    store.create_user(&ada).await.unwrap();
    let mut passkey = credential("c-1", "u-1", at(-MINUTE));
    passkey.counter = 7;
    store.create_credential(&passkey).await.unwrap();
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();

    let (taken, found) = store
        .take_challenge_and_credential(&record.challenge, at(0), "c-1")
        .await
        .unwrap();
    assert_eq!(
        as_json(&taken.expect("a live challenge is taken")),
        as_json(&record)
    );
    let (found, owner) = found.expect("the passkey is found");
    assert_eq!(as_json(&found), as_json(&passkey));
    assert_eq!(owner, ada);

    // Taken once.
    let (taken, _) = store
        .take_challenge_and_credential(&record.challenge, at(0), "c-1")
        .await
        .unwrap();
    assert!(taken.is_none());

    // An unknown passkey with a live challenge: the challenge is still taken.
    let other = challenge(at(MINUTE));
    store.put_challenge(&other).await.unwrap();
    let (taken, found) = store
        .take_challenge_and_credential(&other.challenge, at(0), "c-none")
        .await
        .unwrap();
    assert!(taken.is_some() && found.is_none());

    // An expired challenge is not handed out, and is gone afterwards.
    let expired = challenge(at(MINUTE));
    store.put_challenge(&expired).await.unwrap();
    let (taken, _) = store
        .take_challenge_and_credential(&expired.challenge, at(MINUTE), "c-1")
        .await
        .unwrap();
    assert!(taken.is_none());
    assert!(
        store
            .take_challenge(&expired.challenge, at(0))
            .await
            .unwrap()
            .is_none(),
        "the expired challenge was removed"
    );
}
