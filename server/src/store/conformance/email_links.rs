//! Pending email links (verified email linking): taken once, by exactly one of racing
//! takers, never after expiry, and purged when expired.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// A pending link of `email` to `user_id` made at [`NOW`], expiring at `expires_at`.
fn email_link(name: &str, user_id: &str, email: &str, expires_at: Timestamp) -> EmailLinkRecord {
    EmailLinkRecord {
        token_hash: email_link_token(name),
        user_id: user_id.to_owned(),
        email: email.to_owned(),
        created_at: at(0),
        expires_at,
    }
}

fn email_link_token(name: &str) -> TokenHash {
    TokenHash::of(&format!("token-of-email-link-{name}"))
}

/// A pending email link comes back once, intact; a second take and an unknown hash get
/// `None`; a magic link of the same hash is a different thing.
pub async fn email_links_are_taken_once(store: &dyn Store) {
    let link = email_link("once", "user-1", "Ada@Example.com", at(15 * MINUTE));
    store.put_email_link(&link).await.unwrap();
    let other = email_link("other", "user-2", "bob@example.com", at(15 * MINUTE));
    store.put_email_link(&other).await.unwrap();
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );
    assert_eq!(
        store.take_email_link(&link.token_hash, at(0)).await,
        Ok(Some(link.clone()))
    );
    assert_eq!(
        store.take_email_link(&link.token_hash, at(0)).await,
        Ok(None)
    );
    assert_eq!(
        store
            .take_email_link(&email_link_token("unknown"), at(0))
            .await,
        Ok(None)
    );
    assert_eq!(
        store.put_email_link(&other).await,
        Err(StoreError::Conflict("token_hash"))
    );
    assert_eq!(
        store.take_email_link(&other.token_hash, at(MINUTE)).await,
        Ok(Some(other))
    );
}

/// A hundred takers racing for one pending email link: exactly one gets it.
pub async fn concurrent_takers_of_an_email_link_have_one_winner(store: &dyn Store) {
    let link = email_link("race", "user-1", "race@example.com", at(15 * MINUTE));
    store.put_email_link(&link).await.unwrap();
    let results = join_all(
        (0..100)
            .map(|_| store.take_email_link(&link.token_hash, at(0)))
            .collect(),
    )
    .await;
    let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(winners, 1);
}

/// An expired pending email link is never handed out, and purging removes it.
pub async fn expired_email_links_are_refused_and_purged(store: &dyn Store) {
    let expired = email_link("expired", "user-1", "late@example.com", at(0));
    let live = email_link("live", "user-1", "live@example.com", at(MINUTE));
    store.put_email_link(&expired).await.unwrap();
    store.put_email_link(&live).await.unwrap();
    assert_eq!(
        store.purge_expired(at(0)).await.map(|purged| purged.rows),
        Ok(1)
    );
    assert_eq!(
        store
            .take_email_link(&expired.token_hash, at(-MINUTE))
            .await,
        Ok(None)
    );
    assert_eq!(
        store.take_email_link(&live.token_hash, at(MINUTE)).await,
        Ok(None),
        "at its expiry a link is dead"
    );
}
