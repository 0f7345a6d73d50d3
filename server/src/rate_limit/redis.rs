//! The shared limiter: counters in Redis, so every instance enforces one budget.

use super::{Budget, Decision, LimiterError, LimiterKey, RateLimiter};
use async_trait::async_trait;
use passkey_magic_shared::Timestamp;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// INCR and set the window's expiry in one atomic step; returns the count and the
/// window's remaining milliseconds.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// Counts requests in Redis (one key per client and rule, expiring with its window).
/// Time comes from Redis, so instances with skewed clocks still agree.
#[derive(Clone)]
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    prefix: String,
    script: redis::Script,
    timeout: Duration,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// Connects to `url` (`redis://127.0.0.1:6379`); keys are `<prefix>:rl:<rule>:<hash>`.
    ///
    /// # Errors
    /// [`LimiterError`] when the URL is invalid or Redis cannot be reached.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, LimiterError> {
        let client = redis::Client::open(url).map_err(|e| LimiterError(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| LimiterError(e.to_string()))?;
        Ok(RedisRateLimiter {
            connection,
            prefix: prefix.to_owned(),
            script: redis::Script::new(HIT),
            timeout: Duration::from_secs(2),
        })
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(
        &self,
        key: &LimiterKey,
        budget: Budget,
        _now: Timestamp,
    ) -> Result<Decision, LimiterError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(format!("{}:rl:{key}", self.prefix));
        invocation.arg(u64::try_from(budget.window.as_millis()).unwrap_or(u64::MAX));
        let call = invocation.invoke_async::<(u64, i64)>(&mut connection);
        let (count, ttl) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| LimiterError("redis timed out".into()))?
            .map_err(|e| LimiterError(e.to_string()))?;
        Ok(if count <= u64::from(budget.limit) {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after: Duration::from_millis(u64::try_from(ttl).unwrap_or(0)),
            }
        })
    }

    async fn ping(&self) -> Result<(), LimiterError> {
        let mut connection = self.connection.clone();
        let ping = redis::cmd("PING");
        let call = ping.query_async::<String>(&mut connection);
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| LimiterError("redis timed out".into()))?
            .map_err(|e| LimiterError(e.to_string()))?;
        Ok(())
    }
}
