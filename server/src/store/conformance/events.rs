//! Security events: append-only, listed newest first by keyset pages, per user, purged
//! only by age.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use passkey_magic_shared::security_events::{
    EventCursor, SecurityEvent, SecurityEventType, SignInFailure,
};

fn event(id: &str, user_id: &str, created_at: Timestamp) -> SecurityEventRecord {
    SecurityEventRecord {
        user_id: user_id.to_owned(),
        event: SecurityEvent {
            id: id.to_owned(),
            kind: SecurityEventType::PasskeyRenamed,
            created_at,
            method: None,
            reason: None,
            ip_address: None,
            user_agent: None,
            credential_id: None,
            session_id: None,
        },
    }
}

fn event_ids(records: &[SecurityEventRecord]) -> Vec<&str> {
    records.iter().map(|r| r.event.id.as_str()).collect()
}

/// A user's events, newest first (one page of up to 10).
async fn events_of(store: &dyn Store, user_id: &str) -> Vec<SecurityEventRecord> {
    store
        .security_events_for_user(user_id, None, 10)
        .await
        .unwrap()
}

/// Every page of `user_id`'s events, `limit` at a time, following the cursor of each
/// page's last event; the pages' ids in order.
async fn all_pages(store: &dyn Store, user_id: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<EventCursor> = None;
    loop {
        let page = store
            .security_events_for_user(user_id, cursor.as_ref(), limit)
            .await
            .unwrap();
        assert!(page.len() <= limit, "a page holds at most `limit` events");
        let Some(last) = page.last() else {
            return pages;
        };
        cursor = Some(EventCursor::after(&last.event));
        pages.push(page.iter().map(|r| r.event.id.clone()).collect());
        assert!(pages.len() < 100, "paging does not end");
    }
}

/// Three events at one millisecond and two around it, appended out of order.
async fn append_with_ties(store: &dyn Store, user_id: &str) {
    for (id, millis) in [
        ("e-b", 0),
        ("e-old", -MINUTE),
        ("e-c", 0),
        ("e-new", MINUTE),
        ("e-a", 0),
    ] {
        store
            .append_security_event(&event(id, user_id, at(millis)))
            .await
            .unwrap();
    }
}

/// Events come back whole, newest first by `(created_at, id)`.
pub async fn security_events_round_trip_newest_first(store: &dyn Store) {
    let full = SecurityEventRecord {
        user_id: "u-1".into(),
        event: SecurityEvent {
            id: "e-full".into(),
            kind: SecurityEventType::SignInFailed,
            created_at: at(2 * MINUTE),
            method: Some(AuthMethod::Qr),
            reason: Some(SignInFailure::CounterRegression),
            ip_address: Some("2001:db8::7".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) ✓".into()),
            credential_id: Some("Y3JlZA".into()),
            session_id: Some("s-1".into()),
        },
    };
    store.append_security_event(&full).await.unwrap();
    append_with_ties(store, "u-1").await;

    let listed = store
        .security_events_for_user("u-1", None, 100)
        .await
        .unwrap();
    assert_eq!(
        event_ids(&listed),
        ["e-full", "e-new", "e-c", "e-b", "e-a", "e-old"]
    );
    assert_eq!(listed[0], full);
    assert_eq!(listed[1], event("e-new", "u-1", at(MINUTE)));
    let first_two = store
        .security_events_for_user("u-1", None, 2)
        .await
        .unwrap();
    assert_eq!(event_ids(&first_two), ["e-full", "e-new"]);
}

