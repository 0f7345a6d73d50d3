//! The in-process limiter: fixed windows in a map whose size stays bounded.

use super::{Budget, Decision, LimiterError, RateLimiter};
use crate::config::millis;
use async_trait::async_trait;
use passkey_magic_shared::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Default bound on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    ends_at: i64,
    count: u32,
}

/// Counts requests in process memory. Expired windows are evicted as new keys arrive, and
/// the number of live keys never exceeds the bound: past it, requests from *new* keys are
/// limited (fail closed) until windows expire, so a flood of addresses cannot reset the
/// counters of others.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    // std Mutex: tiny critical sections, never held across an await.
    state: Mutex<State>,
    max_keys: usize,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<String, Window>,
    /// No window ends before this: a full map is swept only once something can expire,
    /// so a flood of new keys costs O(1) each, not a scan.
    earliest_end: i64,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }
}

impl MemoryRateLimiter {
    /// A limiter tracking at most `max_keys` live keys.
    pub fn with_max_keys(max_keys: usize) -> Self {
        MemoryRateLimiter {
            state: Mutex::new(State::default()),
            max_keys: max_keys.max(1),
        }
    }

    /// Keys currently tracked (for monitoring and tests).
    pub fn tracked_keys(&self) -> usize {
        self.state.lock().map(|s| s.windows.len()).unwrap_or(0)
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        budget: Budget,
        now: Timestamp,
    ) -> Result<Decision, LimiterError> {
        let now = now.as_unix_millis();
        let mut state = self
            .state
            .lock()
            .map_err(|_| LimiterError("memory limiter lock poisoned".into()))?;
        if !state.windows.contains_key(key) && state.windows.len() >= self.max_keys {
            if state.earliest_end <= now {
                state.windows.retain(|_, window| window.ends_at > now);
                state.earliest_end = state.windows.values().map(|w| w.ends_at).min().unwrap_or(0);
            }
            if state.windows.len() >= self.max_keys {
                return Ok(Decision::Limited {
                    retry_after: Duration::from_millis((state.earliest_end - now).max(0) as u64),
                });
            }
        }
        let new_end = now + millis(budget.window);
        if state.windows.is_empty() || new_end < state.earliest_end {
            state.earliest_end = new_end;
        }
        let window = state.windows.entry(key.to_owned()).or_insert(Window {
            ends_at: now + millis(budget.window),
            count: 0,
        });
        if window.ends_at <= now {
            *window = Window {
                ends_at: now + millis(budget.window),
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        Ok(if window.count <= budget.limit {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after: Duration::from_millis((window.ends_at - now).max(0) as u64),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget::new(3, Duration::from_secs(60));

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + seconds * 1000)
    }

    #[tokio::test]
    async fn the_request_after_the_budget_is_limited_until_the_window_ends() {
        let limiter = MemoryRateLimiter::default();
        for _ in 0..3 {
            assert_eq!(
                limiter.hit("k", BUDGET, at(0)).await.unwrap(),
                Decision::Allowed
            );
        }
        assert_eq!(
            limiter.hit("k", BUDGET, at(20)).await.unwrap(),
            Decision::Limited {
                retry_after: Duration::from_secs(40)
            }
        );
        // Other keys have their own budget.
        assert_eq!(
            limiter.hit("other", BUDGET, at(20)).await.unwrap(),
            Decision::Allowed
        );
        // A new window starts after the old one ends.
        assert_eq!(
            limiter.hit("k", BUDGET, at(60)).await.unwrap(),
            Decision::Allowed
        );
    }

    #[tokio::test]
    async fn memory_stays_bounded_under_100_000_distinct_keys() {
        let limiter = MemoryRateLimiter::with_max_keys(50_000);
        for index in 0..100_000 {
            let decision = limiter
                .hit(&format!("key-{index}"), BUDGET, at(0))
                .await
                .unwrap();
            if index < 50_000 {
                assert_eq!(decision, Decision::Allowed);
            } else {
                assert!(matches!(decision, Decision::Limited { .. }));
            }
        }
        assert_eq!(limiter.tracked_keys(), 50_000);
        // Existing keys keep their counters while new keys are refused.
        assert_eq!(
            limiter.hit("key-1", BUDGET, at(1)).await.unwrap(),
            Decision::Allowed
        );
        // Once their windows end, expired keys are evicted and new keys are served.
        for index in 100_000..200_000 {
            let key = format!("key-{index}");
            let decision = limiter.hit(&key, BUDGET, at(61)).await.unwrap();
            assert_eq!(decision, Decision::Allowed, "{key}");
            if index == 100_000 {
                assert_eq!(limiter.tracked_keys(), 1);
            }
            if limiter.tracked_keys() >= 50_000 {
                break;
            }
        }
        assert!(limiter.tracked_keys() <= 50_000);
    }
}
