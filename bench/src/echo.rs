//! Echo servers under the neutral load: throughput with the server's CPU time per message, the
//! load generator's own CPU share and syscalls per message, heap allocations per message, and
//! the round trip with one message in flight.
//!
//! Every run starts a fresh server process (pinned to its core) and ends it afterwards; the
//! rounds are interleaved (each configuration runs on every server in turn, round after
//! round) and the best round of each server is kept.

use crate::child::ServerProcess;
use crate::loadgen::{self, LoadReport, LoadSpec};
use crate::procstat;
use crate::servers::ServerKind;
use crate::suite::Settings;
use std::time::{Duration, Instant};

/// The load generator's CPU share above which a run is flagged: the figure may be the load
/// generator's limit rather than the server's.
pub const BUSY_LOADGEN: f64 = 0.9;

/// One echo server's figures in one run.
#[derive(Clone, Copy, Debug)]
pub struct EchoCell {
    /// Throughput and the load generator's own figures.
    pub report: LoadReport,
    /// The server process's CPU time over the measured window.
    pub server_cpu: Option<Duration>,
    /// Heap allocations per echoed message in the measured window.
    pub allocs_per_msg: f64,
    /// Bytes allocated per echoed message in the measured window.
    pub bytes_per_msg: f64,
    /// Share of the server's core busy with something else than the server (other processes,
    /// interrupts, hypervisor steal) over the window, when the server is pinned.
    pub other_on_server_core: Option<f64>,
    /// The same for the load generator's core, when it is pinned.
    pub other_on_loadgen_core: Option<f64>,
}

/// Busy time of `core` not spent by the pinned process that used `own` of it, as a share of
/// `wall`: (`busy` at the end − at the start − `own`) / `wall`.
fn others_share(
    (before, after): (Option<Duration>, Option<Duration>),
    own: Duration,
    wall: Duration,
) -> Option<f64> {
    let busy = after?.checked_sub(before?)?;
    Some(busy.saturating_sub(own).as_secs_f64() / wall.as_secs_f64().max(1e-9))
}

impl EchoCell {
    /// Echoed messages per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.report.load.msgs_per_sec()
    }

    /// The server's CPU time per echoed message, microseconds.
    pub fn server_us_per_msg(&self) -> Option<f64> {
        let n = self.report.load.messages.max(1) as f64;
        self.server_cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / n)
    }

    /// Whether the load generator was busy more than [`BUSY_LOADGEN`] of the window: on the
    /// CPU, or running and waiting to run (on a core shared with other work).
    pub fn loadgen_busy(&self) -> bool {
        let r = &self.report;
        [r.cpu_share, r.runnable_share]
            .into_iter()
            .flatten()
            .any(|s| s > BUSY_LOADGEN)
    }
}

/// Echo results for one connection count and payload size.
#[derive(Clone, Debug)]
pub struct EchoRow {
    /// Connections.
    pub connections: usize,
    /// Messages in flight per connection.
    pub in_flight: usize,
    /// Payload size.
    pub size: usize,
    /// Per server; `Err` with the reason when every round failed.
    pub cells: Vec<(ServerKind, Result<EchoCell, String>)>,
}

impl EchoRow {
    /// The cell of `kind`, if it was measured.
    pub fn cell(&self, kind: ServerKind) -> Option<&EchoCell> {
        self.cells
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, c)| c.as_ref().ok())
    }

    /// Messages per second of `kind`.
    pub fn rate(&self, kind: ServerKind) -> Option<f64> {
        self.cell(kind).map(EchoCell::msgs_per_sec)
    }
}

/// Starts a fresh server, runs one load against it, snapshotting its allocation counters and
/// CPU time around the measured window, and ends it.
pub fn measure_echo(
    kind: ServerKind,
    settings: &Settings,
    spec: impl FnOnce(&ServerProcess) -> LoadSpec,
) -> Result<EchoCell, String> {
    let mut server = ServerProcess::spawn(
        kind,
        settings.threads,
        &settings.log_dir,
        settings.server_core,
    )
    .map_err(|e| format!("starting {}: {e}", kind.name()))?;
    let spec = spec(&server);
    let mut snaps = Vec::new();
    let mut snap_err = None;
    let busy = |core: Option<usize>| core.and_then(procstat::cpu_busy);
    let (server_core, loadgen_core) = (settings.server_core, settings.loadgen_core);
    let report = loadgen::run(&spec, || {
        let cpu = server.cpu();
        let cores = (Instant::now(), busy(server_core), busy(loadgen_core));
        match server.stats() {
            Ok(s) => snaps.push((s, cpu, cores)),
            Err(e) => snap_err = Some(e.to_string()),
        }
    })?;
    drop(server);
    if let Some(e) = snap_err {
        return Err(e);
    }
    let [(before, cpu0, (t0, s0, l0)), (after, cpu1, (t1, s1, l1))] = snaps[..] else {
        return Err("missing server snapshots".into());
    };
    let n = report.load.messages.max(1) as f64;
    let server_cpu = cpu0.zip(cpu1).map(|(a, b)| a.until(&b).0);
    let wall = t1.duration_since(t0);
    let loadgen_cpu = report.cpu_share.map(|s| report.load.elapsed.mul_f64(s));
    Ok(EchoCell {
        report,
        server_cpu,
        allocs_per_msg: (after.allocs - before.allocs) as f64 / n,
        bytes_per_msg: (after.bytes - before.bytes) as f64 / n,
        other_on_server_core: server_cpu.and_then(|own| others_share((s0, s1), own, wall)),
        other_on_loadgen_core: loadgen_cpu.and_then(|own| others_share((l0, l1), own, wall)),
    })
}