/// Pages cut by the cursor cover every event once, in order, also through ties at one
/// millisecond; a cursor past the oldest event gives an empty page.
pub async fn security_events_are_paged_by_cursor(store: &dyn Store) {
    append_with_ties(store, "u-1").await;
    let everything = ["e-new", "e-c", "e-b", "e-a", "e-old"];
    for limit in [1, 2, 3, 5, 10] {
        let pages = all_pages(store, "u-1", limit).await;
        let flat: Vec<String> = pages.concat();
        assert_eq!(flat, everything, "limit {limit}");
        assert_eq!(
            pages.len(),
            everything.len().div_ceil(limit),
            "limit {limit}"
        );
    }
    // A cursor in the middle of the tie: only the smaller ids of that millisecond, then
    // the older events.
    let inside_tie = EventCursor {
        created_at: at(0),
        id: "e-b".into(),
    };
    let after = store
        .security_events_for_user("u-1", Some(&inside_tie), 10)
        .await
        .unwrap();
    assert_eq!(event_ids(&after), ["e-a", "e-old"]);
    // A cursor need not name a stored event: it is a position.
    let between = EventCursor {
        created_at: at(0),
        id: "e-bb".into(),
    };
    let after = store
        .security_events_for_user("u-1", Some(&between), 10)
        .await
        .unwrap();
    assert_eq!(event_ids(&after), ["e-b", "e-a", "e-old"]);
    let past_the_end = EventCursor {
        created_at: at(-MINUTE),
        id: "e-old".into(),
    };
    assert!(
        store
            .security_events_for_user("u-1", Some(&past_the_end), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let before_everything = EventCursor {
        created_at: at(10 * MINUTE),
        id: String::new(),
    };
    let all = store
        .security_events_for_user("u-1", Some(&before_everything), 10)
        .await
        .unwrap();
    assert_eq!(event_ids(&all), everything);
}

/// A user sees only their own events; a user without any has an empty log.
pub async fn security_events_are_kept_per_user(store: &dyn Store) {
    append_with_ties(store, "u-1").await;
    store
        .append_security_event(&event("e-other", "u-2", at(0)))
        .await
        .unwrap();
    let mine = store
        .security_events_for_user("u-1", None, 100)
        .await
        .unwrap();
    assert_eq!(mine.len(), 5);
    assert!(mine.iter().all(|r| r.user_id == "u-1"));
    let theirs = store
        .security_events_for_user("u-2", None, 100)
        .await
        .unwrap();
    assert_eq!(event_ids(&theirs), ["e-other"]);
    assert_eq!(theirs[0].user_id, "u-2");
    // Another user's cursor position reveals nothing of theirs.
    let cursor = EventCursor::after(&theirs[0].event);
    let after = store
        .security_events_for_user("u-2", Some(&cursor), 100)
        .await
        .unwrap();
    assert!(after.is_empty());
    assert!(
        store
            .security_events_for_user("u-nobody", None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An event id is stored once, whoever's event it is.
pub async fn security_event_ids_are_unique(store: &dyn Store) {
    store
        .append_security_event(&event("e-1", "u-1", at(0)))
        .await
        .unwrap();
    assert_eq!(
        store
            .append_security_event(&event("e-1", "u-2", at(MINUTE)))
            .await,
        Err(StoreError::Conflict("id"))
    );
    assert!(events_of(store, "u-2").await.is_empty());
    assert_eq!(events_of(store, "u-1").await, [event("e-1", "u-1", at(0))]);
}

/// A sign-in's session and event, written by one call, are both there; an event that
/// cannot be written (its id is taken) leaves its session written.
pub async fn sign_ins_write_their_session_and_event(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let first = session("s-1", "u-1", at(0), at(MINUTE));
    let (created, appended) = store
        .create_session_with_event(&first, &event("e-1", "u-1", at(0)))
        .await;
    assert_eq!((created, appended), (Ok(()), Ok(())));
    let second = session("s-2", "u-1", at(0), at(MINUTE));
    let (created, appended) = store
        .create_session_with_event(&second, &event("e-1", "u-1", at(1)))
        .await;
    assert_eq!(
        (created, appended),
        (Ok(()), Err(StoreError::Conflict("id")))
    );
    for written in [&first, &second] {
        assert_eq!(
            store
                .session_by_token_hash(&written.token_hash, at(0))
                .await
                .unwrap()
                .as_ref(),
            Some(written)
        );
    }
    assert_eq!(events_of(store, "u-1").await, [event("e-1", "u-1", at(0))]);
}

/// Sign-ins written at once (a store may write them together) each get their own
/// outcome: all columns of every session and event kept, and a sign-in whose event id
/// or session id is taken fails that part alone, leaving the others written.
pub async fn sign_ins_written_at_once_each_get_their_own_outcome(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store
        .append_security_event(&event("e-taken", "u-1", at(-1)))
        .await
        .unwrap();
    let taken = session("s-taken", "u-1", at(0), at(MINUTE));
    store.create_session(&taken).await.unwrap();
    let sign_ins: Vec<(SessionRecord, SecurityEventRecord)> = (0..22)
        .map(|n| {
            let mut written = session(&format!("s-{n}"), "u-1", at(n), at(MINUTE + n));
            let mut logged = event(&format!("e-{n}"), "u-1", at(n));
            if n % 2 == 0 {
                written.user_agent = Some(format!("agent {n}"));
                written.ip_address = Some("192.0.2.1".into());
                written.auth_context = Some(AuthContext::default());
                logged.event.kind = SecurityEventType::SignIn;
                logged.event.method = Some(AuthMethod::Passkey);
                logged.event.session_id = Some(written.id.clone());
                logged.event.credential_id = Some("c-1".into());
                logged.event.user_agent = written.user_agent.clone();
            }
            match n {
                20 => logged.event.id = "e-taken".into(),
                21 => written.id = "s-taken".into(),
                _ => {}
            }
            (written, logged)
        })
        .collect();
    let outcomes = join_all(
        sign_ins
            .iter()
            .map(|(written, logged)| store.create_session_with_event(written, logged))
            .collect(),
    )
    .await;
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let expected = match n {
            20 => (Ok(()), Err(StoreError::Conflict("id"))),
            21 => (Err(StoreError::Conflict("id")), Ok(())),
            _ => (Ok(()), Ok(())),
        };
        assert_eq!(outcome, expected, "sign-in {n}");
    }
    for (written, _) in &sign_ins[..21] {
        let found = store
            .session_by_token_hash(&written.token_hash, at(0))
            .await
            .unwrap();
        assert_eq!(found.as_ref(), Some(written));
    }
    let events = store
        .security_events_for_user("u-1", None, 100)
        .await
        .unwrap();
    for (n, (_, logged)) in sign_ins.iter().enumerate() {
        let kept: Vec<_> = events
            .iter()
            .filter(|e| e.event.id == logged.event.id)
            .collect();
        // The taken id keeps the event written before, not this sign-in's.
        let expected = if n == 20 {
            event("e-taken", "u-1", at(-1))
        } else {
            logged.clone()
        };
        assert_eq!(kept, [&expected], "event {n}");
    }
    assert_eq!(
        events.len(),
        22,
        "21 sign-ins' events and the one taken before"
    );
}

/// The retention purge removes events strictly older than the cutoff, of every user,
/// counts them, and keeps the rest listable.
pub async fn purge_removes_old_security_events(store: &dyn Store) {
    append_with_ties(store, "u-1").await;
    store
        .append_security_event(&event("e-other-old", "u-2", at(-2 * MINUTE)))
        .await
        .unwrap();
    store
        .append_security_event(&event("e-other-new", "u-2", at(2 * MINUTE)))
        .await
        .unwrap();

    // Cutoff at the tie: `e-old` and `e-other-old` go; the tie (at the cutoff) stays.
    assert_eq!(store.purge_security_events(at(0)).await, Ok(2));
    assert_eq!(store.purge_security_events(at(0)).await, Ok(0));
    assert_eq!(
        event_ids(&events_of(store, "u-1").await),
        ["e-new", "e-c", "e-b", "e-a"]
    );
    assert_eq!(event_ids(&events_of(store, "u-2").await), ["e-other-new"]);
    // Expired sessions are another matter: purging them leaves events alone.
    store.purge_expired(at(10 * MINUTE)).await.unwrap();
    assert_eq!(events_of(store, "u-1").await.len(), 4);
    // A purged event's id may not come back as a conflict.
    store
        .append_security_event(&event("e-old", "u-1", at(-MINUTE)))
        .await
        .unwrap();
    assert_eq!(store.purge_security_events(at(10 * MINUTE)).await, Ok(6));
    assert!(events_of(store, "u-1").await.is_empty());
}

/// Deleting an account keeps its events (until the retention purge), for the operator.
pub async fn deleting_a_user_keeps_its_security_events(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store
        .append_security_event(&event("e-1", "u-1", at(0)))
        .await
        .unwrap();
    assert!(store.delete_user("u-1").await.unwrap());
    assert_eq!(event_ids(&events_of(store, "u-1").await), ["e-1"]);
}
