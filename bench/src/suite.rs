//! The whole end-to-end suite: echo servers under the neutral load (see [`crate::echo`]),
//! clients against the raw echo server, and idle-connection memory.

use crate::child::ServerProcess;
use crate::clients::{self, ClientKind, ClientSpec};
use crate::echo::{self, better, EchoRow};
use crate::loadgen::{self, LoadResult};
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
    /// The core every server process is pinned to (`taskset -c`), if any.
    pub server_core: Option<usize>,
    /// The core this process (the load generator) is pinned to, if any.
    pub loadgen_core: Option<usize>,
    /// The echo servers measured, in table order.
    pub servers: Vec<ServerKind>,
    /// Payload sizes of the echo tables.
    pub sizes: Vec<usize>,
    /// Connection counts of the echo tables.
    pub connections: Vec<usize>,
    /// Run the client benchmarks.
    pub clients: bool,
    /// Idle connections opened for the memory figure.
    pub idle: usize,
    /// Where server logs go.
    pub log_dir: PathBuf,
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
    /// Round trips with one message in flight.
    pub latency: Option<EchoRow>,
    /// Clients.
    pub clients: Vec<ClientRow>,
    /// Idle connection memory, per server.
    pub idle: Vec<(ServerKind, Result<IdleRow, String>)>,
}

/// Clients against the raw echo server, each size on each client in turn.
pub fn run_clients(
    settings: &Settings,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ClientRow>, String> {
    let server = ServerProcess::spawn(
        ServerKind::Raw,
        settings.threads,
        &settings.log_dir,
        settings.server_core,
    )
    .map_err(|e| format!("starting the raw echo server: {e}"))?;
    let mut rows = Vec::new();
    for &size in &settings.sizes {
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
    let mut server = ServerProcess::spawn(
        kind,
        settings.threads,
        &settings.log_dir,
        settings.server_core,
    )
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
    let mut results = Results {
        echo: echo::run_echo(settings, progress),
        latency: Some(echo::run_latency(settings, progress)),
        ..Results::default()
    };
    if settings.clients {
        match run_clients(settings, progress) {
            Ok(rows) => results.clients = rows,
            Err(e) => progress(&format!("client suite failed: {e}")),
        }
    }
    for &kind in &settings.servers {
        let row = run_idle(kind, settings);
        progress(&match &row {
            Ok(r) => format!(
                "idle {:>22}: {} conns, {:.0} B RSS/conn, {:.0} B heap/conn",
                kind.label(),
                r.connections,
                r.rss_per_conn,
                r.heap_per_conn
            ),
            Err(e) => format!("idle {:>22}: error: {e}", kind.label()),
        });
        results.idle.push((kind, row));
    }
    results
}