/// Keeps the better of two rounds by `key` (higher is better).
pub fn better<T>(
    a: Result<T, String>,
    b: Result<T, String>,
    key: impl Fn(&T) -> f64,
) -> Result<T, String> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(if key(&b) > key(&a) { b } else { a }),
        (Ok(a), Err(_)) | (Err(_), Ok(a)) => Ok(a),
        (Err(_), Err(b)) => Err(b),
    }
}

/// One line about one run, for the progress log and `ws-bench echo`.
pub fn progress_line(kind: ServerKind, row: &str, got: &Result<EchoCell, String>) -> String {
    let what = match got {
        Ok(c) => {
            let r = &c.report;
            let rtt = r.rtt.map_or(String::new(), |t| {
                format!(
                    " rtt p50 {:.1} µs p99 {:.1} µs",
                    t.p50.as_secs_f64() * 1e6,
                    t.p99.as_secs_f64() * 1e6
                )
            });
            let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.0}%", v * 100.0));
            format!(
                "{:>9.0} msg/s {:>6.2} µs/msg server, load generator {:>3.0}% CPU ({} runnable) \
                 {:.2} syscalls/msg \
                 {:>5.2} allocs/msg, others on the cores {}/{}{rtt}{}",
                c.msgs_per_sec(),
                c.server_us_per_msg().unwrap_or(f64::NAN),
                r.cpu_share.unwrap_or(f64::NAN) * 100.0,
                pct(r.runnable_share),
                r.syscalls_per_msg(),
                c.allocs_per_msg,
                pct(c.other_on_server_core),
                pct(c.other_on_loadgen_core),
                if c.loadgen_busy() {
                    "  [load generator busy]"
                } else {
                    ""
                }
            )
        }
        Err(e) => format!("error: {e}"),
    };
    format!("echo {:>22} {row}: {what}", kind.label())
}

/// Runs `in_flight` messages of `size` on `connections` against every server of the settings,
/// `settings.rounds` interleaved rounds; keeps each server's best by `key`.
fn run_row(
    settings: &Settings,
    (connections, size, in_flight, latency): (usize, usize, usize, bool),
    key: &dyn Fn(&EchoCell) -> f64,
    progress: &mut dyn FnMut(&str),
) -> EchoRow {
    let mut cells: Vec<Result<EchoCell, String>> =
        vec![Err("not run".into()); settings.servers.len()];
    let row = format!("conns {connections:>3} size {size:>7}");
    for _ in 0..settings.rounds.max(1) {
        for (&kind, cell) in settings.servers.iter().zip(cells.iter_mut()) {
            let got = measure_echo(kind, settings, |server| LoadSpec {
                addr: server.addr(),
                connections,
                in_flight,
                size,
                text: false,
                warmup: settings.warmup,
                duration: settings.duration,
                latency,
            });
            progress(&progress_line(kind, &row, &got));
            let old = std::mem::replace(cell, Err(String::new()));
            *cell = better(old, got, key);
        }
    }
    EchoRow {
        connections,
        in_flight,
        size,
        cells: settings.servers.iter().copied().zip(cells).collect(),
    }
}

/// Throughput rows: every payload size of the settings on every connection count.
pub fn run_echo(settings: &Settings, progress: &mut dyn FnMut(&str)) -> Vec<EchoRow> {
    let mut rows = Vec::new();
    for &size in &settings.sizes {
        for &connections in &settings.connections {
            let shape = (connections, size, loadgen::default_in_flight(size), false);
            rows.push(run_row(settings, shape, &EchoCell::msgs_per_sec, progress));
        }
    }
    rows
}

/// The latency row: 16-byte messages, one connection, one message in flight; the round with
/// the lowest median round trip is kept.
pub fn run_latency(settings: &Settings, progress: &mut dyn FnMut(&str)) -> EchoRow {
    let key = |c: &EchoCell| c.report.rtt.map_or(f64::MIN, |r| -r.p50.as_secs_f64());
    run_row(settings, (1, 16, 1, true), &key, progress)
}
