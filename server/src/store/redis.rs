//! The Redis store (feature `redis`): records as JSON strings, secondary indexes as plain
//! keys and sorted sets, every multi-key change or check-and-set as one Lua script.
//!
//! # Key layout
//!
//! All keys live under `<prefix>:` (one prefix per deployment, so several can share a
//! Redis):
//!
//! | key | value |
//! |---|---|
//! | `user:<id>` | [`UserRecord`] as JSON |
//! | `email:<canonical email>` | the owning user's id (enforces uniqueness) |
//! | `cred:<id>` | [`CredentialRecord`] as JSON |
//! | `user_creds:<user id>` | sorted set: credential ids scored by `created_at` |
//! | `session:<token hash hex>` | [`SessionRecord`] as JSON |
//! | `session_id:<id>` | the session's token hash hex |
//! | `user_sessions:<user id>` | sorted set: token hashes scored by `created_at` |
//! | `challenge:<challenge>` | [`ChallengeRecord`] as JSON |
//! | `magic:<token hash hex>` | [`MagicLinkRecord`] as JSON |
//! | `emaillink:<token hash hex>` | [`EmailLinkRecord`] as JSON (an email awaiting confirmation) |
//! | `qr:<id>` | [`QrSessionRecord`] as JSON |
//! | `user_events:<user id>` | sorted set: the user's security event ids scored by `created_at` (ms); ties order by id, as the keyset cursor does |
//! | `events:<user id>` | hash: event id → [`SecurityEventRecord`] as JSON |
//! | `event:<id>` | the event's user id (keeps event ids unique) |
//! | `expiry:events` | sorted set: user ids scored by their oldest event's time, read by [`Store::purge_security_events`] |
//! | `expiry:sessions`, `expiry:challenges`, `expiry:magic_links`, `expiry:qr_sessions`, `expiry:email_links` | sorted sets scored by `expires_at` (ms), read by [`Store::purge_expired`] |
//!
//! Members of `expiry:sessions` are `<token hash hex>:<user id>`, so a purge can clean
//! the user's index even when Redis already expired the session itself.
//!
//! # Atomicity
//!
//! Every operation that changes more than one key, or must check before it writes, is a
//! single Lua script (`EVALSHA`, loaded on demand), which Redis runs without interleaving:
//! user creation with its email index, guarded email changes and credential deletes, the
//! delete cascades, session creation with its indexes, single-use takes.
//!
//! Read-modify-write of whole records (credential use and labels, user metadata and
//! email, QR transitions and confirmation attempts) is an optimistic compare-and-set:
//! the record is read and changed in Rust with serde, and a script writes the new JSON
//! only if the stored JSON is still byte-for-byte the one read (else the operation reads
//! again). Of racing writers exactly one wins each round, so QR transitions have one
//! winner and attempt counts never pass their cap. This keeps records exactly as serde
//! wrote them: re-encoding them with Lua's `cjson` would turn empty arrays into `{}`,
//! round numbers in metadata to 14 significant digits, and timestamps (RFC 3339
//! strings) cannot be compared in Lua anyway. Scripts only *decode* JSON to read an id.
//!
//! Scripts build some keys from the prefix (cascades), so the store needs one Redis
//! server (or a single shard), not a Redis Cluster.
//!
//! # Expiry
//!
//! Sessions, challenges and magic links get a Redis expiry (`PEXPIREAT` a few minutes
//! after `expires_at`), so they disappear even if nobody purges. Reads still compare
//! with the `now` they are given, never with Redis's clock; a record already past its
//! expiry by the wall clock when written gets no Redis expiry and waits for
//! [`Store::purge_expired`]. QR logins stay until purged (they read as `expired`).
//!
//! # Security events
//!
//! Each user keeps at most [`MAX_EVENTS_PER_USER`] events: appending one more drops the
//! oldest (memory is the scarce resource here, and a flood of failed sign-ins must not grow
//! a user's log without bound). Retention applies on top, through `expiry:events`.
//!
//! # Trade-offs against PostgreSQL
//!
//! - **Durability depends on Redis's persistence settings** (RDB snapshots lose the
//!   last minutes; AOF with `appendfsync everysec` about a second; no persistence loses
//!   everything on restart). That is fine for sessions, challenges, QR logins and magic
//!   links (users sign in again), but users and credentials are accounts: keep them in
//!   a Redis with AOF persistence and replication, or use PostgreSQL.
//! - **Memory-bound**: every record lives in RAM; set `maxmemory-policy noeviction`
//!   (an evicting policy would silently drop users and indexes).
//! - **No SQL**: no ad-hoc queries, reports or migrations; only the lookups above are
//!   indexed. Listing a user's credentials or sessions reads that user's index.

