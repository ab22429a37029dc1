//! CPU time and CPU affinity of processes, read from `/proc` (Linux), and pinning a child
//! process to one core with util-linux `taskset`.
//!
//! CPU time is `utime + stime` of `/proc/PID/stat` (every thread of the process), in clock
//! ticks of `getconf CLK_TCK` (100 per second on Linux): a 500 ms window is resolved to about
//! 2%.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 if that fails).
pub fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// User plus system CPU time consumed so far by the process whose `stat` file is at `path`
/// (`/proc/self/stat`, `/proc/PID/stat`).
pub fn cpu_time(path: &Path) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5); `rest` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks();
    Some(Duration::from_micros((utime + stime) * 1_000_000 / ticks))
}

/// CPU time of a process and the wall-clock instant it was read at.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    /// When it was read.
    pub at: Instant,
    /// CPU time consumed by then.
    pub cpu: Duration,
}

impl CpuSample {
    /// Reads the process's CPU time now.
    pub fn take(path: &Path) -> Option<CpuSample> {
        Some(CpuSample {
            at: Instant::now(),
            cpu: cpu_time(path)?,
        })
    }

    /// CPU time between `self` and the later sample `end`, and its share of the wall time
    /// (1.0 = one core busy all the time).
    pub fn until(&self, end: &CpuSample) -> (Duration, f64) {
        let cpu = end.cpu.saturating_sub(self.cpu);
        let wall = end.at.duration_since(self.at).as_secs_f64().max(1e-9);
        (cpu, cpu.as_secs_f64() / wall)
    }
}

/// Time a thread has spent on a CPU and waiting on a run queue for one, in nanoseconds
/// (`schedstat` of a task, e.g. `/proc/thread-self/schedstat`).
pub fn sched_times(path: &Path) -> Option<(Duration, Duration)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut f = text.split_whitespace().map(|v| v.parse::<u64>().ok());
    let (run, wait) = (f.next()??, f.next()??);
    Some((Duration::from_nanos(run), Duration::from_nanos(wait)))
}

/// Busy time of one CPU since boot: `user + nice + system + irq + softirq + steal` of its
/// `cpuN` line in `/proc/stat` (idle and iowait left out).
pub fn cpu_busy(cpu: usize) -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7)?;
    Some(Duration::from_micros(busy * 1_000_000 / clock_ticks()))
}

/// The CPUs a process may run on (`Cpus_allowed_list` of `/proc/PID/status`), e.g. `"0"` or
/// `"0-1"`.
pub fn allowed_cpus(status: &Path) -> Option<String> {
    std::fs::read_to_string(status)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}

/// Whether util-linux `taskset` can be run.
pub fn have_taskset() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A command that runs `program` pinned to `cpu` with `taskset -c CPU` when `cpu` is given
/// and `taskset` is there, else `program` as it is.
pub fn pinned_command(program: &Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) if have_taskset() => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(program);
            c
        }
        _ => Command::new(program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_grows_while_spinning() {
        let path = Path::new("/proc/self/stat");
        let before = CpuSample::take(path).expect("readable stat");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut x = 0u64;
        let mut after = before;
        while after.cpu.saturating_sub(before.cpu) < Duration::from_millis(30)
            && Instant::now() < deadline
        {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            after = CpuSample::take(path).expect("readable stat");
        }
        let (cpu, share) = before.until(&after);
        assert!(cpu >= Duration::from_millis(30), "{cpu:?}");
        assert!(share > 0.0 && share < 2.5, "{share}");
    }

    #[test]
    fn busy_time_of_cpu0_is_read() {
        let busy = cpu_busy(0).expect("cpu0 in /proc/stat");
        assert!(busy > Duration::ZERO);
        assert!(cpu_busy(usize::MAX).is_none());
    }

    #[test]
    fn own_sched_times_grow_while_spinning() {
        // The running thread's figures are brought up to date at the next tick or switch.
        let path = Path::new("/proc/thread-self/schedstat");
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut x = 0u64;
        let mut run = Duration::ZERO;
        while run == Duration::ZERO && Instant::now() < deadline {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            run = sched_times(path).expect("schedstat").0;
        }
        assert!(run > Duration::ZERO);
    }

    #[test]
    fn allowed_cpus_of_self() {
        let cpus = allowed_cpus(Path::new("/proc/self/status")).expect("status");
        assert!(
            cpus.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "{cpus}"
        );
    }
}
