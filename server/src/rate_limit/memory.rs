//! The in-process limiter: fixed windows in a map whose size stays bounded, evicting the
//! oldest windows when it is full so that new clients are always served.

use super::{Budget, Decision, LimiterError, LimiterKey, RateLimiter};
use async_trait::async_trait;
use passkey_magic_shared::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Default bound on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    ends_at: Timestamp,
    count: u32,
    /// Which entry of [`State::order`] belongs to this window.
    generation: u64,
}

/// Counts requests in process memory, at most `max_keys` windows at a time.
///
/// When the map is full, a request from a new key evicts the **oldest** window (the one
/// that started first) instead of being refused: a flood of addresses can never lock new
/// clients out. The price is that such a flood resets the oldest counters first, so it
/// must cycle through the whole table (100 000 windows by default) before it touches a
/// recent one — and IPv6 floods from one network are one key (`/64` grouping).
///
/// Keys are fixed-size hashes ([`LimiterKey`]) and counting is synchronous
/// ([`RateLimiter::hit_now`]): a hit allocates nothing once the map and the queue have
/// grown to their bound.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    // std Mutex: tiny critical sections, never held across an await.
    state: Mutex<State>,
    max_keys: usize,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<LimiterKey, Window>,
    /// Windows in the order they started. An entry whose generation no longer matches its
    /// window's is stale (the window was restarted later) and is skipped.
    order: VecDeque<(LimiterKey, u64)>,
    next_generation: u64,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }
}

impl MemoryRateLimiter {
    /// A limiter tracking at most `max_keys` windows (at least 1).
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

impl State {
    fn hit(
        &mut self,
        key: LimiterKey,
        budget: Budget,
        now: Timestamp,
        max_keys: usize,
    ) -> Decision {
        let restart = match self.windows.get(&key) {
            Some(window) => window.ends_at <= now,
            None => {
                self.make_room(max_keys);
                true
            }
        };
        if restart {
            let generation = self.next_generation;
            self.next_generation = self.next_generation.wrapping_add(1);
            let window = Window {
                ends_at: now.saturating_add(budget.window),
                count: 0,
                generation,
            };
            self.windows.insert(key, window);
            self.order.push_back((key, generation));
            self.compact(max_keys);
        }
        let Some(window) = self.windows.get_mut(&key) else {
            // Inserted just above if it was missing.
            return Decision::Allowed;
        };
        window.count = window.count.saturating_add(1);
        if window.count <= budget.limit {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after: window.ends_at.saturating_duration_since(now),
            }
        }
    }

    /// Evicts the oldest windows until there is room for one more.
    fn make_room(&mut self, max_keys: usize) {
        while self.windows.len() >= max_keys {
            let Some((key, generation)) = self.order.pop_front() else {
                // Every window has an entry in `order`; not reached.
                return;
            };
            if self
                .windows
                .get(&key)
                .is_some_and(|window| window.generation == generation)
            {
                self.windows.remove(&key);
            }
        }
    }

    /// Drops stale queue entries once they outnumber the windows, in place: the queue
    /// stays within twice the bound.
    fn compact(&mut self, max_keys: usize) {
        if self.order.len() > max_keys.saturating_mul(2) {
            let windows = &self.windows;
            self.order.retain(|(key, generation)| {
                windows
                    .get(key)
                    .is_some_and(|window| window.generation == *generation)
            });
        }
    }
}

