//! The storage conformance suite against every built-in store, plus what only a
//! persistent store can show (data survives a restart).
//!
//! Run with `cargo test -p passkey-magic-e2e --test storage`. Each SQLite test gets its
//! own database file in a fresh temporary directory, removed when the test ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use passkey_magic_server::store::conformance::Fixture;
use passkey_magic_server::store::{MemoryStore, PostgresStore, RedisStore, SqliteStore, Store};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A SQLite store on a file in its own temporary directory, deleted on drop.
struct TempSqlite {
    store: SqliteStore,
    dir: PathBuf,
}

impl TempSqlite {
    async fn new() -> Self {
        let dir = temp_dir();
        let store = SqliteStore::connect(&sqlite_url(&dir)).await.unwrap();
        TempSqlite { store, dir }
    }
}

impl Fixture for TempSqlite {
    fn store(&self) -> &dyn Store {
        &self.store
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        // Open connections keep working on unlinked files (Unix), and the pool closes
        // them when the store drops right after this.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new, empty directory unique to this process and call.
fn temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "passkey-magic-storage-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("store.db").display())
}

/// The PostgreSQL the tests use (`scripts/test` starts it when it is down).
fn postgres_url() -> String {
    std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A PostgreSQL store in a schema of its own, dropped when the test ends.
struct TempPostgres {
    store: PostgresStore,
    schema: String,
}

impl TempPostgres {
    async fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let schema = format!(
            "pm_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let store = PostgresStore::connect_in_schema(&postgres_url(), &schema)
            .await
            .unwrap();
        TempPostgres { store, schema }
    }
}

impl Fixture for TempPostgres {
    fn store(&self) -> &dyn Store {
        &self.store
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        // Drop is synchronous and the test's runtime may be single-threaded: clean up on
        // a thread with a runtime of its own.
        let schema = self.schema.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
                // Never hang a test run on cleanup: give up after a few seconds.
                sqlx::query("SET lock_timeout = '5s'")
                    .execute(&mut connection)
                    .await
                    .unwrap();
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(&mut connection)
                    .await;
            });
        });
        let _ = cleanup.join();
    }
}

/// The Redis the tests use (a local one unless `PASSKEY_MAGIC_TEST_REDIS_URL` says).
fn redis_url() -> String {
    std::env::var("PASSKEY_MAGIC_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A Redis store under a key prefix of its own, whose keys are deleted when the test
/// ends.
struct TempRedis {
    store: RedisStore,
    prefix: String,
}

impl TempRedis {
    async fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "pm-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let store = RedisStore::connect(&redis_url(), &prefix).await.unwrap();
        TempRedis { store, prefix }
    }
}

impl Fixture for TempRedis {
    fn store(&self) -> &dyn Store {
        &self.store
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        // Drop is synchronous and the test's runtime may be single-threaded: clean up on
        // a thread with a runtime of its own.
        let pattern = format!("{}:*", self.prefix);
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let client = ::redis::Client::open(redis_url()).unwrap();
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let mut cursor: u64 = 0;
                loop {
                    let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    if !keys.is_empty() {
                        let _: () = ::redis::cmd("DEL")
                            .arg(&keys)
                            .query_async(&mut connection)
                            .await
                            .unwrap();
                    }
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            });
        });
        let _ = cleanup.join();
    }
}

passkey_magic_server::conformance_tests!(memory, MemoryStore::new());
passkey_magic_server::conformance_tests!(redis, TempRedis::new().await);
passkey_magic_server::conformance_tests!(postgres, TempPostgres::new().await);
passkey_magic_server::conformance_tests!(sqlite_file, TempSqlite::new().await);
passkey_magic_server::conformance_tests!(
    sqlite_in_memory,
    SqliteStore::connect("sqlite::memory:").await.unwrap()
);

