//! Calls that arrive together go to the database together: one statement (one round
//! trip, one commit) for every call queued while the previous statement ran. Under load
//! a database server spends most of a one-row insert or an indexed lookup on the
//! statement around it (protocol, executor start-up, commit), not on the row.
//!
//! The statement runs in a task of its own, so a request cancelled while waiting (its
//! client went away) never cancels the statement that carries the others' calls.

use super::StoreError;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Where a call's result goes.
pub(crate) type Reply<R> = oneshot::Sender<Result<R, StoreError>>;

/// A call waiting for its batch, with where its result goes.
pub(crate) type Queued<T, R> = (T, Reply<R>);

/// Where a call's result arrives.
pub(crate) type Pending<R> = oneshot::Receiver<Result<R, StoreError>>;

/// Queued calls of one kind (`T` in, `R` out), and how many tasks are running them.
pub(crate) struct Batch<T, R = ()> {
    queue: Mutex<Vec<Queued<T, R>>>,
    tasks: AtomicUsize,
    max_tasks: usize,
    /// Batches handed to tasks so far (read by tests).
    batches: AtomicU64,
}

impl<T, R> Batch<T, R> {
    /// Batches run by up to `max_tasks` tasks at once (at least one).
    pub(crate) fn new(max_tasks: usize) -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            tasks: AtomicUsize::new(0),
            max_tasks: max_tasks.max(1),
            batches: AtomicU64::new(0),
        }
    }

    /// Queues `item`. Returns where its result will arrive and, if fewer than the most
    /// tasks are running, the shift of a new one, which the caller must run in a task
    /// of its own (`while let Some(batch) = shift.next(max)`).
    pub(crate) fn push(self: &Arc<Self>, item: T) -> (Pending<R>, Option<Shift<T, R>>) {
        let (sender, receiver) = oneshot::channel();
        self.lock().push((item, sender));
        let shift = self.enlist().then(|| Shift {
            batch: Arc::clone(self),
            counted: true,
        });
        (receiver, shift)
    }

    /// Counts one more task, if fewer than the most are running.
    fn enlist(&self) -> bool {
        self.tasks
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tasks| {
                (tasks < self.max_tasks).then_some(tasks + 1)
            })
            .is_ok()
    }

    /// Batches handed to tasks so far.
    #[cfg(test)]
    pub(crate) fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// The queue; a poisoned lock only means a caller panicked between two pushes.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Queued<T, R>>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One running task's claim on a [`Batch`]: counted among its tasks until it finds the
/// queue empty, or until dropped (a task that panicked or was cancelled), so the next
/// call starts a new task instead of waiting for a gone one.
pub(crate) struct Shift<T, R> {
    batch: Arc<Batch<T, R>>,
    counted: bool,
}

impl<T, R> Shift<T, R> {
    /// The next batch, up to `max` calls in arrival order; `None` when the task is to
    /// stop. It stops only after finding the queue empty and counting itself out, then
    /// looks once more: a call queued meanwhile is either in a batch or found the count
    /// below the most and started a task of its own.
    pub(crate) fn next(&mut self, max: usize) -> Option<Vec<Queued<T, R>>> {
        let batch = Arc::clone(&self.batch);
        loop {
            {
                let mut queue = batch.lock();
                if !queue.is_empty() {
                    let take = queue.len().min(max);
                    batch.batches.fetch_add(1, Ordering::Relaxed);
                    return Some(queue.drain(..take).collect());
                }
            }
            batch.tasks.fetch_sub(1, Ordering::AcqRel);
            self.counted = false;
            if batch.lock().is_empty() || !batch.enlist() {
                return None;
            }
            self.counted = true;
        }
    }
}

impl<T, R> Drop for Shift<T, R> {
    fn drop(&mut self) {
        if self.counted {
            self.batch.tasks.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Hands every call of a batch the same result (a write's, or a statement's failure).
pub(crate) fn deliver<T, R: Clone>(batch: Vec<Queued<T, R>>, result: &Result<R, StoreError>) {
    for (_, reply) in batch {
        // The caller may have gone away; its write happened all the same.
        let _ = reply.send(result.clone());
    }
}

/// Waits for a call's result; a task that went away (the runtime shutting down) is an
/// unavailable store.
pub(crate) async fn result<R>(receiver: Pending<R>) -> Result<R, StoreError> {
    receiver
        .await
        .map_err(|_| StoreError::Unavailable("the store's batch task stopped".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_call_starts_a_task_and_the_rest_join_its_batch() {
        let batch = Arc::new(Batch::<_>::new(1));
        let (_first, shift) = batch.push(1);
        let mut shift = shift.expect("no task running: start one");
        let (_second, other) = batch.push(2);
        assert!(other.is_none(), "a task is already running");
        let taken: Vec<i32> = shift.next(10).unwrap().into_iter().map(|q| q.0).collect();
        assert_eq!(taken, [1, 2]);
        assert!(shift.next(10).is_none(), "empty: the task stops");
        drop(shift);
        let (_third, shift) = batch.push(3);
        assert!(
            shift.is_some(),
            "after the task stopped, the next call starts one"
        );
    }

    #[test]
    fn batches_hold_at_most_max_calls_in_order() {
        let batch = Arc::new(Batch::<_>::new(1));
        let (first, shift) = batch.push(0);
        let mut shift = shift.unwrap();
        let receivers: Vec<_> = (1..5).map(|n| batch.push(n).0).collect();
        let sizes: Vec<Vec<i32>> = std::iter::from_fn(|| shift.next(2))
            .map(|b| b.into_iter().map(|q| q.0).collect())
            .collect();
        assert_eq!(sizes, [vec![0, 1], vec![2, 3], vec![4]]);
        drop((first, receivers));
    }

    #[test]
    fn up_to_the_most_tasks_start() {
        let batch = Arc::new(Batch::<_>::new(2));
        let mut shifts: Vec<_> = (0..4).filter_map(|n| batch.push(n).1).collect();
        assert_eq!(shifts.len(), 2);
        assert_eq!(shifts[0].next(3).unwrap().len(), 3);
        assert_eq!(shifts[0].next(3).unwrap().len(), 1);
        assert!(
            shifts[0].next(3).is_none(),
            "one task stops, one still counts"
        );
        assert!(batch.push(9).1.is_some(), "room for a second task again");
    }

    #[test]
    fn a_task_that_goes_away_leaves_room_for_the_next() {
        let batch = Arc::new(Batch::<_>::new(1));
        let (_first, shift) = batch.push(1);
        // The task panicked or was cancelled before finishing its shift.
        drop(shift);
        let (_second, shift) = batch.push(2);
        let mut shift = shift.expect("the gone task no longer counts");
        assert_eq!(shift.next(10).unwrap().len(), 2, "it finds both calls");
    }

    #[tokio::test]
    async fn every_call_of_a_batch_gets_its_result() {
        let batch = Arc::new(Batch::<_>::new(1));
        let (first, shift) = batch.push("a");
        let (second, _) = batch.push("b");
        let taken = shift.unwrap().next(10).unwrap();
        let failed = Err(StoreError::Unavailable("down".into()));
        deliver(taken, &failed);
        assert_eq!(first.await.unwrap(), failed);
        assert_eq!(second.await.unwrap(), failed);
    }
}
