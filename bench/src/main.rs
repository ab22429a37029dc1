//! `ws-bench`: the end-to-end half of the benchmark harness (see `scripts/bench.sh`).
//!
//! ```text
//! ws-bench all [--criterion DIR] [--out FILE] [--command CMD] [--warmup-ms N]
//!              [--duration-ms N] [--rounds N] [--threads N] [--idle N] [--connections 1,100]
//!              [--sizes 16,1024,65536,1048576] [--servers ws-tokio,fastwebsockets,...]
//!              [--no-clients] [--no-pin] [--quick]
//! ws-bench serve SERVER [--threads N]        (a server child process)
//! ws-bench trace SERVER SIZE N               (backtraces of N steady-state allocations)
//! ws-bench echo SERVER SIZE CONNS [MS]       (one echo measurement)
//! ```
//!
//! A flag given twice counts the last time. `--quick` stands for `--rounds 1 --warmup-ms 100
//! --duration-ms 300 --idle 1000` (flags given as well win). Unless `--no-pin` is given and if
//! util-linux `taskset` is there, `all`, `trace` and `echo` run themselves again under
//! `taskset -c 1` (the load generator's core) and start every server under `taskset -c 0`.

use bench::alloc::CountingAlloc;
use bench::child::{self, ServerProcess};
use bench::echo;
use bench::loadgen::{self, LoadSpec};
use bench::procstat;
use bench::report::{Micro, Report};
use bench::servers::ServerKind;
use bench::suite::{self, Settings, SIZES};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The core of the server processes.
const SERVER_CPU: usize = 0;
/// The core of the load generator (this process, when pinned).
const LOADGEN_CPU: usize = 1;
/// Set in the environment of this program run again under `taskset`.
const PINNED_ENV: &str = "WS_BENCH_PINNED";

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
        Some("trace" | "echo" | "all") if wants_pinning(&args) => run_pinned(&args),
        Some("trace") => trace(&args),
        Some("echo") => echo(&args),
        Some("all") => all(&args),
        _ => Err("usage: ws-bench all|serve|trace|echo ... (see the crate docs)".into()),
    }
}

/// The value after the last `name` in `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .rposition(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn has(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}

/// Whether this run should start over pinned to the load generator's core.
fn wants_pinning(args: &[String]) -> bool {
    !has(args, "--no-pin") && std::env::var_os(PINNED_ENV).is_none() && procstat::have_taskset()
}

/// Runs this program again with the same arguments under `taskset -c 1`, and exits as it does.
fn run_pinned(args: &[String]) -> Res<()> {
    let status = procstat::pinned_command(&std::env::current_exe()?, Some(LOADGEN_CPU))
        .args(args)
        .env(PINNED_ENV, "1")
        .status()?;
    std::process::exit(status.code().unwrap_or(1));
}

/// The core servers are pinned to, unless `--no-pin`.
fn server_cpu(args: &[String]) -> Option<usize> {
    (!has(args, "--no-pin")).then_some(SERVER_CPU)
}