/// A SQLite file keeps users, credentials and sessions across a close and reopen.
#[tokio::test]
async fn sqlite_file_keeps_data_across_restarts() {
    use passkey_magic_server::store::conformance::{
        reads_back_after_restart, write_before_restart,
    };
    let dir = temp_dir();
    let url = sqlite_url(&dir);

    let store = SqliteStore::connect(&url).await.unwrap();
    write_before_restart(&store).await;
    drop(store);

    let reopened = SqliteStore::connect(&url).await.unwrap();
    reads_back_after_restart(&reopened).await;
    // Migrations already applied are not run again, and the data is still readable.
    drop(reopened);
    let again = SqliteStore::connect(&url).await.unwrap();
    reads_back_after_restart(&again).await;
    again.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// PostgreSQL keeps users, credentials and sessions across a reconnect (a restart of
/// every instance).
#[tokio::test]
async fn postgres_keeps_data_across_restarts() {
    use passkey_magic_server::store::conformance::{
        reads_back_after_restart, write_before_restart,
    };
    let temp = TempPostgres::new().await;
    write_before_restart(&temp.store).await;
    temp.store.close().await;
    let reopened = PostgresStore::connect_in_schema(&postgres_url(), &temp.schema)
        .await
        .unwrap();
    reads_back_after_restart(&reopened).await;
    reopened.close().await;
}

/// Redis keeps users, credentials and sessions across a reconnect with the same prefix
/// (a restart of every instance; Redis itself keeps running).
#[tokio::test]
async fn redis_keeps_data_across_restarts() {
    use passkey_magic_server::store::conformance::{
        reads_back_after_restart, write_before_restart,
    };
    let temp = TempRedis::new().await;
    write_before_restart(&temp.store).await;
    let reopened = RedisStore::connect(&redis_url(), &temp.prefix)
        .await
        .unwrap();
    reads_back_after_restart(&reopened).await;
}

/// The PTTL of a raw key (-1: no expiry, -2: no key).
async fn redis_pttl(key: &str) -> i64 {
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    ::redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// Sessions and magic links get a Redis expiry a little after their own, so they vanish
/// without a purge; users do not. A record already past its expiry by the wall clock
/// gets none (reads compare with the caller's `now`, and the purge removes it).
#[tokio::test]
async fn redis_expires_sessions_and_links_by_itself() {
    use passkey_magic_server::secrets::{TokenHash, random_user_handle};
    use passkey_magic_server::store::{MagicLinkRecord, SessionRecord, UserRecord};
    use passkey_magic_shared::{AuthMethod, Timestamp};
    const HOUR: i64 = 3_600_000;
    let temp = TempRedis::new().await;
    let store = &temp.store;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let now = Timestamp::from_unix_millis(wall);
    store
        .create_user(&UserRecord {
            id: "u-1".into(),
            email: None,
            user_handle: random_user_handle().unwrap(),
            created_at: now,
            metadata: None,
        })
        .await
        .unwrap();
    let session = SessionRecord {
        id: "s-1".into(),
        token_hash: TokenHash::of("t-1"),
        user_id: "u-1".into(),
        auth_method: AuthMethod::Passkey,
        created_at: now,
        expires_at: now.plus_millis(HOUR),
        user_agent: None,
        ip_address: None,
        auth_context: None,
    };
    store.create_session(&session).await.unwrap();
    let link = |token: &str, expires_at| MagicLinkRecord {
        token_hash: TokenHash::of(token),
        email: "a@example.com".into(),
        created_at: now,
        expires_at,
    };
    let live = link("live", now.plus_millis(HOUR));
    let past = link("past", Timestamp::from_unix_millis(1_000_000_000_000));
    store.put_magic_link(&live).await.unwrap();
    store.put_magic_link(&past).await.unwrap();

    let p = &temp.prefix;
    let hash = session.token_hash.to_hex();
    for key in [
        format!("{p}:session:{hash}"),
        format!("{p}:session_id:s-1"),
        format!("{p}:magic:{}", live.token_hash.to_hex()),
    ] {
        let ttl = redis_pttl(&key).await;
        assert!(ttl > HOUR - 60_000 && ttl <= 2 * HOUR, "{key}: {ttl}");
    }
    assert_eq!(redis_pttl(&format!("{p}:user:u-1")).await, -1);
    assert_eq!(
        redis_pttl(&format!("{p}:magic:{}", past.token_hash.to_hex())).await,
        -1
    );
    // Still readable at a `now` before its expiry.
    let before = Timestamp::from_unix_millis(999_000_000_000);
    assert_eq!(
        store.take_magic_link(&past.token_hash, before).await,
        Ok(Some(past))
    );
}

/// An unreachable Redis is reported as unavailable (retryable), not as a bug.
#[tokio::test]
async fn redis_down_is_unavailable() {
    use passkey_magic_server::store::StoreError;
    let result = RedisStore::connect("redis://127.0.0.1:1", "pm-test-down").await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}