impl MemoryRateLimiter {
    fn count(
        &self,
        key: &LimiterKey,
        budget: Budget,
        now: Timestamp,
    ) -> Result<Decision, LimiterError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| LimiterError("memory limiter lock poisoned".into()))?;
        Ok(state.hit(*key, budget, now, self.max_keys))
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &LimiterKey,
        budget: Budget,
        now: Timestamp,
    ) -> Result<Decision, LimiterError> {
        self.count(key, budget, now)
    }

    /// Counting needs no I/O: [`RateLimits::check`](super::RateLimits::check) takes this
    /// path, so a request allocates neither a key nor a future.
    fn hit_now(
        &self,
        key: &LimiterKey,
        budget: Budget,
        now: Timestamp,
    ) -> Option<Result<Decision, LimiterError>> {
        Some(self.count(key, budget, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passkey_magic_shared::RateLimitRule;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    const BUDGET: Budget = Budget::new(3, Duration::from_secs(60));

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + seconds * 1000)
    }

    fn key(name: &str) -> LimiterKey {
        LimiterKey::new(RateLimitRule::QrCreate, None, Some(name), 64)
    }

    fn client(index: u32) -> LimiterKey {
        let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + index));
        LimiterKey::new(RateLimitRule::QrCreate, Some(address), None, 64)
    }

    #[tokio::test]
    async fn the_request_after_the_budget_is_limited_until_the_window_ends() {
        let limiter = MemoryRateLimiter::default();
        for _ in 0..3 {
            assert_eq!(
                limiter.hit(&key("k"), BUDGET, at(0)).await.unwrap(),
                Decision::Allowed
            );
        }
        assert_eq!(
            limiter.hit(&key("k"), BUDGET, at(20)).await.unwrap(),
            Decision::Limited {
                retry_after: Duration::from_secs(40)
            }
        );
        // Other keys have their own budget.
        assert_eq!(
            limiter.hit(&key("other"), BUDGET, at(20)).await.unwrap(),
            Decision::Allowed
        );
        // A new window starts after the old one ends.
        assert_eq!(
            limiter.hit(&key("k"), BUDGET, at(60)).await.unwrap(),
            Decision::Allowed
        );
    }

    /// A flood of distinct clients fills the table; new clients are still admitted (the
    /// oldest windows make room), the table stays bounded, and recent clients keep
    /// their counters.
    #[tokio::test]
    async fn a_full_limiter_still_admits_new_clients() {
        let limiter = MemoryRateLimiter::with_max_keys(1_000);
        // A client that used up its budget just before the flood.
        let victim = client(999_999);
        for _ in 0..3 {
            limiter.hit(&victim, BUDGET, at(0)).await.unwrap();
        }
        for index in 0..5_000 {
            let decision = limiter.hit(&client(index), BUDGET, at(1)).await.unwrap();
            assert_eq!(decision, Decision::Allowed, "flooding client {index}");
            assert!(limiter.tracked_keys() <= 1_000);
        }
        assert_eq!(limiter.tracked_keys(), 1_000);
        // Brand-new clients are served while the table is full and no window expired.
        for index in 10_000..10_010 {
            assert_eq!(
                limiter.hit(&client(index), BUDGET, at(2)).await.unwrap(),
                Decision::Allowed
            );
        }
        // Recent clients keep their counters: the last of the flood used 1 of 3, so two
        // more pass and the next is limited.
        let recent = client(4_999);
        limiter.hit(&recent, BUDGET, at(3)).await.unwrap();
        limiter.hit(&recent, BUDGET, at(3)).await.unwrap();
        assert!(matches!(
            limiter.hit(&recent, BUDGET, at(3)).await.unwrap(),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn counting_needs_no_await_and_shares_the_windows_of_hit() {
        let limiter = MemoryRateLimiter::default();
        for _ in 0..3 {
            assert_eq!(
                limiter.hit_now(&key("k"), BUDGET, at(0)).unwrap().unwrap(),
                Decision::Allowed
            );
        }
        assert!(matches!(
            limiter.hit_now(&key("k"), BUDGET, at(1)),
            Some(Ok(Decision::Limited { .. }))
        ));
    }

    #[tokio::test]
    async fn the_eviction_queue_stays_bounded_when_windows_restart() {
        let limiter = MemoryRateLimiter::with_max_keys(10);
        for round in 0..1_000 {
            limiter
                .hit(&key("busy"), BUDGET, at(round * 61))
                .await
                .unwrap();
        }
        let state = limiter.state.lock().unwrap();
        assert_eq!(state.windows.len(), 1);
        assert!(
            state.order.len() <= 21,
            "{} queue entries",
            state.order.len()
        );
    }
}
