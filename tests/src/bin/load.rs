//! The full load and fault test: 10,000 concurrent connections to one server (per runtime),
//! each sending sequence-numbered messages, plus 10% faulty clients dying mid-handshake or
//! mid-frame; three rounds, to see whether the server's memory grows after a round ends. The
//! server runs in a child process (its memory is what is measured, and each side then needs
//! only one file descriptor per connection).
//! `cargo run --release -p tests --bin load -- [CONNECTIONS] [MESSAGES] [RUNTIME...]`

use futures::channel::mpsc;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use tests::load::{raise_fd_limit, run, serve_counted, LoadReport, LoadSpec, ServerSide};
use tests::runtimes::{AsyncStd, Smol, Tokio};
use tests::Runtime;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print(runtime: &str, round: usize, spec: &LoadSpec, r: &LoadReport) {
    println!(
        "| {runtime} | {round} | {} / {} | {} | {} | {} / {} | {:.0} | {:.1} | {:.1} | {:.1} |",
        r.connected,
        spec.connections,
        r.echoed,
        r.errors.len(),
        r.faults_injected,
        r.handlers_ended,
        r.echoed as f64 / r.elapsed.as_secs_f64(),
        mib(r.rss_before),
        mib(r.rss_during),
        mib(r.rss_after),
    );
    for e in r.errors.iter().take(5) {
        eprintln!("  {runtime}: {e}");
    }
}

/// Child mode: serve, print the address, then one line per ended handler.
fn serve<R: Runtime>() -> ! {
    raise_fd_limit();
    let (tx, mut rx) = mpsc::unbounded();
    let addr = serve_counted::<R>(tx);
    let mut out = std::io::stdout();
    writeln!(out, "{addr}").unwrap();
    out.flush().unwrap();
    futures::executor::block_on(async {
        use futures::StreamExt;
        while rx.next().await.is_some() {
            if writeln!(out, "ended").and_then(|_| out.flush()).is_err() {
                break;
            }
        }
    });
    std::process::exit(0)
}

/// Starts the server child for `runtime` and relays its reports.
fn spawn_server(runtime: &str) -> (std::process::Child, ServerSide) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", runtime])
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .next()
        .unwrap()
        .unwrap()
        .parse()
        .expect("server address");
    let (tx, ended) = mpsc::unbounded();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line == "ended" && tx.unbounded_send(()).is_err() {
                break;
            }
        }
    });
    let side = ServerSide {
        addr,
        pid: Some(child.id()),
        ended,
    };
    (child, side)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        match args.get(1).map(String::as_str) {
            Some("tokio") => serve::<Tokio>(),
            Some("async-std") => serve::<AsyncStd>(),
            Some("smol") => serve::<Smol>(),
            other => panic!("unknown runtime {other:?}"),
        }
    }
    let connections = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let messages = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut runtimes: Vec<String> = args.iter().skip(2).cloned().collect();
    if runtimes.is_empty() {
        runtimes = vec!["tokio".into(), "async-std".into(), "smol".into()];
    }
    let limit = raise_fd_limit();
    let spec = LoadSpec {
        connections,
        messages,
        faulty: connections / 10,
    };
    println!(
        "open-file limit {limit}; {connections} connections x {messages} messages, {} faulty; \
         server memory (RSS) in its own process",
        spec.faulty
    );
    println!("| server runtime | round | connected | echoed | errors | faults / handlers ended | msg/s | RSS before MiB | RSS all open MiB | RSS after MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut failed = false;
    for runtime in &runtimes {
        let (mut child, mut server) = spawn_server(runtime);
        for round in 1..=3 {
            // Clients always run on tokio; the server's runtime is what varies.
            let report = run::<Tokio>(spec, &mut server);
            print(runtime, round, &spec, &report);
            failed |= !report.errors.is_empty()
                || report.connected != spec.connections
                || report.echoed != (connections * messages) as u64
                || report.handlers_ended != spec.connections + report.faults_injected;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    if failed {
        std::process::exit(1);
    }
}
