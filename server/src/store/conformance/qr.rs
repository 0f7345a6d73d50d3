//! QR logins: round trips, compare-and-set transitions, expiry, capped confirmation attempts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn qr_session(id: &str, expires_at: Timestamp) -> QrSessionRecord {
    QrSessionRecord {
        id: id.to_owned(),
        status_token_hash: token(&format!("status-{id}")),
        confirmation_hash: Some(token(&format!("code-{id}"))),
        state: QrSessionState::Created,
        confirmed: false,
        confirmation_attempts: 0,
        user_id: None,
        session_id: None,
        authenticated_at: None,
        created_at: at(0),
        expires_at,
    }
}

fn qr_ids(records: &[QrSessionRecord]) -> Vec<&str> {
    let mut ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

/// Lookups by id made at once (a store may answer them together) each get their own
/// record, or `None` for an unknown id, whatever else is asked with them.
pub async fn qr_sessions_looked_up_at_once_get_their_own(store: &dyn Store) {
    let records: Vec<QrSessionRecord> = (0..30)
        .map(|n| qr_session(&format!("q-{n}"), at(5 * MINUTE + n)))
        .collect();
    for record in &records {
        store.create_qr_session(record).await.unwrap();
    }
    let mut ids: Vec<String> = records.iter().rev().map(|r| r.id.clone()).collect();
    ids.extend(["q-unknown".to_owned(), "q-3".to_owned()]);
    let found = join_all(ids.iter().map(|id| store.qr_session_by_id(id)).collect()).await;
    for (id, found) in ids.iter().zip(found) {
        let expected = records.iter().find(|record| &record.id == id).cloned();
        assert_eq!(found.unwrap(), expected, "lookup of {id}");
    }
}

/// QR logins are stored whole (hashes included), found by id and in batches, and their
/// ids are unique.
pub async fn qr_sessions_round_trip(store: &dyn Store) {
    let first = qr_session("q-1", at(5 * MINUTE));
    let second = QrSessionRecord {
        confirmation_hash: None,
        ..qr_session("q-2", at(5 * MINUTE))
    };
    store.create_qr_session(&first).await.unwrap();
    store.create_qr_session(&second).await.unwrap();
    assert_eq!(
        store.create_qr_session(&first).await,
        Err(StoreError::Conflict("id"))
    );
    assert_eq!(store.qr_session_by_id("q-1").await, Ok(Some(first)));
    assert_eq!(store.qr_session_by_id("q-2").await, Ok(Some(second)));
    assert_eq!(store.qr_session_by_id("q-unknown").await, Ok(None));

    let ids: Vec<String> = ["q-2", "q-unknown", "q-1"].map(String::from).to_vec();
    let found = store.qr_sessions_by_ids(&ids).await.unwrap();
    assert_eq!(qr_ids(&found), ["q-1", "q-2"]);
    assert!(store.qr_sessions_by_ids(&[]).await.unwrap().is_empty());
    // Batches larger than any backend's parameter limit are fine.
    let many: Vec<String> = (0..1200).map(|i| format!("q-{i}")).collect();
    assert_eq!(
        qr_ids(&store.qr_sessions_by_ids(&many).await.unwrap()),
        ["q-1", "q-2"]
    );
}

/// A transition applies only from its `from` states, sets exactly the fields it names,
/// and leaves a final state alone.
pub async fn qr_transitions_apply_only_from_their_states(store: &dyn Store) {
    store
        .create_qr_session(&qr_session("q-1", at(5 * MINUTE)))
        .await
        .unwrap();
    let now = at(0);
    let claim = QrChange::state(qr_state::CLAIM);
    assert_eq!(
        store.transition_qr_session("q-1", &claim, now).await,
        Ok(None)
    );
    let unknown = store
        .transition_qr_session("q-unknown", &QrChange::state(qr_state::SCAN), now)
        .await;
    assert_eq!(unknown, Ok(None));

    let scanned = store
        .transition_qr_session("q-1", &QrChange::state(qr_state::SCAN), now)
        .await
        .unwrap()
        .expect("created → scanned");
    assert_eq!(scanned.state, QrSessionState::Scanned);
    assert!(!scanned.confirmed);
    assert_eq!(
        store
            .transition_qr_session("q-1", &QrChange::state(qr_state::SCAN), now)
            .await,
        Ok(None),
        "scanning twice is not a transition"
    );

    let confirm = QrChange {
        confirm: true,
        ..QrChange::state(qr_state::CONFIRM)
    };
    let confirmed = store
        .transition_qr_session("q-1", &confirm, now)
        .await
        .unwrap()
        .expect("confirm while scanned");
    assert_eq!(
        (confirmed.state, confirmed.confirmed),
        (QrSessionState::Scanned, true)
    );

    let challenged = store
        .transition_qr_session("q-1", &QrChange::state(qr_state::CHALLENGE), now)
        .await
        .unwrap()
        .expect("scanned → challenged");
    assert!(challenged.confirmed, "fields not named stay as they were");
    assert_eq!(
        store
            .transition_qr_session("q-1", &QrChange::state(qr_state::AUTHENTICATE_UNBOUND), now)
            .await,
        Ok(None),
        "an unbound completion needs `scanned`"
    );

    let authenticate = QrChange {
        user_id: Some("u-1".into()),
        session_id: Some("s-desktop".into()),
        authenticated_at: Some(at(1)),
        expires_at: Some(at(10 * MINUTE)),
        ..QrChange::state(qr_state::AUTHENTICATE_BOUND)
    };
    let authenticated = store
        .transition_qr_session("q-1", &authenticate, now)
        .await
        .unwrap()
        .expect("challenged → authenticated");
    assert_eq!(authenticated.state, QrSessionState::Authenticated);
    assert_eq!(authenticated.user_id.as_deref(), Some("u-1"));
    assert_eq!(authenticated.session_id.as_deref(), Some("s-desktop"));
    assert_eq!(authenticated.authenticated_at, Some(at(1)));
    assert_eq!(authenticated.expires_at, at(10 * MINUTE));
    assert_eq!(
        store.qr_session_by_id("q-1").await,
        Ok(Some(authenticated.clone()))
    );

    let claimed = store
        .transition_qr_session("q-1", &claim, now)
        .await
        .unwrap()
        .expect("authenticated → claimed");
    assert_eq!(claimed.state, QrSessionState::Claimed);
    assert_eq!(claimed.user_id.as_deref(), Some("u-1"));
    for transition in qr_state::TRANSITIONS {
        assert_eq!(
            store
                .transition_qr_session("q-1", &QrChange::state(transition), now)
                .await,
            Ok(None),
            "{} moved a claimed login",
            transition.name
        );
    }
}

/// Reads return expired logins (the engine reports them as expired), but no transition
/// or confirmation attempt applies to them.
pub async fn expired_qr_sessions_stay_readable_but_never_move(store: &dyn Store) {
    let record = qr_session("q-1", at(MINUTE));
    store.create_qr_session(&record).await.unwrap();
    let scan = QrChange::state(qr_state::SCAN);
    assert_eq!(
        store.transition_qr_session("q-1", &scan, at(MINUTE)).await,
        Ok(None)
    );
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-1", &[QrSessionState::Created], 5, at(MINUTE))
            .await,
        Ok(None)
    );
    assert_eq!(store.qr_session_by_id("q-1").await, Ok(Some(record)));
    // Just before expiry it still moves.
    assert!(
        store
            .transition_qr_session("q-1", &scan, at(MINUTE - 1))
            .await
            .unwrap()
            .is_some()
    );
}

