//! Caps on held QR long-polls: each waiting desktop holds a connection, a task and a
//! watcher, so their number is bounded per QR login and overall. A poll over a cap is
//! answered at once with the current status (the client then simply polls again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts of long-polls being held, per QR login and in total.
#[derive(Debug)]
pub(crate) struct WaiterSlots {
    per_login: usize,
    overall: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_login: HashMap<String, usize>,
}

/// One held long-poll; released on drop.
#[derive(Debug)]
pub(crate) struct WaiterSlot {
    slots: Arc<WaiterSlots>,
    id: String,
}

impl WaiterSlots {
    /// Caps of `per_login` waiters on one QR login and `overall` in all.
    pub(crate) fn new(per_login: usize, overall: usize) -> Self {
        WaiterSlots {
            per_login,
            overall,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// A slot for a long-poll on `id`, or `None` when a cap is reached.
    pub(crate) fn take(self: &Arc<Self>, id: &str) -> Option<WaiterSlot> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.total >= self.overall {
            return None;
        }
        let held = counts.by_login.get(id).copied().unwrap_or(0);
        if held >= self.per_login {
            return None;
        }
        counts.total += 1;
        crate::telemetry::long_polls(1.0);
        counts.by_login.insert(id.to_owned(), held + 1);
        Some(WaiterSlot {
            slots: Arc::clone(self),
            id: id.to_owned(),
        })
    }
}

impl Drop for WaiterSlot {
    fn drop(&mut self) {
        let mut counts = self
            .slots
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.total = counts.total.saturating_sub(1);
        crate::telemetry::long_polls(-1.0);
        if let Some(held) = counts.by_login.get_mut(&self.id) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.by_login.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_per_login_and_overall_and_slots_come_back() {
        let slots = Arc::new(WaiterSlots::new(2, 3));
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert!(slots.take("a").is_none(), "per-login cap");
        let _b1 = slots.take("b").unwrap();
        assert!(slots.take("c").is_none(), "overall cap");
        drop(a1);
        assert!(slots.take("a").is_some());
    }
}
