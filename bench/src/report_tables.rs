//! The tables of `BENCHMARKS.md` and the method section, each rendered from the results.

use crate::clients::ClientKind;
use crate::echo::{EchoCell, EchoRow, BUSY_LOADGEN};
use crate::loadgen::READ_CHUNK;
use crate::report::{ratio, Micro};
use crate::servers::ServerKind;
use crate::suite::{ClientRow, IdleRow};
use std::fmt::Write as _;

/// `16 B`, `1 KiB`, `1 MiB`.
pub fn size_name(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{r:.2}"))
}

fn human_bytes(b: f64) -> String {
    if b.abs() >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else if b.abs() >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

/// `12345` as `12.3k`, `1234` as `1234`.
fn count(n: f64) -> String {
    if n >= 10_000.0 {
        format!("{:.1}k", n / 1000.0)
    } else {
        format!("{n:.0}")
    }
}

/// The servers that appear in any row, in table order.
fn servers(rows: &[EchoRow]) -> Vec<ServerKind> {
    ServerKind::ECHO
        .into_iter()
        .filter(|k| rows.iter().any(|r| r.cells.iter().any(|(c, _)| c == k)))
        .collect()
}

/// Header of a per-server table whose rows start with payload and connections.
fn header(md: &mut String, servers: &[ServerKind], lead: &[&str]) {
    md.push('|');
    for l in lead {
        let _ = write!(md, " {l} |");
    }
    for k in servers {
        let _ = write!(md, " {} |", k.label());
    }
    md.push_str("\n|");
    md.push_str(&"---|".repeat(lead.len() + servers.len()));
    md.push('\n');
}

/// One line per echo row, one cell per server by `cell`.
fn per_server(md: &mut String, rows: &[EchoRow], cell: impl Fn(&EchoCell) -> String) {
    let servers = servers(rows);
    for row in rows {
        let _ = write!(
            md,
            "| {} | {} | {} |",
            size_name(row.size),
            row.connections,
            row.in_flight
        );
        for k in &servers {
            match row.cells.iter().find(|(c, _)| c == k).map(|(_, c)| c) {
                Some(Ok(c)) => {
                    let _ = write!(md, " {} |", cell(c));
                }
                Some(Err(e)) => {
                    let _ = write!(md, " error: {} |", e.replace('|', "/"));
                }
                None => md.push_str(" – |"),
            }
        }
        md.push('\n');
    }
    md.push('\n');
}

/// How quiet the pinned cores were during the measured echo windows.
pub fn quietness<'a>(md: &mut String, rows: impl Iterator<Item = &'a EchoRow>) {
    let cells: Vec<&EchoCell> = rows
        .flat_map(|r| r.cells.iter().filter_map(|(_, c)| c.as_ref().ok()))
        .collect();
    let summary = |get: fn(&EchoCell) -> Option<f64>| {
        let v: Vec<f64> = cells.iter().filter_map(|c| get(c)).collect();
        if v.is_empty() {
            return "not measured (not pinned)".to_string();
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let max = v.iter().copied().fold(0.0, f64::max);
        format!(
            "{:.0}% on average, {:.0}% at most",
            mean * 100.0,
            max * 100.0
        )
    };
    let _ = writeln!(
        md,
        "Quiet machine? Over the measured echo windows, the time each pinned core was busy with \
         something other than the process pinned to it (other processes, interrupts, \
         hypervisor steal; `/proc/stat` minus the process's own CPU time): the servers' core \
         {}, the load generator's core {}. A few percent is the loopback's interrupt work; \
         much more means other work disturbed the run.\n",
        summary(|c| c.other_on_server_core),
        summary(|c| c.other_on_loadgen_core),
    );
}

/// The micro benchmark table.
pub fn micro(md: &mut String, micro: &Micro) {
    md.push_str(
        "## Micro benchmarks (criterion, GB/s of payload)\n\n\
         `decode`: masked client text frame into a server `ws_proto::Connection` \
         (copy into the read buffer, header, unmask, UTF-8 check, message out). \
         `encode`: binary message from a client `Connection` (header, random key, copy, \
         mask). `apply_mask` vs `memcpy`: the same bytes XORed in place vs copied with \
         `copy_from_slice`.\n\n\
         | payload | decode | encode | apply_mask | memcpy | decode / memcpy | unmask / memcpy |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (size, _) in &micro.rows {
        let g = |col| micro.gbps(*size, col);
        let gb = |col| g(col).map_or("–".into(), |v| format!("{v:.2}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            size_name(*size),
            gb(0),
            gb(1),
            gb(2),
            gb(3),
            fmt_ratio(ratio(g(0), g(3))),
            fmt_ratio(ratio(g(2), g(3))),
        );
    }
    md.push('\n');
}

/// Throughput with the server's CPU time per message.
pub fn echo(md: &mut String, rows: &[EchoRow]) {
    let _ = writeln!(
        md,
        "## Echo servers: msg/s · server CPU µs per message\n\n\
         Echoed messages per second (best round), and the server process's CPU time (user + \
         system, all its threads) over the measured window per echoed message: where the \
         loopback or the load generator limits msg/s, the CPU time still shows which server \
         does less work. ⚠ marks a run in which the load generator was busy (on the CPU, or \
         running and waiting to run) more than {:.0}% of the window: its msg/s may be the load \
         generator's limit, not the server's.\n",
        BUSY_LOADGEN * 100.0
    );
    header(md, &servers(rows), &["payload", "conns", "in flight/conn"]);
    per_server(md, rows, |c| {
        format!(
            "{} · {}{}",
            count(c.msgs_per_sec()),
            c.server_us_per_msg()
                .map_or("–".into(), |us| format!("{us:.2} µs")),
            if c.loadgen_busy() { " ⚠" } else { "" }
        )
    });
}

/// The ratios of the echo rows.
pub fn ratios(md: &mut String, rows: &[EchoRow]) {
    use ServerKind::*;
    let cols: [(&str, ServerKind, ServerKind); 6] = [
        ("ws-tokio / tungstenite", WsTokio, Tungstenite),
        ("ws-tokio / fastwebsockets", WsTokio, FastWebSockets),
        ("feed+flush / tungstenite", WsTokioBatched, Tungstenite),
        (
            "feed+flush / fastwebsockets",
            WsTokioBatched,
            FastWebSockets,
        ),
        ("ws-async-std / ws-tokio", WsAsyncStd, WsTokio),
        ("ws-smol / ws-tokio", WsSmol, WsTokio),
    ];
    md.push_str("## Echo ratios (msg/s over msg/s, same run)\n\n| payload | conns |");
    for (name, ..) in &cols {
        let _ = write!(md, " {name} |");
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(cols.len()));
    md.push('\n');
    for row in rows {
        let _ = write!(md, "| {} | {} |", size_name(row.size), row.connections);
        for (_, num, den) in &cols {
            let _ = write!(
                md,
                " {} |",
                fmt_ratio(ratio(row.rate(*num), row.rate(*den)))
            );
        }
        md.push('\n');
    }
    md.push('\n');
}

/// The load generator's own figures for every run kept.
pub fn loadgen(md: &mut String, rows: &[EchoRow]) {
    md.push_str(
        "## Load generator: its CPU share (runnable share) · its syscalls per message\n\n\
         For the run kept in each cell: the load generator thread's CPU time (user + system) \
         over the measured window's wall time, on its own core; in parentheses the share of \
         the window it was running or waiting on the run queue (`schedstat`), which a core \
         shared with other work cannot hide; and its `read` plus `write` \
         calls per echoed message (every call counts, the ones that find the socket empty or \
         full too). Fewer syscalls per message mean the server's echoes arrive coalesced into \
         fewer TCP segments.\n\n",
    );
    header(md, &servers(rows), &["payload", "conns", "in flight/conn"]);
    per_server(md, rows, |c| {
        let pct = |v: Option<f64>| v.map_or("–".into(), |s| format!("{:.0}%", s * 100.0));
        format!(
            "{} ({}) · {:.2}{}",
            pct(c.report.cpu_share),
            pct(c.report.runnable_share),
            c.report.syscalls_per_msg(),
            if c.loadgen_busy() { " ⚠" } else { "" }
        )
    });
}

/// Renders one figure of a cell.
type CellText<'a> = &'a dyn Fn(&EchoCell) -> String;

/// The round trip row.
pub fn latency(md: &mut String, row: &EchoRow) {
    let servers = servers(std::slice::from_ref(row));
    let _ = writeln!(
        md,
        "## Round trip, one message in flight ({}, {} connection)\n\n\
         The load generator sends the next message when the echo of the previous one has \
         arrived, and times each round trip over the measured window (the round with the \
         lowest median is kept).\n",
        size_name(row.size),
        row.connections
    );
    md.push_str("| |");
    for k in &servers {
        let _ = write!(md, " {} |", k.label());
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(servers.len()));
    md.push('\n');
    let lines: [(&str, CellText); 5] = [
        ("p50 round trip (µs)", &|c| {
            c.report.rtt.map_or("–".into(), |t| {
                format!("{:.1}", t.p50.as_secs_f64() * 1e6)
            })
        }),
        ("p99 round trip (µs)", &|c| {
            c.report.rtt.map_or("–".into(), |t| {
                format!("{:.1}", t.p99.as_secs_f64() * 1e6)
            })
        }),
        ("round trips measured", &|c| {
            c.report.rtt.map_or("–".into(), |t| t.samples.to_string())
        }),
        ("server CPU per message (µs)", &|c| {
            c.server_us_per_msg()
                .map_or("–".into(), |us| format!("{us:.2}"))
        }),
        ("load generator CPU", &|c| {
            c.report
                .cpu_share
                .map_or("–".into(), |s| format!("{:.0}%", s * 100.0))
        }),
    ];
    for (name, f) in lines {
        let _ = write!(md, "| {name} |");
        for k in &servers {
            let _ = write!(md, " {} |", row.cell(*k).map_or("–".into(), f));
        }
        md.push('\n');
    }
    md.push('\n');
}

/// Heap allocations per echoed message.
pub fn allocs(md: &mut String, rows: &[EchoRow]) {
    md.push_str(
        "## Heap allocations per echoed message (server process, measured window)\n\n\
         Allocations (and bytes allocated) per message, counted by the bench binary's \
         global allocator in each server process between the start and the end of the \
         measured window. Peers are listed for context.\n\n",
    );
    header(md, &servers(rows), &["payload", "conns", "in flight/conn"]);
    per_server(md, rows, |c| {
        format!("{:.2} ({})", c.allocs_per_msg, human_bytes(c.bytes_per_msg))
    });
}

/// Client throughput against the raw echo server.
pub fn clients(md: &mut String, rows: &[ClientRow]) {
    if rows.is_empty() {
        return;
    }
    md.push_str(
        "## Clients against the raw echo server, 1 connection (msg/s / MB/s)\n\n| payload | in flight |",
    );
    for k in ClientKind::ALL {
        let _ = write!(md, " {} |", k.name());
    }
    md.push_str(
        " ws-tokio / tungstenite | ws-async-std / ws-tokio | ws-smol / ws-tokio |\n|---|---|",
    );
    md.push_str(&"---|".repeat(ClientKind::ALL.len() + 3));
    md.push('\n');
    for row in rows {
        let rate = |kind: ClientKind| {
            row.cells
                .iter()
                .find(|(k, _)| *k == kind)
                .and_then(|(_, c)| c.as_ref().ok())
                .map(|c| c.msgs_per_sec())
        };
        let _ = write!(md, "| {} | {} |", size_name(row.size), row.in_flight);
        for (_, cell) in &row.cells {
            match cell {
                Ok(c) => {
                    let _ = write!(md, " {:.0} / {:.1} |", c.msgs_per_sec(), c.mb_per_sec());
                }
                Err(e) => {
                    let _ = write!(md, " error: {} |", e.replace('|', "/"));
                }
            }
        }
        let t = rate(ClientKind::WsTokio);
        let _ = writeln!(
            md,
            " {} | {} | {} |",
            fmt_ratio(ratio(t, rate(ClientKind::Tungstenite))),
            fmt_ratio(ratio(rate(ClientKind::WsAsyncStd), t)),
            fmt_ratio(ratio(rate(ClientKind::WsSmol), t)),
        );
    }
    md.push('\n');
}

/// Memory per idle connection.
pub fn idle(md: &mut String, rows: &[(ServerKind, Result<IdleRow, String>)]) {
    md.push_str(
        "## Idle connections (server process)\n\n\
         Growth of the server's resident set (`/proc/PID/statm`) and of its live heap \
         (counting allocator) after opening that many connections, handshake done, no \
         traffic, divided by the count. Kernel socket buffers are not in either figure.\n\n\
         | server | connections | RSS per connection | live heap per connection |\n|---|---|---|---|\n",
    );
    for (kind, row) in rows {
        match row {
            Ok(r) => {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    kind.label(),
                    r.connections,
                    human_bytes(r.rss_per_conn),
                    human_bytes(r.heap_per_conn)
                );
            }
            Err(e) => {
                let _ = writeln!(
                    md,
                    "| {} | – | error: {} | – |",
                    kind.label(),
                    e.replace('|', "/")
                );
            }
        }
    }
    md.push('\n');
}

/// The method section.
pub fn method(md: &mut String) {
    let _ = write!(
        md,
        "## Method\n\n\
- **Pinning**: the server under test and the load generator each have a core of their own. \
  `ws-bench` runs itself again under `taskset -c 1` (the load generator's core) and starts \
  every server process under `taskset -c 0`; the settings line above shows the CPUs the \
  kernel reports for both (`Cpus_allowed_list`). `--no-pin` turns this off.\n\
- **Servers** run as child processes of `ws-bench` (`ws-bench serve KIND`), a fresh process \
  for every run, each with the same number of runtime worker threads (tokio multi-thread \
  runtime; async-std via `ASYNC_STD_THREAD_COUNT`; a `smol::Executor` run on that many \
  threads) and the same counting global allocator. Each echoes the way its README (or the \
  example it points to) shows. Ours use `examples::echo` (the README's `recv`/`send` loop: \
  receive one message, send it) with default settings and set `TCP_NODELAY`; \
  `ws-tokio (feed+flush)` is the same server with the batched loop (`feed` the message, then \
  every message `recv().now_or_never()` already has, then one `flush`). tokio-tungstenite \
  runs its `examples/echo-server.rs`: `accept_async`, `split`, `try_filter` text and binary, \
  `forward` into the sink (which flushes when nothing more is ready); fastwebsockets its \
  README's loop, `read_frame` then `write_frame`, over `WebSocket::after_handshake` (vectored \
  writes, auto close and pong; a hand-written handshake) in a `FragmentCollector`. Both peers \
  leave Nagle's algorithm on, as their examples do.\n\
- **Load generator**: one thread with its own `mio` event loop, raw TCP (`TCP_NODELAY`), \
  hand-written framing that favours no implementation. Each connection keeps K messages in \
  flight (K = 16, or about 256 KiB of payload per connection for large messages): the K \
  masked frames are encoded once before the run, and whenever echoes come back it writes \
  every frame the window allows in one `write` call. It reads at least {} KiB per `read` \
  and stops reading at a short read. It checks every echo (FIN, opcode, unmasked, length, \
  payload bytes). Warm-up, then a measured window; the configurations run on every server \
  in turn, round after round, and each server's best round is kept.\n\
- **Load generator's own cost**: its thread's CPU time (`/proc/thread-self/stat`, user + \
  system) over the measured window's wall time, and its `read` and `write` calls counted one \
  by one (each is one system call); and the share of the window its thread was running or \
  waiting on the run queue (`/proc/thread-self/schedstat`). A run with the load generator \
  above {:.0}% on either is marked \
  ⚠ in the tables and counted in the verdicts it feeds: there the load generator, not the \
  server, may be the limit.\n\
- **Server CPU per message**: `utime + stime` of `/proc/PID/stat` (every thread of the \
  server process) read at the start and the end of the measured window, over the messages \
  echoed in it; clock ticks of `getconf CLK_TCK` (10 ms).\n\
- **Round trip**: 16-byte messages, one connection, one in flight; each round trip timed \
  from the `write` of the frame to the read that completes its echo.\n\
- **Clients**: each client library on a single-threaded runtime keeps K binary messages in \
  flight to one fixed hand-written echo server (a child process) and checks each echo; \
  compression is not offered.\n\
- **Allocations**: the server process's allocation counter is read at the start and end of \
  the measured window of each echo run; the difference over the echoed messages.\n\
- **Idle memory**: a fresh server process, one warm-up connection, then N connections \
  opened with the handshake and left silent for 0.5 s.\n\
- MB/s counts payload bytes (10^6) echoed per second in one direction.\n\
- Profiling: `ws-bench trace SERVER SIZE N` prints the backtraces of N allocations made by the \
  server in steady state to `target/ws-bench/logs/SERVER.log`; `ws-bench echo SERVER SIZE \
  CONNS [MS]` measures one figure.\n",
        READ_CHUNK / 1024,
        BUSY_LOADGEN * 100.0,
    );
}
