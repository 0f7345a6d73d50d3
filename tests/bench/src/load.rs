//! Closed-loop load: N workers, each on its own keep-alive connection, repeat one
//! operation as fast as the server answers; latencies go into an HDR histogram.

use hdrhistogram::Histogram;
use std::future::Future;
use std::time::{Duration, Instant};

/// One worker's repeated operation (a request, or a whole sign-in of several).
pub(crate) trait Worker: Send + 'static {
    /// Runs the operation once.
    fn step(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// What a run measured.
pub(crate) struct Measured {
    /// Operations completed without error in the measured window.
    pub(crate) operations: u64,
    /// Operations that failed (any non-200 or transport error).
    pub(crate) errors: u64,
    /// The first error seen, to say why.
    pub(crate) first_error: Option<String>,
    /// The measured window.
    pub(crate) elapsed: Duration,
    /// Latency of successful operations, in microseconds.
    pub(crate) latency: Histogram<u64>,
}

impl Measured {
    /// Operations per second.
    pub(crate) fn rate(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64()
    }
}

/// An empty histogram of 1 µs … 60 s, 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    // The bounds are constants that `new_with_bounds` accepts.
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!())
}

/// Runs every worker for `duration`; hands the workers back for another run.
pub(crate) async fn run<W: Worker>(workers: Vec<W>, duration: Duration) -> (Measured, Vec<W>) {
    let stop_at = Instant::now() + duration;
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut worker| {
            tokio::spawn(async move {
                let mut latency = histogram();
                let (mut operations, mut errors, mut first_error) = (0u64, 0u64, None);
                loop {
                    let began = Instant::now();
                    if began >= stop_at {
                        break;
                    }
                    let result = worker.step().await;
                    let ended = Instant::now();
                    if ended > stop_at {
                        // Straddles the end of the window: not counted.
                        break;
                    }
                    match result {
                        Ok(()) => {
                            operations += 1;
                            let micros = (ended - began).as_micros().max(1) as u64;
                            latency.saturating_record(micros);
                        }
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                }
                (operations, errors, first_error, latency, worker)
            })
        })
        .collect();
    let mut measured = Measured {
        operations: 0,
        errors: 0,
        first_error: None,
        elapsed: duration,
        latency: histogram(),
    };
    let mut workers = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok((operations, errors, first_error, latency, worker)) => {
                workers.push(worker);
                measured.operations += operations;
                measured.errors += errors;
                if measured.first_error.is_none() {
                    measured.first_error = first_error;
                }
                let _ = measured.latency.add(&latency);
            }
            Err(error) => {
                measured.errors += 1;
                measured
                    .first_error
                    .get_or_insert_with(|| error.to_string());
            }
        }
    }
    (measured, workers)
}
