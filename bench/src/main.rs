//! `ws-bench`: the end-to-end half of the benchmark harness (see `scripts/bench.sh`).
//!
//! ```text
//! ws-bench all [--criterion DIR] [--out FILE] [--command CMD] [--warmup-ms N]
//!              [--duration-ms N] [--rounds N] [--threads N] [--idle N] [--connections 1,100]
//! ws-bench serve SERVER [--threads N]        (a server child process)
//! ws-bench trace SERVER SIZE N               (backtraces of N steady-state allocations)
//! ws-bench echo SERVER SIZE CONNS [MS]       (one echo measurement)
//! ```

use bench::alloc::CountingAlloc;
use bench::child::{self, ServerProcess};
use bench::loadgen::{self, LoadSpec};
use bench::report::{Micro, Report};
use bench::servers::ServerKind;
use bench::suite::{self, Settings};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let kind = server_arg(args.get(1))?;
            let threads = flag(&args, "--threads").map_or(Ok(1), |t| t.parse())?;
            Ok(child::child_main(kind, threads)?)
        }
        Some("trace") => trace(&args),
        Some("echo") => echo(&args),
        Some("all") => all(&args),
        _ => Err("usage: ws-bench all|serve|trace ... (see the crate docs)".into()),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn server_arg(arg: Option<&String>) -> Res<ServerKind> {
    arg.and_then(|a| ServerKind::from_name(a))
        .ok_or_else(|| format!("unknown server {arg:?}").into())
}

fn log_dir() -> PathBuf {
    PathBuf::from("target/ws-bench/logs")
}

/// Runs load against one server and, once warmed up, has it print the backtraces of its next
/// `n` allocations to its log.
fn trace(args: &[String]) -> Res<()> {
    let kind = server_arg(args.get(1))?;
    let size: usize = args.get(2).map_or(Ok(1024), |s| s.parse())?;
    let n: u64 = args.get(3).map_or(Ok(20), |s| s.parse())?;
    let mut server = ServerProcess::spawn(kind, 1, &log_dir())?;
    let spec = LoadSpec {
        addr: server.addr(),
        connections: 1,
        in_flight: loadgen::default_in_flight(size),
        size,
        text: false,
        warmup: Duration::from_millis(500),
        duration: Duration::from_millis(500),
    };
    let mut first = true;
    let result = loadgen::run(&spec, || {
        if std::mem::take(&mut first) {
            let _ = server.trace(n);
        }
    })?;
    println!(
        "{:.0} msg/s; backtraces in {}",
        result.msgs_per_sec(),
        log_dir().join(format!("{}.log", kind.name())).display()
    );
    Ok(())
}

/// One echo measurement, for investigating a single figure.
fn echo(args: &[String]) -> Res<()> {
    let kind = server_arg(args.get(1))?;
    let size: usize = args.get(2).map_or(Ok(1024), |s| s.parse())?;
    let connections: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let ms: u64 = args.get(4).map_or(Ok(1000), |s| s.parse())?;
    child::raise_fd_limit()?;
    let mut server = ServerProcess::spawn(kind, 1, &log_dir())?;
    let spec = LoadSpec {
        addr: server.addr(),
        connections,
        in_flight: loadgen::default_in_flight(size),
        size,
        text: false,
        warmup: Duration::from_millis(ms / 3),
        duration: Duration::from_millis(ms),
    };
    let cell = suite::measure_echo(&mut server, &spec)?;
    println!(
        "{} size {size} conns {connections}: {:.0} msg/s {:.1} MB/s {:.2} allocs/msg {:.0} B/msg",
        kind.name(),
        cell.load.msgs_per_sec(),
        cell.load.mb_per_sec(),
        cell.allocs_per_msg,
        cell.bytes_per_msg
    );
    Ok(())
}

fn machine() -> String {
    let run = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|e| format!("({cmd}: {e})"))
    };
    let lscpu = run("lscpu", &[]);
    let keep = [
        "Architecture",
        "Model name",
        "CPU(s):",
        "Thread(s) per core",
        "Core(s) per socket",
        "CPU max MHz",
        "L1d cache",
        "L2 cache",
        "L3 cache",
        "Hypervisor vendor",
    ];
    let cpu: Vec<&str> = lscpu
        .lines()
        .filter(|l| keep.iter().any(|k| l.starts_with(k)))
        .collect();
    format!(
        "nproc: {}\n{}\nkernel: {}\nrustc: {}",
        run("nproc", &[]),
        cpu.join("\n"),
        run("uname", &["-sr"]),
        run("rustc", &["--version"]),
    )
}

fn all(args: &[String]) -> Res<()> {
    let ms = |name: &str, default: u64| -> Res<Duration> {
        Ok(Duration::from_millis(
            flag(args, name).map_or(Ok(default), |v| v.parse())?,
        ))
    };
    let settings = Settings {
        warmup: ms("--warmup-ms", 200)?,
        duration: ms("--duration-ms", 700)?,
        rounds: flag(args, "--rounds").map_or(Ok(2), |v| v.parse())?,
        threads: flag(args, "--threads").map_or(Ok(1), |v| v.parse())?,
        connections: flag(args, "--connections")
            .unwrap_or("1,100")
            .split(',')
            .map(|c| c.parse())
            .collect::<Result<_, _>>()?,
        idle: flag(args, "--idle").map_or(Ok(10_000), |v| v.parse())?,
        log_dir: log_dir(),
    };
    let limit = child::raise_fd_limit()?;
    if (limit as usize) < settings.idle + 100 {
        eprintln!("warning: open-file limit {limit} is below the idle connection count");
    }
    let criterion = PathBuf::from(flag(args, "--criterion").unwrap_or("target/criterion"));
    let out = PathBuf::from(flag(args, "--out").unwrap_or("BENCHMARKS.md"));
    let command = flag(args, "--command").unwrap_or("scripts/bench.sh");
    let started = std::time::Instant::now();
    let results = suite::run_all(&settings, &mut |line| {
        eprintln!("[{:>5.1}s] {line}", started.elapsed().as_secs_f64())
    });
    let micro = Micro::read(&criterion);
    let settings_line = format!(
        "server worker threads {}, warm-up {} ms, measured {} ms per run, best of {} round(s), \
         {} idle connections",
        settings.threads,
        settings.warmup.as_millis(),
        settings.duration.as_millis(),
        settings.rounds,
        settings.idle
    );
    let machine = machine();
    let report = Report {
        command,
        machine: &machine,
        micro: &micro,
        results: &results,
        settings: &settings_line,
    };
    std::fs::write(&out, report.render())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