use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, EmailLinkRecord, Guarded, MagicLinkRecord,
    Purged, QrChange, QrSessionRecord, SecurityEventRecord, SessionRecord, Store, StoreCause,
    StoreError, UserRecord,
};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use async_trait::async_trait;
use passkey_magic_shared::security_events::EventCursor;
use passkey_magic_shared::{Metadata, Timestamp, email};
use redis::aio::ConnectionManager;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long after `expires_at` Redis drops a record by itself (clock skew between the
/// instances and Redis must not make a live record vanish early).
const EXPIRY_SLACK_MS: i64 = 5 * 60_000;

/// Optimistic compare-and-set rounds before giving up (each lost round means another
/// writer won, so this is only reached under pathological contention).
const MAX_ROUNDS: usize = 100;

/// Messages waiting in a listener's feed before newer ones are dropped (a slow engine
/// then relies on its re-check).
const FEED_CAPACITY: usize = 1024;

/// Security events kept per user; appending beyond drops the oldest.
const MAX_EVENTS_PER_USER: usize = 1000;

/// KEYS: event id key, user_events, events, expiry:events. ARGV: JSON, created_at ms,
/// event id, user id, cap, prefix.
const APPEND_EVENT: &str = r"
if redis.call('SET', KEYS[1], ARGV[4], 'NX') == false then return 'conflict' end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  local p = ARGV[6]
  for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do
    redis.call('HDEL', KEYS[3], old)
    redis.call('DEL', p .. ':event:' .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[4], oldest[2], ARGV[4])
return 'ok'
";

/// KEYS: user_events, events. ARGV: cursor ms or '' (from the newest), limit. Returns
/// {events at the cursor's millisecond, older events}: the first list is filtered by id
/// in Rust (Lua compares strings by locale, Redis orders members by bytes).
const LIST_EVENTS: &str = r"
local ties, older = {}, {}
local top = '+inf'
if ARGV[1] ~= '' then
  ties = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
  top = '(' .. ARGV[1]
end
older = redis.call('ZREVRANGEBYSCORE', KEYS[1], top, '-inf', 'LIMIT', 0, tonumber(ARGV[2]))
local function records(ids)
  if #ids == 0 then return {} end
  return redis.call('HMGET', KEYS[2], unpack(ids))
end
return {records(ties), records(older)}
";

/// ARGV: prefix, cutoff ms, batch size. Returns {deleted, more}.
const PURGE_EVENTS: &str = r"
local p, cutoff, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local index = p .. ':expiry:events'
local users = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. cutoff, 'LIMIT', 0, batch)
local n = 0
for _, user in ipairs(users) do
  local ids_key, data_key = p .. ':user_events:' .. user, p .. ':events:' .. user
  local old = redis.call('ZRANGEBYSCORE', ids_key, '-inf', '(' .. cutoff)
  for _, id in ipairs(old) do
    redis.call('HDEL', data_key, id)
    redis.call('DEL', p .. ':event:' .. id)
  end
  n = n + #old
  redis.call('ZREMRANGEBYSCORE', ids_key, '-inf', '(' .. cutoff)
  local oldest = redis.call('ZRANGE', ids_key, 0, 0, 'WITHSCORES')
  if #oldest == 0 then
    redis.call('ZREM', index, user)
  else
    redis.call('ZADD', index, oldest[2], user)
  end
end
local more = 0
if #users == batch then more = 1 end
return {n, more}
";

/// KEYS: a record that names its user (a session or a credential). ARGV: the user keys'
/// prefix. The record and its user in one round trip instead of two; nil when either is
/// missing.
const GET_WITH_USER: &str = r"
local json = redis.call('GET', KEYS[1])
if not json then return false end
local user = redis.call('GET', ARGV[1] .. cjson.decode(json).user_id)
if not user then return false end
return {json, user}
";

/// Records a purge round deletes per kind (keeps each script short).
const PURGE_BATCH: usize = 1000;

/// Session helpers shared by the scripts that delete sessions.
const SESSION_LIB: &str = r"
local function drop_session(p, hash, user_id)
  local key = p .. ':session:' .. hash
  local json = redis.call('GET', key)
  local n = 0
  if json then
    local session = cjson.decode(json)
    local id_key = p .. ':session_id:' .. session.id
    if redis.call('GET', id_key) == hash then redis.call('DEL', id_key) end
    redis.call('DEL', key)
    n = 1
  end
  redis.call('ZREM', p .. ':user_sessions:' .. user_id, hash)
  redis.call('ZREM', p .. ':expiry:sessions', hash .. ':' .. user_id)
  return n
end
local function drop_user_sessions(p, user_id)
  local n = 0
  local index = p .. ':user_sessions:' .. user_id
  for _, hash in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    n = n + drop_session(p, hash, user_id)
  end
  redis.call('DEL', index)
  return n
end
";

/// KEYS: user, email index (optional). ARGV: user JSON, user id.
const CREATE_USER: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 'conflict:id' end
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return 'conflict:email' end
redis.call('SET', KEYS[1], ARGV[1])
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[2]) end
return 'ok'
";

