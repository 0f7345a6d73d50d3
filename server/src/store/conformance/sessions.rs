//! Sessions: lookup by token hash until expiry, listing, owner-only deletes, uniqueness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// A session is found by its token hash while `now < expires_at`, never after.
pub async fn sessions_are_found_by_token_hash_until_expiry(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let mut s = session("s-1", "u-1", at(0), at(MINUTE));
    s.auth_method = AuthMethod::MagicLink;
    s.user_agent = Some("curl/8".into());
    store.create_session(&s).await.unwrap();

    let hash = token("s-1");
    assert_eq!(
        store.session_by_token_hash(&hash, at(0)).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store
            .session_by_token_hash(&hash, at(MINUTE - 1))
            .await
            .unwrap(),
        Some(s)
    );
    assert_eq!(
        store
            .session_by_token_hash(&hash, at(MINUTE))
            .await
            .unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store
            .session_by_token_hash(&token("s-unknown"), at(0))
            .await
            .unwrap(),
        None
    );
}

/// Lookups made at once (a store may answer them together) each get their own
/// answer: their session and its user, `None` for an unknown token, and expiry judged
/// by each caller's own clock, even for the same token twice.
pub async fn sessions_looked_up_at_once_get_their_own_answer(store: &dyn Store) {
    let users = [user("u-1", Some("one@example.com")), user("u-2", None)];
    for user in &users {
        store.create_user(user).await.unwrap();
    }
    let sessions: Vec<SessionRecord> = (0..40)
        .map(|n| {
            session(
                &format!("s-{n}"),
                &users[n % 2].id,
                at(0),
                at(MINUTE + n as i64),
            )
        })
        .collect();
    for session in &sessions {
        store.create_session(session).await.unwrap();
    }
    let mut lookups: Vec<(TokenHash, Timestamp)> = sessions
        .iter()
        .map(|session| (session.token_hash, at(0)))
        .collect();
    lookups.push((token("s-unknown"), at(0)));
    lookups.push((token("s-7"), at(MINUTE + 7)));
    lookups.push((token("s-7"), at(MINUTE + 6)));
    let answers = join_all(
        lookups
            .iter()
            .map(|(hash, now)| store.session_with_user(hash, *now))
            .collect(),
    )
    .await;
    for (n, answer) in answers.into_iter().enumerate() {
        let expected = match n {
            0..40 => Some((sessions[n].clone(), users[n % 2].clone())),
            40 | 41 => None,
            _ => Some((sessions[7].clone(), users[1].clone())),
        };
        assert_eq!(answer.unwrap(), expected, "lookup {n}");
    }
}

/// [`Store::session_with_user`] returns the live session of a token hash with its whole
/// user record (metadata included), and nothing once expired, unknown or for a deleted
/// user.
pub async fn sessions_are_found_with_their_user(store: &dyn Store) {
    let mut ada = user("u-1", Some("Ada@Example.com"));
    ada.metadata = Some(serde_json::from_value(json!({ "plan": "pro", "n": 1 })).unwrap());
    store.create_user(&ada).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    let mut s = session("s-1", "u-1", at(0), at(MINUTE));
    s.auth_context = Some(AuthContext::default());
    store.create_session(&s).await.unwrap();
    store
        .create_session(&session("s-2", "u-2", at(0), at(MINUTE)))
        .await
        .unwrap();

    assert_eq!(
        store.session_with_user(&token("s-1"), at(0)).await.unwrap(),
        Some((s.clone(), ada.clone()))
    );
    assert_eq!(
        store
            .session_with_user(&token("s-1"), at(MINUTE))
            .await
            .unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store
            .session_with_user(&token("s-unknown"), at(0))
            .await
            .unwrap(),
        None
    );
    assert!(store.delete_user("u-2").await.unwrap());
    assert_eq!(
        store.session_with_user(&token("s-2"), at(0)).await.unwrap(),
        None,
        "the user is gone"
    );
}

/// A user's live sessions, newest first (ties by id, descending); expired ones and
/// other users' are not listed.
pub async fn sessions_are_listed_newest_first(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    for s in [
        session("s-old", "u-1", at(-2 * MINUTE), at(10 * MINUTE)),
        session("s-new", "u-1", at(0), at(10 * MINUTE)),
        session("s-tie-a", "u-1", at(-MINUTE), at(10 * MINUTE)),
        session("s-tie-b", "u-1", at(-MINUTE), at(10 * MINUTE)),
        session("s-expired", "u-1", at(-3 * MINUTE), at(0)),
        session("s-other", "u-2", at(0), at(10 * MINUTE)),
    ] {
        store.create_session(&s).await.unwrap();
    }
    let listed = store.sessions_for_user("u-1", at(0)).await.unwrap();
    assert_eq!(
        session_ids(&listed),
        ["s-new", "s-tie-b", "s-tie-a", "s-old"]
    );
    assert!(
        store
            .sessions_for_user("u-none", at(0))
            .await
            .unwrap()
            .is_empty()
    );
}

/// One session is deleted only by its owner; deleting all counts them and leaves other
/// users' sessions alone.
pub async fn sessions_are_deleted_only_by_their_owner(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    for s in [
        session("s-1", "u-1", at(0), at(MINUTE)),
        session("s-2", "u-1", at(1), at(MINUTE)),
        session("s-3", "u-1", at(2), at(MINUTE)),
        session("s-other", "u-2", at(0), at(MINUTE)),
    ] {
        store.create_session(&s).await.unwrap();
    }

    assert!(!store.delete_session("u-2", "s-1").await.unwrap());
    assert!(!store.delete_session("u-1", "s-none").await.unwrap());
    assert!(
        store
            .session_by_token_hash(&token("s-1"), at(0))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.delete_session("u-1", "s-1").await.unwrap());
    assert!(!store.delete_session("u-1", "s-1").await.unwrap());
    assert!(
        store
            .session_by_token_hash(&token("s-1"), at(0))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.delete_sessions_for_user("u-1").await, Ok(2));
    assert_eq!(store.delete_sessions_for_user("u-1").await, Ok(0));
    assert!(
        store
            .sessions_for_user("u-1", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        session_ids(&store.sessions_for_user("u-2", at(0)).await.unwrap()),
        ["s-other"]
    );
}

/// Session ids and token hashes are unique, and a session needs an existing user.
pub async fn sessions_are_unique(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let first = session("s-1", "u-1", at(0), at(MINUTE));
    store.create_session(&first).await.unwrap();

    let mut same_id = session("s-1", "u-1", at(1), at(MINUTE));
    same_id.token_hash = token("fresh");
    assert_eq!(
        store.create_session(&same_id).await,
        Err(StoreError::Conflict("id"))
    );
    let mut same_hash = session("s-2", "u-1", at(1), at(MINUTE));
    same_hash.token_hash = first.token_hash;
    assert!(
        matches!(
            store.create_session(&same_hash).await,
            Err(StoreError::Conflict(_))
        ),
        "a token hash names one session"
    );
    assert_eq!(
        store
            .session_by_token_hash(&first.token_hash, at(0))
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        session_ids(&store.sessions_for_user("u-1", at(0)).await.unwrap()),
        ["s-1"]
    );

    assert!(
        store
            .create_session(&session("s-orphan", "u-none", at(0), at(MINUTE)))
            .await
            .is_err(),
        "a session needs an existing user"
    );
}