/// A hundred racing claims of one authenticated login: exactly one wins. Likewise a
/// hundred racing scans.
pub async fn concurrent_qr_transitions_have_one_winner(store: &dyn Store) {
    let authenticated = QrSessionRecord {
        state: QrSessionState::Authenticated,
        user_id: Some("u-1".into()),
        ..qr_session("q-claim", at(MINUTE))
    };
    store.create_qr_session(&authenticated).await.unwrap();
    store
        .create_qr_session(&qr_session("q-scan", at(MINUTE)))
        .await
        .unwrap();
    for (id, transition) in [("q-claim", qr_state::CLAIM), ("q-scan", qr_state::SCAN)] {
        let change = QrChange::state(transition);
        let results = join_all(
            (0..100)
                .map(|_| store.transition_qr_session(id, &change, at(0)))
                .collect(),
        )
        .await;
        let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(errors.is_empty(), "errors: {errors:?}");
        let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
        assert_eq!(winners, 1, "{id}");
    }
}

/// Confirmation attempts are numbered 1..=max under races and then refused; none are
/// counted for a confirmed login or one in another state.
pub async fn qr_confirmation_attempts_are_capped_under_races(store: &dyn Store) {
    let scanned = QrSessionRecord {
        state: QrSessionState::Scanned,
        ..qr_session("q-1", at(MINUTE))
    };
    store.create_qr_session(&scanned).await.unwrap();
    let states = [QrSessionState::Scanned];
    let results = join_all(
        (0..30)
            .map(|_| store.count_qr_confirmation_attempt("q-1", &states, 5, at(0)))
            .collect(),
    )
    .await;
    let mut numbers: Vec<u32> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert_eq!(
        store
            .qr_session_by_id("q-1")
            .await
            .unwrap()
            .map(|r| r.confirmation_attempts),
        Some(5)
    );

    let created = qr_session("q-created", at(MINUTE));
    store.create_qr_session(&created).await.unwrap();
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-created", &states, 5, at(0))
            .await,
        Ok(None),
        "not in an allowed state"
    );
    let confirmed = QrSessionRecord {
        state: QrSessionState::Scanned,
        confirmed: true,
        ..qr_session("q-confirmed", at(MINUTE))
    };
    store.create_qr_session(&confirmed).await.unwrap();
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-confirmed", &states, 5, at(0))
            .await,
        Ok(None),
        "already confirmed"
    );
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-unknown", &states, 5, at(0))
            .await,
        Ok(None)
    );
}

