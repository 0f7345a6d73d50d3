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
