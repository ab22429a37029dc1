//! The whole end-to-end suite: echo servers under the neutral load, clients against the raw
//! echo server, allocations per message and idle-connection memory.

use crate::child::ServerProcess;
use crate::clients::{self, ClientKind, ClientSpec};
use crate::loadgen::{self, LoadResult, LoadSpec};
use crate::servers::ServerKind;
use std::path::PathBuf;
use std::time::Duration;

/// Payload sizes of every table.
pub const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1 << 20];

/// Settings of a suite run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Warm-up per measurement.
    pub warmup: Duration,
    /// Measured time per measurement.
    pub duration: Duration,
    /// Each measurement is repeated this many times (servers interleaved); the best is kept.
    pub rounds: usize,
    /// Worker threads of every server.
    pub threads: usize,
    /// Connection counts of the echo tables.
    pub connections: Vec<usize>,
    /// Idle connections opened for the memory figure.
    pub idle: usize,
    /// Where server logs go.
    pub log_dir: PathBuf,
}

/// One echo server's figures in one configuration.
#[derive(Clone, Copy, Debug)]
pub struct EchoCell {
    /// Throughput.
    pub load: LoadResult,
    /// Heap allocations per echoed message in the measured window.
    pub allocs_per_msg: f64,
    /// Bytes allocated per echoed message in the measured window.
    pub bytes_per_msg: f64,
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
    /// Per server; `Err` with the reason when the run failed.
    pub cells: Vec<(ServerKind, Result<EchoCell, String>)>,
}

/// Client results for one payload size.
#[derive(Clone, Debug)]
pub struct ClientRow {
    /// Payload size.
    pub size: usize,
    /// Messages in flight.
    pub in_flight: usize,
    /// Per client.
    pub cells: Vec<(ClientKind, Result<LoadResult, String>)>,
}

/// Memory held for idle connections by one server.
#[derive(Clone, Debug)]
pub struct IdleRow {
    /// The server.
    pub kind: ServerKind,
    /// Connections opened.
    pub connections: usize,
    /// Resident set growth per connection, bytes.
    pub rss_per_conn: f64,
    /// Live heap growth per connection, bytes.
    pub heap_per_conn: f64,
}

/// Everything the end-to-end suite measured.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Echo servers under load.
    pub echo: Vec<EchoRow>,
    /// Clients.
    pub clients: Vec<ClientRow>,
    /// Idle connection memory.
    pub idle: Vec<Result<IdleRow, String>>,
}

/// Runs one load against a server, snapshotting its allocation counters around the window.
pub fn measure_echo(server: &mut ServerProcess, spec: &LoadSpec) -> Result<EchoCell, String> {
    let mut snaps = Vec::new();
    let mut snap_err = None;
    let load = loadgen::run(spec, || match server.stats() {
        Ok(s) => snaps.push(s),
        Err(e) => snap_err = Some(e.to_string()),
    })?;
    if let Some(e) = snap_err {
        return Err(e);
    }
    let [before, after] = snaps[..] else {
        return Err("missing allocation snapshots".into());
    };
    let n = load.messages.max(1) as f64;
    Ok(EchoCell {
        load,
        allocs_per_msg: (after.allocs - before.allocs) as f64 / n,
        bytes_per_msg: (after.bytes - before.bytes) as f64 / n,
    })
}

fn better<T>(
    a: Result<T, String>,
    b: Result<T, String>,
    key: impl Fn(&T) -> f64,
) -> Result<T, String> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(if key(&b) > key(&a) { b } else { a }),
        (Ok(a), Err(_)) | (Err(_), Ok(a)) => Ok(a),
        (Err(a), Err(_)) => Err(a),
    }
}

/// Echo servers: every server child started once, then each configuration run on each server
/// in turn, so the ratios compare runs that are close in time.
pub fn run_echo(
    settings: &Settings,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<EchoRow>, String> {
    let mut servers = ServerKind::ECHO
        .iter()
        .map(|&k| ServerProcess::spawn(k, settings.threads, &settings.log_dir))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("starting servers: {e}"))?;
    let mut rows = Vec::new();
    for &connections in &settings.connections {
        for size in SIZES {
            let in_flight = loadgen::default_in_flight(size);
            let mut cells: Vec<Result<EchoCell, String>> =
                vec![Err("not run".into()); servers.len()];
            for _ in 0..settings.rounds.max(1) {
                for (server, cell) in servers.iter_mut().zip(cells.iter_mut()) {
                    let spec = LoadSpec {
                        addr: server.addr(),
                        connections,
                        in_flight,
                        size,
                        text: false,
                        warmup: settings.warmup,
                        duration: settings.duration,
                    };
                    let got = measure_echo(server, &spec);
                    progress(&format!(
                        "echo {:>18} conns {connections:>3} size {size:>7}: {}",
                        server.kind().name(),
                        match &got {
                            Ok(c) => format!(
                                "{:>9.0} msg/s {:>8.1} MB/s {:>6.2} allocs/msg",
                                c.load.msgs_per_sec(),
                                c.load.mb_per_sec(),
                                c.allocs_per_msg
                            ),
                            Err(e) => format!("error: {e}"),
                        }
                    ));
                    let old = std::mem::replace(cell, Err(String::new()));
                    *cell = better(old, got, |c| c.load.msgs_per_sec());
                }
            }
            rows.push(EchoRow {
                connections,
                in_flight,
                size,
                cells: servers.iter().map(|s| s.kind()).zip(cells).collect(),
            });
        }
    }
    Ok(rows)
}

