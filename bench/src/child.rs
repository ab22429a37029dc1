//! Servers run as child processes of the bench binary (`ws-bench serve KIND`), all under the
//! same conditions: same worker thread count, same counting allocator, their own address
//! space, so their resident memory and allocations can be read without the load generator's.
//!
//! The parent talks to a child over its standard input and output: the child prints
//! `listening ADDR` once, then answers `stats` with `stats ALLOCS BYTES LIVE` and arms
//! allocation backtraces with `trace N`. It exits when its standard input closes.

use crate::alloc;
use crate::procstat::{self, CpuSample};
use crate::servers::{self, ServerKind};
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

/// Allocation counters of a server process.
pub type ServerStats = alloc::AllocStats;

/// A running server child process, killed on drop.
pub struct ServerProcess {
    kind: ServerKind,
    child: Child,
    addr: SocketAddr,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl ServerProcess {
    /// Starts `ws-bench serve KIND --threads N`, pinned to core `cpu` with `taskset` when
    /// that is given; its standard error goes to `log_dir/KIND.log`.
    pub fn spawn(
        kind: ServerKind,
        threads: usize,
        log_dir: &Path,
        cpu: Option<usize>,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log = std::fs::File::create(log_dir.join(format!("{}.log", kind.name())))?;
        let mut child = procstat::pinned_command(&std::env::current_exe()?, cpu)
            .args(["serve", kind.name(), "--threads", &threads.to_string()])
            .env("ASYNC_STD_THREAD_COUNT", threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| bad("no stdin".into()))?;
        let mut stdout =
            BufReader::new(child.stdout.take().ok_or_else(|| bad("no stdout".into()))?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addr = line
            .strip_prefix("listening ")
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| bad(format!("{} did not start: {line:?}", kind.name())))?;
        Ok(ServerProcess {
            kind,
            child,
            addr,
            stdin,
            stdout,
        })
    }

    /// Which server this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its allocation counters now.
    pub fn stats(&mut self) -> io::Result<ServerStats> {
        self.stdin.write_all(b"stats\n")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let nums: Vec<i64> = line
            .strip_prefix("stats ")
            .ok_or_else(|| bad(format!("bad stats line {line:?}")))?
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        match nums[..] {
            [allocs, bytes, live] => Ok(ServerStats {
                allocs: allocs as u64,
                bytes: bytes as u64,
                live,
            }),
            _ => Err(bad(format!("bad stats line {line:?}"))),
        }
    }

    /// Makes it print the backtraces of its next `n` allocations to its log.
    pub fn trace(&mut self, n: u64) -> io::Result<()> {
        writeln!(self.stdin, "trace {n}")?;
        self.stdin.flush()
    }

    /// Its CPU time (every thread) now.
    pub fn cpu(&self) -> Option<CpuSample> {
        CpuSample::take(Path::new(&format!("/proc/{}/stat", self.child.id())))
    }

    /// The CPUs it may run on, as the kernel has it (`Cpus_allowed_list`).
    pub fn allowed_cpus(&self) -> Option<String> {
        procstat::allowed_cpus(Path::new(&format!("/proc/{}/status", self.child.id())))
    }

    /// Its resident set size in bytes, from `/proc/PID/statm` (4 KiB pages).
    pub fn rss_bytes(&self) -> io::Result<u64> {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.child.id()))?;
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| bad(format!("bad statm {statm:?}")))?;
        Ok(pages * 4096)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Raises the open-file limit to its hard maximum (10,000 idle connections need as many
/// descriptors in the server process and in the load generator).
pub fn raise_fd_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The child's side: binds an ephemeral loopback port, announces it, answers the parent's
/// commands on a thread of its own and serves echo on the others.
pub fn child_main(kind: ServerKind, threads: usize) -> io::Result<()> {
    raise_fd_limit()?;
    // For profiling set-up paths: trace from the start.
    if let Some(n) = std::env::var("WS_BENCH_TRACE_FROM_START")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        alloc::trace_next(n);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("listening {}", listener.local_addr()?);
    io::stdout().flush()?;
    std::thread::Builder::new()
        .name("control".into())
        .spawn(control)?;
    servers::serve(kind, listener, threads)
}

fn control() {
    let stdin = io::stdin();
    let mut line = String::with_capacity(64);
    loop {
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => std::process::exit(0),
            Ok(_) => {}
        }
        let mut words = line.split_whitespace();
        match words.next() {
            Some("stats") => {
                let s = alloc::stats();
                let mut out = io::stdout().lock();
                let _ = writeln!(out, "stats {} {} {}", s.allocs, s.bytes, s.live);
                let _ = out.flush();
            }
            Some("trace") => {
                alloc::trace_next(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
            }
            _ => {}
        }
    }
}
