//! Where the machine's CPU goes during a measured window: the server, this load
//! generator, the database server's processes (PostgreSQL's backends, `redis-server`) and
//! whatever is left idle. The generator and the database share the cores with the server,
//! so a store's throughput is bound by all three, not by the server's cost alone.

use crate::server::{ServerProcess, clock_ticks_per_second, cpu_seconds};

/// Process names counted as the database server.
const DATABASE_PROCESSES: [&str; 2] = ["postgres", "redis-server"];

/// Cumulative CPU seconds at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSample {
    server: f64,
    generator: f64,
    database: f64,
    machine_busy: f64,
    machine_total: f64,
}

/// CPU seconds spent between two samples.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuUse {
    /// The server process (user + system).
    pub(crate) server: f64,
    /// This load generator.
    pub(crate) generator: f64,
    /// The database server's processes (0 for in-process stores).
    pub(crate) database: f64,
    /// Share of the machine's CPU time left idle, 0–1.
    pub(crate) idle: f64,
}

impl CpuSample {
    /// Reads every counter now.
    pub(crate) fn take(server: &ServerProcess) -> anyhow::Result<Self> {
        let ticks = clock_ticks_per_second();
        let (machine_busy, machine_total) = machine_seconds(ticks)?;
        Ok(Self {
            server: server.cpu_seconds()?,
            generator: cpu_seconds("/proc/self/stat", ticks)?,
            database: database_seconds(ticks),
            machine_busy,
            machine_total,
        })
    }

    /// What was spent since `earlier`.
    pub(crate) fn since(&self, earlier: &Self) -> CpuUse {
        let total = self.machine_total - earlier.machine_total;
        let busy = self.machine_busy - earlier.machine_busy;
        CpuUse {
            server: self.server - earlier.server,
            generator: self.generator - earlier.generator,
            // A backend that exited in between takes its seconds with it: never negative.
            database: (self.database - earlier.database).max(0.0),
            idle: if total > 0.0 {
                (1.0 - busy / total).clamp(0.0, 1.0)
            } else {
                0.0
            },
        }
    }
}

/// Sum of the CPU seconds of every running database server process.
fn database_seconds(ticks: f64) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| {
            let path = entry.path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            if !DATABASE_PROCESSES.contains(&name.trim()) {
                return None;
            }
            // A process that exits between the two reads is skipped.
            cpu_seconds(&path.join("stat").to_string_lossy(), ticks).ok()
        })
        .sum()
}

/// Busy and total CPU seconds of all cores, from the first line of `/proc/stat`.
fn machine_seconds(ticks: f64) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().unwrap_or_default();
    // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    // already counted in user.
    let fields: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(fields.len() == 8, "odd /proc/stat: {line}");
    let total: f64 = fields.iter().sum();
    let idle = fields[3] + fields[4];
    Ok(((total - idle) / ticks, total / ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_counts_at_least_the_cpu_this_process_spends() {
        let ticks = clock_ticks_per_second();
        let (busy_before, total_before) = machine_seconds(ticks).unwrap();
        let own = || cpu_seconds("/proc/self/stat", ticks).unwrap();
        let own_before = own();
        // Spin until this process has used 0.2 s of CPU, however long that takes.
        let mut spin = 0u64;
        while own() - own_before < 0.2 {
            for _ in 0..100_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
        }
        let spent = own() - own_before;
        let (busy_after, total_after) = machine_seconds(ticks).unwrap();
        // The machine's busy time includes ours (less a tick of rounding per core).
        assert!(
            busy_after - busy_before >= spent - 0.05,
            "machine busy {} < own {spent}",
            busy_after - busy_before
        );
        assert!(total_after - total_before >= busy_after - busy_before);
    }
}