fn list<T: std::str::FromStr>(args: &[String], name: &str, default: &str) -> Res<Vec<T>>
where
    T::Err: std::error::Error + 'static,
{
    Ok(flag(args, name)
        .unwrap_or(default)
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()?)
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
    let mut server = ServerProcess::spawn(kind, 1, &log_dir(), server_cpu(args))?;
    let spec = LoadSpec {
        addr: server.addr(),
        connections: 1,
        in_flight: loadgen::default_in_flight(size),
        size,
        text: false,
        warmup: Duration::from_millis(500),
        duration: Duration::from_millis(500),
        latency: false,
    };
    let mut first = true;
    let result = loadgen::run(&spec, || {
        if std::mem::take(&mut first) {
            let _ = server.trace(n);
        }
    })?;
    println!(
        "{:.0} msg/s; backtraces in {}",
        result.load.msgs_per_sec(),
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
    let settings = settings(args)?;
    let in_flight = loadgen::default_in_flight(size);
    let cell = echo::measure_echo(kind, &settings, |server| LoadSpec {
        addr: server.addr(),
        connections,
        in_flight,
        size,
        text: false,
        warmup: Duration::from_millis(ms / 3),
        duration: Duration::from_millis(ms),
        latency: true,
    });
    // The round trip is timed under the whole window (`in_flight` per connection).
    let row = format!("conns {connections} size {size} in flight {in_flight}");
    println!("{}", echo::progress_line(kind, &row, &cell));
    cell?;
    Ok(())
}

/// The suite's settings from the command line.
fn settings(args: &[String]) -> Res<Settings> {
    let quick = has(args, "--quick");
    let ms = |name: &str, default: u64, quick_default: u64| -> Res<Duration> {
        let default = if quick { quick_default } else { default };
        Ok(Duration::from_millis(
            flag(args, name).map_or(Ok(default), |v| v.parse())?,
        ))
    };
    let all_servers: Vec<&str> = ServerKind::ECHO.iter().map(|k| k.name()).collect();
    let all_sizes: Vec<String> = SIZES.iter().map(usize::to_string).collect();
    Ok(Settings {
        warmup: ms("--warmup-ms", 200, 100)?,
        duration: ms("--duration-ms", 500, 300)?,
        rounds: flag(args, "--rounds").map_or(Ok(if quick { 1 } else { 3 }), |v| v.parse())?,
        threads: flag(args, "--threads").map_or(Ok(1), |v| v.parse())?,
        server_core: server_cpu(args),
        loadgen_core: std::env::var_os(PINNED_ENV).map(|_| LOADGEN_CPU),
        servers: list::<String>(args, "--servers", &all_servers.join(","))?
            .iter()
            .map(|n| ServerKind::from_name(n).ok_or_else(|| format!("unknown server {n:?}")))
            .collect::<Result<_, _>>()?,
        sizes: list(args, "--sizes", &all_sizes.join(","))?,
        connections: list(args, "--connections", "1,100")?,
        clients: !has(args, "--no-clients"),
        idle: flag(args, "--idle").map_or(Ok(if quick { 1000 } else { 10_000 }), |v| v.parse())?,
        log_dir: log_dir(),
    })
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
        "nproc --all: {}\n{}\nkernel: {}\nrustc: {}",
        run("nproc", &["--all"]),
        cpu.join("\n"),
        run("uname", &["-sr"]),
        run("rustc", &["--version"]),
    )
}

/// Where this process and the servers may run, as the kernel reports it.
fn pinning(settings: &Settings) -> String {
    let me = procstat::allowed_cpus(Path::new("/proc/self/status")).unwrap_or("?".into());
    let server = settings
        .servers
        .first()
        .and_then(|&k| {
            child::ServerProcess::spawn(
                k,
                settings.threads,
                &settings.log_dir,
                settings.server_core,
            )
            .ok()
        })
        .and_then(|s| s.allowed_cpus())
        .unwrap_or("?".into());
    format!("servers on CPU {server}, load generator on CPU {me} (Cpus_allowed_list)")
}

fn all(args: &[String]) -> Res<()> {
    let settings = settings(args)?;
    let limit = child::raise_fd_limit()?;
    if (limit as usize) < settings.idle + 100 {
        eprintln!("warning: open-file limit {limit} is below the idle connection count");
    }
    let criterion = PathBuf::from(flag(args, "--criterion").unwrap_or("target/criterion"));
    let out = PathBuf::from(flag(args, "--out").unwrap_or("BENCHMARKS.md"));
    let command = flag(args, "--command").unwrap_or("scripts/bench.sh");
    let pinning = pinning(&settings);
    eprintln!("{pinning}");
    let started = std::time::Instant::now();
    let results = suite::run_all(&settings, &mut |line| {
        eprintln!("[{:>5.1}s] {line}", started.elapsed().as_secs_f64())
    });
    let micro = Micro::read(&criterion);
    let settings_line = format!(
        "server worker threads {}, warm-up {} ms, measured {} ms per run, best of {} \
         interleaved round(s), a fresh server process per run, {} idle connections; {pinning}",
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
        elapsed: started.elapsed(),
    };
    std::fs::write(&out, report.render())?;
    eprintln!(
        "wrote {} ({:.0} s end to end)",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