/// KEYS: user, user_creds. ARGV: expected JSON, new JSON, user id, old email key or '',
/// new email key or ''.
const SET_USER_EMAIL: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'retry' end
local id, old_key, new_key = ARGV[3], ARGV[4], ARGV[5]
if new_key == '' then
  if redis.call('ZCARD', KEYS[2]) == 0 then return 'lockout' end
else
  local owner = redis.call('GET', new_key)
  if owner and owner ~= id then return 'conflict' end
end
if old_key ~= '' and redis.call('GET', old_key) == id then redis.call('DEL', old_key) end
if new_key ~= '' then redis.call('SET', new_key, id) end
redis.call('SET', KEYS[1], ARGV[2])
return 'done'
";

/// KEYS: record, expiry set (optional). ARGV: expected JSON, new JSON, score, member.
const COMPARE_AND_SET: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if KEYS[2] then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end
return 1
";

/// KEYS: user. ARGV: expected JSON, email key or '', prefix, user id.
const DELETE_USER_BODY: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'retry' end
local p, id = ARGV[3], ARGV[4]
if ARGV[2] ~= '' and redis.call('GET', ARGV[2]) == id then redis.call('DEL', ARGV[2]) end
local creds = p .. ':user_creds:' .. id
for _, credential in ipairs(redis.call('ZRANGE', creds, 0, -1)) do
  redis.call('DEL', p .. ':cred:' .. credential)
end
redis.call('DEL', creds)
drop_user_sessions(p, id)
redis.call('DEL', KEYS[1])
return 'done'
";

/// KEYS: credential, user, user_creds. ARGV: JSON, created_at ms, credential id.
const CREATE_CREDENTIAL: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 'conflict:id' end
if redis.call('EXISTS', KEYS[2]) == 0 then return 'no_user' end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return 'ok'
";

/// KEYS: credential, user, user_creds. ARGV: user id, credential id.
const DELETE_CREDENTIAL: &str = r"
local json = redis.call('GET', KEYS[1])
if not json then return 'not_found' end
if cjson.decode(json).user_id ~= ARGV[1] then return 'not_found' end
if redis.call('ZCARD', KEYS[3]) <= 1 then
  local user = redis.call('GET', KEYS[2])
  local has_email = false
  if user then has_email = type(cjson.decode(user).email) == 'string' end
  if not has_email then return 'lockout' end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return 'done'
";

/// KEYS: session, session_id, user, user_sessions, expiry:sessions. ARGV: JSON, token
/// hash hex, created_at ms, expires_at ms, expiry member, PEXPIREAT ms or 0.
const CREATE_SESSION: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 'conflict:id' end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'conflict:token_hash' end
if redis.call('EXISTS', KEYS[3]) == 0 then return 'no_user' end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[6] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[6])
  redis.call('PEXPIREAT', KEYS[2], ARGV[6])
end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[5])
return 'ok'
";

/// ARGV: prefix, user id, session id.
const DELETE_SESSION_BODY: &str = r"
local p, user_id = ARGV[1], ARGV[2]
local hash = redis.call('GET', p .. ':session_id:' .. ARGV[3])
if not hash then return 0 end
local json = redis.call('GET', p .. ':session:' .. hash)
if not json then return 0 end
if cjson.decode(json).user_id ~= user_id then return 0 end
return drop_session(p, hash, user_id)
";

/// ARGV: prefix, user id.
const DELETE_SESSIONS_FOR_USER_BODY: &str = r"
return drop_user_sessions(ARGV[1], ARGV[2])
";

/// KEYS: record, expiry set. ARGV: JSON, expires_at ms, member, PEXPIREAT ms or 0,
/// 'nx' to refuse overwriting.
const PUT_EXPIRING: &str = r"
if ARGV[5] == 'nx' and redis.call('EXISTS', KEYS[1]) == 1 then return 'conflict' end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[4] ~= '0' then redis.call('PEXPIREAT', KEYS[1], ARGV[4]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 'ok'
";

/// KEYS: record, expiry set. ARGV: member. Removes and returns the record.
const TAKE: &str = r"
local value = redis.call('GET', KEYS[1])
if value then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return value
";

/// ARGV: prefix, now ms, batch size. Returns {deleted, more}.
const PURGE_BODY: &str = r"
local p, now, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n, more, expired_qr = 0, 0, 0
local sessions = p .. ':expiry:sessions'
local members = redis.call('ZRANGEBYSCORE', sessions, '-inf', now, 'LIMIT', 0, batch)
if #members == batch then more = 1 end
for _, member in ipairs(members) do
  n = n + drop_session(p, string.sub(member, 1, 64), string.sub(member, 66))
  redis.call('ZREM', sessions, member)
end
for _, pair in ipairs({{'challenges', 'challenge'}, {'magic_links', 'magic'}, {'qr_sessions', 'qr'}, {'email_links', 'emaillink'}}) do
  local set, kind = pair[1], pair[2]
  local index = p .. ':expiry:' .. set
  members = redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, batch)
  if #members == batch then more = 1 end
  for _, member in ipairs(members) do
    local key = p .. ':' .. kind .. ':' .. member
    if kind == 'qr' then
      local json = redis.call('GET', key)
      if json then
        local state = cjson.decode(json).state
        if state ~= 'claimed' and state ~= 'cancelled' then expired_qr = expired_qr + 1 end
      end
    end
    n = n + redis.call('DEL', key)
    redis.call('ZREM', index, member)
  end
