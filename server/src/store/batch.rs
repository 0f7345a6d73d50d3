//! Calls that arrive together go to the database together: one statement (one round
//! trip, one commit) for every call queued while the previous statement ran. Under load
//! a database server spends most of a one-row insert or an indexed lookup on the
//! statement around it (protocol, executor start-up, commit), not on the row.
//!
//! The statement runs in a task of its own, so a request cancelled while waiting (its
//! client went away) never cancels the statement that carries the others' calls.

use super::StoreError;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// Where a call's result goes.
pub(crate) type Reply<R> = oneshot::Sender<Result<R, StoreError>>;

/// A call waiting for its batch, with where its result goes.
pub(crate) type Queued<T, R> = (T, Reply<R>);

/// Queued calls of one kind (`T` in, `R` out), and how many tasks are running them.
pub(crate) struct Batch<T, R = ()> {
    queue: Mutex<Vec<Queued<T, R>>>,
    writers: AtomicUsize,
    max_writers: usize,
    /// Batches handed to tasks so far (read by tests).
    batches: AtomicU64,
}

impl<T, R> Batch<T, R> {
    /// Batches run by up to `max_writers` tasks at once (at least one).
    pub(crate) fn new(max_writers: usize) -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            writers: AtomicUsize::new(0),
            max_writers: max_writers.max(1),
            batches: AtomicU64::new(0),
        }
    }

    /// Queues `item`. Returns where its result will arrive and whether the caller must
    /// start a task to run the batches (fewer than the most are running).
    pub(crate) fn push(&self, item: T) -> (oneshot::Receiver<Result<R, StoreError>>, bool) {
        let (sender, receiver) = oneshot::channel();
        self.lock().push((item, sender));
        (receiver, self.enlist())
    }

    /// Counts one more writer, if fewer than the most are writing.
    fn enlist(&self) -> bool {
        self.writers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |writers| {
                (writers < self.max_writers).then_some(writers + 1)
            })
            .is_ok()
    }

    /// The next batch for a running task, up to `max` calls in arrival order; `None`
    /// when the task is to stop. A task leaves only after finding the queue empty and
    /// counting itself out, then looks once more: a call queued meanwhile is either
    /// in a batch or found the count below the most and started a task of its own.
    pub(crate) fn next(&self, max: usize) -> Option<Vec<Queued<T, R>>> {
        loop {
            {
                let mut queue = self.lock();
                if !queue.is_empty() {
                    let take = queue.len().min(max);
                    self.batches.fetch_add(1, Ordering::Relaxed);
                    return Some(queue.drain(..take).collect());
                }
            }
            self.writers.fetch_sub(1, Ordering::AcqRel);
            if self.lock().is_empty() || !self.enlist() {
                return None;
            }
        }
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

/// Hands every call of a batch the same result (a write's, or a statement's failure).
pub(crate) fn deliver<T, R: Clone>(batch: Vec<Queued<T, R>>, result: &Result<R, StoreError>) {
    for (_, reply) in batch {
        // The caller may have gone away; its write happened all the same.
        let _ = reply.send(result.clone());
    }
}

/// Waits for a call's result; a task that went away (the runtime shutting down) is an
/// unavailable store.
pub(crate) async fn result<R>(
    receiver: oneshot::Receiver<Result<R, StoreError>>,
) -> Result<R, StoreError> {
    receiver
        .await
        .map_err(|_| StoreError::Unavailable("the store's batch task stopped".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_write_starts_the_task_and_the_rest_join_its_batch() {
        let batch = Batch::<_>::new(1);
        let (_first, start) = batch.push(1);
        assert!(start);
        let (_second, start) = batch.push(2);
        assert!(!start, "a task is already writing");
        let taken: Vec<i32> = batch.next(10).unwrap().into_iter().map(|q| q.0).collect();
        assert_eq!(taken, [1, 2]);
        assert!(batch.next(10).is_none(), "empty: the task stops");
        let (_third, start) = batch.push(3);
        assert!(start, "after the task stopped, the next write starts one");
    }

    #[test]
    fn up_to_the_most_writers_start() {
        let batch = Batch::<_>::new(2);
        let starts: Vec<bool> = (0..4).map(|n| batch.push(n).1).collect();
        assert_eq!(starts, [true, true, false, false]);
        assert_eq!(batch.next(3).unwrap().len(), 3);
        assert_eq!(batch.next(3).unwrap().len(), 1);
        assert!(
            batch.next(3).is_none(),
            "one writer stops, one still counts"
        );
        assert!(batch.push(9).1, "room for a second writer again");
        assert!(!batch.push(10).1, "two writing: no third");
        assert_eq!(batch.next(3).unwrap().len(), 2);
        assert!(batch.next(3).is_none());
        assert!(batch.next(3).is_none());
        assert!(batch.push(11).1, "none writing: the next write starts one");
    }

    #[test]
    fn batches_hold_at_most_max_writes_in_order() {
        let batch = Batch::<_>::new(1);
        let receivers: Vec<_> = (0..5).map(|n| batch.push(n).0).collect();
        let sizes: Vec<Vec<i32>> = std::iter::from_fn(|| batch.next(2))
            .map(|b| b.into_iter().map(|q| q.0).collect())
            .collect();
        assert_eq!(sizes, [vec![0, 1], vec![2, 3], vec![4]]);
        drop(receivers);
    }

    #[tokio::test]
    async fn every_write_of_a_batch_gets_its_result() {
        let batch = Batch::<_>::new(1);
        let (first, _) = batch.push("a");
        let (second, _) = batch.push("b");
        let taken = batch.next(10).unwrap();
        let failed = Err(StoreError::Unavailable("down".into()));
        deliver(taken, &failed);
        assert_eq!(first.await.unwrap(), failed);
        assert_eq!(second.await.unwrap(), failed);
    }
}