/// Clients against the raw echo server, each size on each client in turn.
pub fn run_clients(
    settings: &Settings,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ClientRow>, String> {
    let server = ServerProcess::spawn(ServerKind::Raw, settings.threads, &settings.log_dir)
        .map_err(|e| format!("starting the raw echo server: {e}"))?;
    let mut rows = Vec::new();
    for size in SIZES {
        let in_flight = loadgen::default_in_flight(size);
        let mut cells: Vec<Result<LoadResult, String>> =
            vec![Err("not run".into()); ClientKind::ALL.len()];
        for _ in 0..settings.rounds.max(1) {
            for (kind, cell) in ClientKind::ALL.into_iter().zip(cells.iter_mut()) {
                let spec = ClientSpec {
                    addr: server.addr(),
                    size,
                    in_flight,
                    warmup: settings.warmup,
                    duration: settings.duration,
                };
                let got = clients::run(kind, &spec);
                progress(&format!(
                    "client {:>18} size {size:>7}: {}",
                    kind.name(),
                    match &got {
                        Ok(r) => format!(
                            "{:>9.0} msg/s {:>8.1} MB/s",
                            r.msgs_per_sec(),
                            r.mb_per_sec()
                        ),
                        Err(e) => format!("error: {e}"),
                    }
                ));
                let old = std::mem::replace(cell, Err(String::new()));
                *cell = better(old, got, |r| r.msgs_per_sec());
            }
        }
        rows.push(ClientRow {
            size,
            in_flight,
            cells: ClientKind::ALL.into_iter().zip(cells).collect(),
        });
    }
    Ok(rows)
}

/// Opens `settings.idle` connections (handshake done, then silent) to a fresh server and
/// reports how much its resident set and live heap grew per connection.
pub fn run_idle(kind: ServerKind, settings: &Settings) -> Result<IdleRow, String> {
    let mut server = ServerProcess::spawn(kind, settings.threads, &settings.log_dir)
        .map_err(|e| format!("starting {}: {e}", kind.name()))?;
    let addr = server.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let settle = Duration::from_millis(500);
    // One connection first, so one-off set-up (runtime, buffers) is in the baseline.
    rt.block_on(async {
        let warm = loadgen::open(addr).await;
        drop(warm);
        tokio::time::sleep(settle).await;
    });
    let rss0 = server.rss_bytes().map_err(|e| e.to_string())?;
    let heap0 = server.stats().map_err(|e| e.to_string())?.live;
    let streams = rt.block_on(async {
        use futures::StreamExt;
        let opened: Vec<_> = futures::stream::iter(0..settings.idle)
            .map(|_| loadgen::open(addr))
            .buffer_unordered(128)
            .collect()
            .await;
        tokio::time::sleep(settle).await;
        opened
    });
    let ok = streams.iter().filter(|s| s.is_ok()).count();
    let failed = streams
        .iter()
        .find_map(|s| s.as_ref().err().map(|e| e.to_string()));
    let rss1 = server.rss_bytes().map_err(|e| e.to_string())?;
    let heap1 = server.stats().map_err(|e| e.to_string())?.live;
    // The server goes first, so it does not log 10,000 aborted connections.
    drop(server);
    rt.block_on(async move { drop(streams) });
    if ok < settings.idle {
        return Err(format!(
            "only {ok} of {} connections opened: {}",
            settings.idle,
            failed.unwrap_or_default()
        ));
    }
    Ok(IdleRow {
        kind,
        connections: ok,
        rss_per_conn: (rss1 as f64 - rss0 as f64) / ok as f64,
        heap_per_conn: (heap1 - heap0) as f64 / ok as f64,
    })
}

/// Runs everything.
pub fn run_all(settings: &Settings, progress: &mut dyn FnMut(&str)) -> Results {
    let mut results = Results::default();
    match run_echo(settings, progress) {
        Ok(rows) => results.echo = rows,
        Err(e) => progress(&format!("echo suite failed: {e}")),
    }
    match run_clients(settings, progress) {
        Ok(rows) => results.clients = rows,
        Err(e) => progress(&format!("client suite failed: {e}")),
    }
    for kind in ServerKind::ECHO {
        let row = run_idle(kind, settings);
        progress(&match &row {
            Ok(r) => format!(
                "idle {:>18}: {} conns, {:.0} B RSS/conn, {:.0} B heap/conn",
                kind.name(),
                r.connections,
                r.rss_per_conn,
                r.heap_per_conn
            ),
            Err(e) => format!("idle {:>18}: error: {e}", kind.name()),
        });
        results.idle.push(row);
    }
    results
}
