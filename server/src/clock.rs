//! Time as a dependency: expiry logic takes `now` from a [`Clock`], so tests can move time
//! instead of sleeping.

use passkey_magic_shared::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_unix_millis(millis)
    }
}

/// A clock that moves only when told to: for tests of expiry.
///
/// ```
/// use passkey_magic_server::clock::{Clock, ManualClock};
/// let clock = ManualClock::at_system_time();
/// let before = clock.now();
/// clock.advance_millis(61_000);
/// assert_eq!(clock.now().as_unix_millis() - before.as_unix_millis(), 61_000);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.as_unix_millis())))
    }

    /// Starts at the current system time.
    pub fn at_system_time() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves time forward.
    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }
}