end
return {n, more, expired_qr}
";

struct Scripts {
    create_user: redis::Script,
    set_user_email: redis::Script,
    compare_and_set: redis::Script,
    delete_user: redis::Script,
    create_credential: redis::Script,
    delete_credential: redis::Script,
    create_session: redis::Script,
    delete_session: redis::Script,
    delete_sessions_for_user: redis::Script,
    put_expiring: redis::Script,
    take: redis::Script,
    purge: redis::Script,
    append_event: redis::Script,
    list_events: redis::Script,
    purge_events: redis::Script,
    get_with_user: redis::Script,
}

impl Scripts {
    fn new() -> Self {
        let with_lib = |body: &str| redis::Script::new(&format!("{SESSION_LIB}{body}"));
        Scripts {
            create_user: redis::Script::new(CREATE_USER),
            set_user_email: redis::Script::new(SET_USER_EMAIL),
            compare_and_set: redis::Script::new(COMPARE_AND_SET),
            delete_user: with_lib(DELETE_USER_BODY),
            create_credential: redis::Script::new(CREATE_CREDENTIAL),
            delete_credential: redis::Script::new(DELETE_CREDENTIAL),
            create_session: redis::Script::new(CREATE_SESSION),
            delete_session: with_lib(DELETE_SESSION_BODY),
            delete_sessions_for_user: with_lib(DELETE_SESSIONS_FOR_USER_BODY),
            put_expiring: redis::Script::new(PUT_EXPIRING),
            take: redis::Script::new(TAKE),
            purge: with_lib(PURGE_BODY),
            append_event: redis::Script::new(APPEND_EVENT),
            list_events: redis::Script::new(LIST_EVENTS),
            purge_events: redis::Script::new(PURGE_EVENTS),
            get_with_user: redis::Script::new(GET_WITH_USER),
        }
    }
}

/// A [`Store`] in Redis. Clones share one multiplexed connection (reconnected by
/// [`ConnectionManager`] after failures).
#[derive(Clone)]
pub struct RedisStore {
    /// For the pub/sub connection of QR wake-ups (commands use `connection`).
    client: redis::Client,
    connection: ConnectionManager,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn redis_error(error: redis::RedisError) -> StoreError {
    if error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_io_error()
    {
        StoreError::Unavailable(StoreCause::new(error))
    } else {
        StoreError::Internal(StoreCause::new(error))
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(format!("encoding: {e}").into()))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("corrupt record: {e}").into()))
}

fn millis(at: Timestamp) -> i64 {
    at.as_unix_millis()
}

/// When Redis should drop a record expiring at `expires_at`: a little later, or never
/// (0) when that is already past by the wall clock (a test clock, or a skewed one; the
/// purge removes it).
fn redis_expiry(expires_at: Timestamp) -> i64 {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let at = millis(expires_at).saturating_add(EXPIRY_SLACK_MS);
    if at > wall { at } else { 0 }
}

fn contention() -> StoreError {
    StoreError::Unavailable("redis: too many concurrent writers on one record".into())
}

fn unexpected(reply: &str) -> StoreError {
    StoreError::Internal(format!("redis: unexpected script reply {reply:?}").into())
}

