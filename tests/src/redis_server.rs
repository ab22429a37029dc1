//! A private `redis-server` on a loopback port, started by a test and killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = "/usr/bin/redis-server";

/// How long Redis may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

fn spawn(port: u16) -> Result<Child, String> {
    let mut child = Command::new(BINARY)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--logfile", "", "--loglevel", "notice"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn {BINARY}: {e}"))?;
    let Some(stdout) = child.stdout.take() else {
        return Err("no stdout".into());
    };
    // Redis says when it listens; a reader thread passes that on so the wait has a deadline.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("Ready to accept connections") {
                let _ = tx.send(());
            }
        }
    });
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(()) => Ok(child),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("redis-server on port {port} did not become ready"))
        }
    }
}

impl RedisServer {
    /// Starts one on a free port.
    ///
    /// # Panics
    /// If `redis-server` is not installed (run `scripts/deps.sh`) or does not start.
    pub fn start() -> RedisServer {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} is missing: run scripts/deps.sh (it installs redis-server)"
        );
        let mut last = String::new();
        for _ in 0..5 {
            let port = crate::ports::daemon_port();
            match spawn(port) {
                Ok(child) => {
                    return RedisServer {
                        child: Some(child),
                        port,
                    }
                }
                Err(e) => last = e,
            }
        }
        panic!("could not start redis-server: {last}");
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (an outage): clients see their connections drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let mut last = String::new();
        for _ in 0..5 {
            match spawn(self.port) {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                Err(e) => last = e,
            }
        }
        panic!("could not restart redis-server: {last}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