/// Purging removes QR logins past their expiry, whatever their state, counts them, and
/// says how many had not reached a final state (those expired), once.
pub async fn purge_removes_expired_qr_sessions(store: &dyn Store) {
    store
        .create_qr_session(&qr_session("q-expired", at(0)))
        .await
        .unwrap();
    let claimed = QrSessionRecord {
        state: QrSessionState::Claimed,
        ..qr_session("q-claimed", at(-MINUTE))
    };
    store.create_qr_session(&claimed).await.unwrap();
    store
        .create_qr_session(&qr_session("q-live", at(MINUTE)))
        .await
        .unwrap();
    let cancelled = QrSessionRecord {
        state: QrSessionState::Cancelled,
        ..qr_session("q-cancelled", at(-MINUTE))
    };
    store.create_qr_session(&cancelled).await.unwrap();
    let unclaimed = QrSessionRecord {
        state: QrSessionState::Authenticated,
        ..qr_session("q-unclaimed", at(-MINUTE))
    };
    store.create_qr_session(&unclaimed).await.unwrap();
    assert_eq!(
        store.purge_expired(at(0)).await,
        Ok(Purged {
            rows: 4,
            expired_qr_logins: 2
        })
    );
    assert_eq!(store.purge_expired(at(0)).await, Ok(Purged::default()));
    assert_eq!(store.qr_session_by_id("q-expired").await, Ok(None));
    assert_eq!(store.qr_session_by_id("q-unclaimed").await, Ok(None));
    assert_eq!(store.qr_session_by_id("q-claimed").await, Ok(None));
    assert!(store.qr_session_by_id("q-live").await.unwrap().is_some());
}