impl RedisStore {
    /// Connects to `url` (`redis://127.0.0.1:6379`, `rediss://…`); every key is under
    /// `<key_prefix>:`.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for an invalid URL, [`StoreError::Unavailable`] when
    /// Redis cannot be reached.
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Internal(format!("invalid redis URL: {e}").into()))?;
        let timeout = Duration::from_secs(2);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            timeout * 3,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| StoreError::Unavailable("redis: connection timed out".into()))?
        .map_err(|e| StoreError::Unavailable(format!("redis: {e}").into()))?;
        Ok(RedisStore {
            client,
            connection,
            prefix: key_prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts::new()),
            timeout,
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    fn email_key(&self, address: &str) -> String {
        self.key("email", &email::canonical(address))
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, cmd.query_async(&mut connection))
            .await
            .map_err(|_| StoreError::Unavailable("redis: timed out".into()))?
            .map_err(redis_error)
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| StoreError::Unavailable("redis: timed out".into()))?
            .map_err(redis_error)
    }

    /// The record at `key` and the user it names (`GET_WITH_USER`).
    async fn get_with_user<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<(T, UserRecord)>, StoreError> {
        let mut invocation = self.scripts.get_with_user.prepare_invoke();
        invocation.key(key).arg(self.key("user", ""));
        let found: Option<(String, String)> = self.invoke(&invocation).await?;
        found
            .map(|(record, user)| Ok((from_json(&record)?, from_json(&user)?)))
            .transpose()
    }

    async fn get_raw(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.query(redis::cmd("GET").arg(key)).await
    }

    /// The record at `key`, with the JSON it was read from (for compare-and-set).
    async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<(String, T)>, StoreError> {
        match self.get_raw(key).await? {
            Some(raw) => {
                let value = from_json(&raw)?;
                Ok(Some((raw, value)))
            }
            None => Ok(None),
        }
    }

    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        Ok(self.get_json(key).await?.map(|(_, value)| value))
    }

    /// The records at `keys` that exist.
    async fn get_many<T: DeserializeOwned>(&self, keys: &[String]) -> Result<Vec<T>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<String>> = self.query(redis::cmd("MGET").arg(keys)).await?;
        values.iter().flatten().map(|raw| from_json(raw)).collect()
    }

    async fn index_members(&self, index: &str) -> Result<Vec<String>, StoreError> {
        self.query(redis::cmd("ZRANGE").arg(index).arg(0).arg(-1))
            .await
    }

    /// Writes `new` at `key` only if it still holds `expected`; optionally scores
    /// `member` in the sorted set `expiry` too. `false` when another writer came first.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: &str,
        new: &str,
        expiry: Option<(&str, i64, &str)>,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.compare_and_set.prepare_invoke();
        invocation.key(key);
        if let Some((set, _, _)) = expiry {
            invocation.key(set);
        }
        invocation.arg(expected).arg(new);
        if let Some((_, score, member)) = expiry {
            invocation.arg(score).arg(member);
        }
        let written: i64 = self.invoke(&invocation).await?;
        Ok(written == 1)
    }

    async fn take_raw(
        &self,
        key: &str,
        expiry_set: &str,
        member: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut invocation = self.scripts.take.prepare_invoke();
        invocation.key(key).key(expiry_set).arg(member);
        self.invoke(&invocation).await
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut invocation = self.scripts.create_user.prepare_invoke();
        invocation.key(self.key("user", &user.id));
        if let Some(address) = &user.email {
            invocation.key(self.email_key(address));
        }
        invocation.arg(to_json(user)?).arg(&user.id);
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict:id" => Err(StoreError::Conflict("id")),
            "conflict:email" => Err(StoreError::Conflict("email")),
            other => Err(unexpected(other)),
        }
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.get(&self.key("user", id)).await
    }

    async fn user_by_email(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
        let Some(id) = self.get_raw(&self.email_key(address)).await? else {
            return Ok(None);
        };
        Ok(self.user_by_id(&id).await?.filter(|user| {
            user.email.as_deref().map(email::canonical) == Some(email::canonical(address))
        }))
    }

    async fn set_user_email(
        &self,
        id: &str,
        new_email: Option<&str>,
    ) -> Result<Guarded, StoreError> {
        let key = self.key("user", id);
        for _ in 0..MAX_ROUNDS {
            let Some((raw, mut user)) = self.get_json::<UserRecord>(&key).await? else {
                return Ok(Guarded::NotFound);
            };
            let old_key = user
                .email
                .as_deref()
                .map(|a| self.email_key(a))
                .unwrap_or_default();
            let new_key = new_email.map(|a| self.email_key(a)).unwrap_or_default();
            user.email = new_email.map(str::to_owned);
            let mut invocation = self.scripts.set_user_email.prepare_invoke();
            invocation
                .key(&key)
                .key(self.key("user_creds", id))
                .arg(&raw)
                .arg(to_json(&user)?)
                .arg(id)
                .arg(old_key)
                .arg(new_key);
            let reply: String = self.invoke(&invocation).await?;
            match reply.as_str() {
                "done" => return Ok(Guarded::Done),
                "lockout" => return Ok(Guarded::WouldLockOut),
                "conflict" => return Err(StoreError::Conflict("email")),
                "retry" => {}
                other => return Err(unexpected(other)),
            }
        }
        Err(contention())
    }

    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let key = self.key("user", id);
        for _ in 0..MAX_ROUNDS {
            let Some((raw, mut user)) = self.get_json::<UserRecord>(&key).await? else {
                return Ok(false);
            };
            user.metadata = metadata.cloned();
            if self
                .compare_and_set(&key, &raw, &to_json(&user)?, None)
                .await?
            {
                return Ok(true);
            }
        }
        Err(contention())
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let key = self.key("user", id);
        for _ in 0..MAX_ROUNDS {
            let Some((raw, user)) = self.get_json::<UserRecord>(&key).await? else {
                return Ok(false);
            };
            let email_key = user
                .email
                .as_deref()
                .map(|a| self.email_key(a))
                .unwrap_or_default();
            let mut invocation = self.scripts.delete_user.prepare_invoke();
            invocation
                .key(&key)
                .arg(&raw)
                .arg(email_key)
                .arg(&self.prefix)
                .arg(id);
            let reply: String = self.invoke(&invocation).await?;
            match reply.as_str() {
                "done" => return Ok(true),
                "retry" => {}
                other => return Err(unexpected(other)),
            }
        }
        Err(contention())
    }

    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        let mut invocation = self.scripts.create_credential.prepare_invoke();
        invocation
            .key(self.key("cred", &credential.id))
            .key(self.key("user", &credential.user_id))
            .key(self.key("user_creds", &credential.user_id))
            .arg(to_json(credential)?)
            .arg(millis(credential.created_at))
            .arg(&credential.id);
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict:id" => Err(StoreError::Conflict("id")),
            "no_user" => Err(StoreError::Internal("credential for unknown user".into())),
            other => Err(unexpected(other)),
        }
    }

    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        self.get(&self.key("cred", id)).await
    }

    async fn credential_with_user(
        &self,
        id: &str,
    ) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
        self.get_with_user(&self.key("cred", id)).await
    }

    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let ids = self.index_members(&self.key("user_creds", user_id)).await?;
        let keys: Vec<String> = ids.iter().map(|id| self.key("cred", id)).collect();
        let mut found: Vec<CredentialRecord> = self.get_many(&keys).await?;
        found.retain(|c| c.user_id == user_id);
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError> {
        let key = self.key("cred", &usage.id);
        for _ in 0..MAX_ROUNDS {
            let Some((raw, mut credential)) = self.get_json::<CredentialRecord>(&key).await? else {
                return Ok(false);
            };
            // Checked against the value the compare-and-set below replaces.
            if !usage.apply(&mut credential) {
                return Ok(false);
            }
            if self
                .compare_and_set(&key, &raw, &to_json(&credential)?, None)
                .await?
            {
                return Ok(true);
            }
        }
        Err(contention())
    }

    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let key = self.key("cred", id);
        for _ in 0..MAX_ROUNDS {
            let Some((raw, mut credential)) = self.get_json::<CredentialRecord>(&key).await? else {
                return Ok(false);
            };
            if credential.user_id != user_id {
                return Ok(false);
            }
            if let Some(label) = label {
                credential.label = Some(label.to_owned());
            }
            if let Some(metadata) = metadata {
                credential.metadata = Some(metadata.clone());
            }
            if self
                .compare_and_set(&key, &raw, &to_json(&credential)?, None)
                .await?
            {
                return Ok(true);
            }
        }
        Err(contention())
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        let mut invocation = self.scripts.delete_credential.prepare_invoke();
        invocation
            .key(self.key("cred", id))
            .key(self.key("user", user_id))
            .key(self.key("user_creds", user_id))
            .arg(user_id)
            .arg(id);
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "done" => Ok(Guarded::Done),
            "not_found" => Ok(Guarded::NotFound),
            "lockout" => Ok(Guarded::WouldLockOut),
            other => Err(unexpected(other)),
        }
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let hash = session.token_hash.to_hex();
        let mut invocation = self.scripts.create_session.prepare_invoke();
        invocation
            .key(self.key("session", &hash))
            .key(self.key("session_id", &session.id))
            .key(self.key("user", &session.user_id))
            .key(self.key("user_sessions", &session.user_id))
            .key(self.key("expiry", "sessions"))
            .arg(to_json(session)?)
            .arg(&hash)
            .arg(millis(session.created_at))
            .arg(millis(session.expires_at))
            .arg(format!("{hash}:{}", session.user_id))
            .arg(redis_expiry(session.expires_at));
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict:id" => Err(StoreError::Conflict("id")),
            "conflict:token_hash" => Err(StoreError::Conflict("token_hash")),
            "no_user" => Err(StoreError::Internal("session for unknown user".into())),
            other => Err(unexpected(other)),
        }
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .get::<SessionRecord>(&self.key("session", &token_hash.to_hex()))
            .await?
            .filter(|session| session.expires_at > now))
    }

    async fn session_with_user(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        Ok(self
            .get_with_user::<SessionRecord>(&self.key("session", &token_hash.to_hex()))
            .await?
            .filter(|(session, _)| session.expires_at > now))
    }

    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let hashes = self
            .index_members(&self.key("user_sessions", user_id))
            .await?;
        let keys: Vec<String> = hashes.iter().map(|h| self.key("session", h)).collect();
        let mut found: Vec<SessionRecord> = self.get_many(&keys).await?;
        found.retain(|s| s.user_id == user_id && s.expires_at > now);
        found.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(found)
    }

    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.delete_session.prepare_invoke();
        invocation.arg(&self.prefix).arg(user_id).arg(id);
        let deleted: i64 = self.invoke(&invocation).await?;
        Ok(deleted > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut invocation = self.scripts.delete_sessions_for_user.prepare_invoke();
        invocation.arg(&self.prefix).arg(user_id);
        self.invoke(&invocation).await
    }

    // ---- QR logins ----

    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
        let mut invocation = self.scripts.put_expiring.prepare_invoke();
        invocation
            .key(self.key("qr", &qr.id))
            .key(self.key("expiry", "qr_sessions"))
            .arg(to_json(qr)?)
            .arg(millis(qr.expires_at))
            .arg(&qr.id)
            .arg(0)
            .arg("nx");
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict" => Err(StoreError::Conflict("id")),
            other => Err(unexpected(other)),
        }
    }

    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        self.get(&self.key("qr", id)).await
    }

    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| self.key("qr", id)).collect();
        self.get_many(&keys).await
    }

    fn announces_qr_changes(&self) -> bool {
        true
    }

    async fn announce_qr_change(&self, message: &str) -> Result<(), StoreError> {
        let channel = self.key("channel", "qr_changes");
        self.query::<i64>(redis::cmd("PUBLISH").arg(&channel).arg(message))
            .await?;
        Ok(())
    }

    async fn listen_qr_changes(&self) -> Result<Option<super::QrChangeFeed>, StoreError> {
        use futures_util::StreamExt as _;
        let channel = self.key("channel", "qr_changes");
        let mut pubsub = tokio::time::timeout(self.timeout, self.client.get_async_pubsub())
            .await
            .map_err(|_| StoreError::Unavailable("redis: connection timed out".into()))?
            .map_err(redis_error)?;
        pubsub.subscribe(&channel).await.map_err(redis_error)?;
        let mut messages = pubsub.into_on_message();
        let (sender, feed) = tokio::sync::mpsc::channel(FEED_CAPACITY);
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    () = sender.closed() => return,
                    message = messages.next() => message,
                };
                // The stream ends when the connection is lost: so does the feed, and
                // the engine subscribes again (its re-check finds what was missed).
                let Some(message) = message else { return };
                let Ok(payload) = message.get_payload::<String>() else {
                    continue;
                };
                // A full feed drops the message; a closed one ends the task.
                if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) =
                    sender.try_send(payload)
                {
                    return;
                }
            }
        });
        Ok(Some(feed))
    }

    async fn transition_qr_session(
        &self,
        id: &str,
        change: &QrChange,
        now: Timestamp,
    ) -> Result<Option<QrSessionRecord>, StoreError> {
        let key = self.key("qr", id);
        let expiry = self.key("expiry", "qr_sessions");
        for _ in 0..MAX_ROUNDS {
            let Some((raw, mut qr)) = self.get_json::<QrSessionRecord>(&key).await? else {
                return Ok(None);
            };
            if !change.apply(&mut qr, now) {
                return Ok(None);
            }
            let new = to_json(&qr)?;
            if self
                .compare_and_set(&key, &raw, &new, Some((&expiry, millis(qr.expires_at), id)))
                .await?
            {
                return Ok(Some(qr));
            }
        }
        Err(contention())
    }

    async fn count_qr_confirmation_attempt(
        &self,
        id: &str,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        let key = self.key("qr", id);
        for _ in 0..MAX_ROUNDS {
            let Some((raw, mut qr)) = self.get_json::<QrSessionRecord>(&key).await? else {
                return Ok(None);
            };
            let Some(attempt) = qr.count_confirmation_attempt(states, max_attempts, now) else {
                return Ok(None);
            };
            if self
                .compare_and_set(&key, &raw, &to_json(&qr)?, None)
                .await?
            {
                return Ok(Some(attempt));
            }
        }
        Err(contention())
    }

    // ---- pending ceremonies ----

    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        let mut invocation = self.scripts.put_expiring.prepare_invoke();
        invocation
            .key(self.key("challenge", &challenge.challenge))
            .key(self.key("expiry", "challenges"))
            .arg(to_json(challenge)?)
            .arg(millis(challenge.expires_at))
            .arg(&challenge.challenge)
            .arg(redis_expiry(challenge.expires_at))
            .arg("overwrite");
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let raw = self
            .take_raw(
                &self.key("challenge", challenge),
                &self.key("expiry", "challenges"),
                challenge,
            )
            .await?;
        Ok(raw
            .map(|raw| from_json::<ChallengeRecord>(&raw))
            .transpose()?
            .filter(|record| record.expires_at > now))
    }

    // ---- magic links ----

    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        let hash = link.token_hash.to_hex();
        let mut invocation = self.scripts.put_expiring.prepare_invoke();
        invocation
            .key(self.key("magic", &hash))
            .key(self.key("expiry", "magic_links"))
            .arg(to_json(link)?)
            .arg(millis(link.expires_at))
            .arg(&hash)
            .arg(redis_expiry(link.expires_at))
            .arg("nx");
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict" => Err(StoreError::Conflict("token_hash")),
            other => Err(unexpected(other)),
        }
    }

    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError> {
        let hash = token_hash.to_hex();
        let raw = self
            .take_raw(
                &self.key("magic", &hash),
                &self.key("expiry", "magic_links"),
                &hash,
            )
            .await?;
        Ok(raw
            .map(|raw| from_json::<MagicLinkRecord>(&raw))
            .transpose()?
            .filter(|link| link.expires_at > now))
    }

    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        let hash = token_hash.to_hex();
        let raw = self
            .take_raw(
                &self.key("magic", &hash),
                &self.key("expiry", "magic_links"),
                &hash,
            )
            .await?;
        Ok(raw.is_some())
    }

    // ---- pending email links ----

    async fn put_email_link(&self, link: &EmailLinkRecord) -> Result<(), StoreError> {
        let hash = link.token_hash.to_hex();
        let mut invocation = self.scripts.put_expiring.prepare_invoke();
        invocation
            .key(self.key("emaillink", &hash))
            .key(self.key("expiry", "email_links"))
            .arg(to_json(link)?)
            .arg(millis(link.expires_at))
            .arg(&hash)
            .arg(redis_expiry(link.expires_at))
            .arg("nx");
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict" => Err(StoreError::Conflict("token_hash")),
            other => Err(unexpected(other)),
        }
    }

    async fn take_email_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<EmailLinkRecord>, StoreError> {
        let hash = token_hash.to_hex();
        let raw = self
            .take_raw(
                &self.key("emaillink", &hash),
                &self.key("expiry", "email_links"),
                &hash,
            )
            .await?;
        Ok(raw
            .map(|raw| from_json::<EmailLinkRecord>(&raw))
            .transpose()?
            .filter(|link| link.expires_at > now))
    }

    // ---- security events ----

    async fn append_security_event(&self, record: &SecurityEventRecord) -> Result<(), StoreError> {
        let event = &record.event;
        let mut invocation = self.scripts.append_event.prepare_invoke();
        invocation
            .key(self.key("event", &event.id))
            .key(self.key("user_events", &record.user_id))
            .key(self.key("events", &record.user_id))
            .key(self.key("expiry", "events"))
            .arg(to_json(record)?)
            .arg(millis(event.created_at))
            .arg(&event.id)
            .arg(&record.user_id)
            .arg(MAX_EVENTS_PER_USER)
            .arg(&self.prefix);
        let reply: String = self.invoke(&invocation).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict" => Err(StoreError::Conflict("id")),
            other => Err(unexpected(other)),
        }
    }

    async fn security_events_for_user(
        &self,
        user_id: &str,
        after: Option<&EventCursor>,
        limit: usize,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        let mut invocation = self.scripts.list_events.prepare_invoke();
        invocation
            .key(self.key("user_events", user_id))
            .key(self.key("events", user_id))
            .arg(after.map_or(String::new(), |cursor| {
                millis(cursor.created_at).to_string()
            }))
            .arg(limit);
        let (ties, older): (Vec<Option<String>>, Vec<Option<String>>) =
            self.invoke(&invocation).await?;
        let decode = |raw: &Option<String>| raw.as_deref().map(from_json::<SecurityEventRecord>);
        // At the cursor's millisecond, only ids below the cursor's (byte order, as the
        // sorted set orders members) come next; they come newest first like the rest.
        let mut found: Vec<SecurityEventRecord> =
            ties.iter().filter_map(decode).collect::<Result<_, _>>()?;
        found.retain(|record| after.is_some_and(|cursor| record.event.id < cursor.id));
        found.sort_by(|a, b| b.event.id.cmp(&a.event.id));
        for record in older.iter().filter_map(decode) {
            found.push(record?);
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn purge_security_events(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let mut invocation = self.scripts.purge_events.prepare_invoke();
            invocation
                .arg(&self.prefix)
                .arg(millis(cutoff))
                .arg(PURGE_BATCH);
            let (deleted, more): (u64, i64) = self.invoke(&invocation).await?;
            total += deleted;
            if more == 0 {
                return Ok(total);
            }
        }
    }

    // ---- maintenance ----

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        let mut total = Purged::default();
        loop {
            let mut invocation = self.scripts.purge.prepare_invoke();
            invocation
                .arg(&self.prefix)
                .arg(millis(now))
                .arg(PURGE_BATCH);
            let (deleted, more, expired_qr_logins): (u64, i64, u64) =
                self.invoke(&invocation).await?;
            total.rows += deleted;
            total.expired_qr_logins += expired_qr_logins;
            if more == 0 {
                return Ok(total);
            }
        }
    }
}
