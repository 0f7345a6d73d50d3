//! Magic links: taken once, by exactly one of racing takers, never after expiry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// A magic link sent to `email` at [`NOW`], expiring at `expires_at`; its token is
/// `token-of-magic-<name>`.
fn magic_link(name: &str, email: &str, expires_at: Timestamp) -> MagicLinkRecord {
    MagicLinkRecord {
        token_hash: magic_token(name),
        email: email.to_owned(),
        created_at: at(0),
        expires_at,
    }
}

fn magic_token(name: &str) -> TokenHash {
    TokenHash::of(&format!("token-of-magic-{name}"))
}

/// A magic link comes back once, intact (the email as typed); a second take and an
/// unknown hash get `None`.
pub async fn magic_links_are_taken_once(store: &dyn Store) {
    let link = magic_link("once", "Ada@Example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    let other = magic_link("other", "bob@example.com", at(15 * MINUTE));
    store.put_magic_link(&other).await.unwrap();

    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(Some(link.clone()))
    );
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );
    assert_eq!(
        store.take_magic_link(&magic_token("unknown"), at(0)).await,
        Ok(None)
    );
    assert!(!store.delete_magic_link(&link.token_hash).await.unwrap());
    // Taking one link leaves the others alone.
    assert_eq!(
        store.take_magic_link(&other.token_hash, at(MINUTE)).await,
        Ok(Some(other))
    );
}

/// A hundred takers racing for one magic link: exactly one gets it.
pub async fn concurrent_takers_of_a_magic_link_have_one_winner(store: &dyn Store) {
    let link = magic_link("race", "race@example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    let results = join_all(
        (0..100)
            .map(|_| store.take_magic_link(&link.token_hash, at(0)))
            .collect(),
    )
    .await;
    let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(winners, 1);
}

/// A magic link at or past its expiry is never handed out, not even to a later caller
/// who looks back in time.
pub async fn expired_magic_links_cannot_be_taken(store: &dyn Store) {
    let link = magic_link("expired", "late@example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    assert_eq!(
        store
            .take_magic_link(&link.token_hash, at(15 * MINUTE))
            .await,
        Ok(None)
    );
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );

    let live = magic_link("just-live", "late@example.com", at(15 * MINUTE));
    store.put_magic_link(&live).await.unwrap();
    assert_eq!(
        store
            .take_magic_link(&live.token_hash, at(15 * MINUTE - 1))
            .await,
        Ok(Some(live))
    );
}

/// A deleted magic link (its email could not be sent) cannot be taken; deleting twice
/// says it was already gone.
pub async fn deleted_magic_links_cannot_be_taken(store: &dyn Store) {
    let link = magic_link("undelivered", "bounce@example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    assert!(store.delete_magic_link(&link.token_hash).await.unwrap());
    assert!(!store.delete_magic_link(&link.token_hash).await.unwrap());
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );
}

/// A token hash names one magic link: storing it again is a conflict and keeps the first.
pub async fn magic_link_token_hashes_are_unique(store: &dyn Store) {
    let first = magic_link("same", "first@example.com", at(15 * MINUTE));
    store.put_magic_link(&first).await.unwrap();
    let second = magic_link("same", "second@example.com", at(30 * MINUTE));
    assert_eq!(
        store.put_magic_link(&second).await,
        Err(StoreError::Conflict("token_hash"))
    );
    assert_eq!(
        store.take_magic_link(&first.token_hash, at(0)).await,
        Ok(Some(first))
    );
}

/// Purging removes expired magic links, counts them, and keeps live ones.
pub async fn purge_removes_expired_magic_links(store: &dyn Store) {
    let expired = [
        magic_link("expired-1", "a@example.com", at(-MINUTE)),
        magic_link("expired-2", "b@example.com", at(0)),
    ];
    let live = magic_link("live", "c@example.com", at(MINUTE));
    for link in expired.iter().chain([&live]) {
        store.put_magic_link(link).await.unwrap();
    }
    assert_eq!(
        store.purge_expired(at(0)).await.map(|purged| purged.rows),
        Ok(2)
    );
    assert_eq!(
        store.purge_expired(at(0)).await.map(|purged| purged.rows),
        Ok(0)
    );
    // Looking back in time shows what is left: only the live link.
    for link in &expired {
        assert_eq!(
            store
                .take_magic_link(&link.token_hash, at(-2 * MINUTE))
                .await,
            Ok(None)
        );
    }
    assert_eq!(
        store.take_magic_link(&live.token_hash, at(0)).await,
        Ok(Some(live))
    );
}
