//! A real server program for the tests (tinyproxy, danted, microsocks, stunnel): started on a
//! free loopback port with files in a directory of its own, in a process group of its own, and
//! killed with its whole group (daemons that fork workers leave none behind) when dropped.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running server program, stopped (and its directory removed) on drop.
pub struct Daemon {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Daemon {
    /// Starts `program` listening on 127.0.0.1 at a free port and waits until it accepts
    /// connections. `command` gets the port and the daemon's directory (for its configuration
    /// and log) and returns the command line. Panics, naming `scripts/deps.sh`, if the program
    /// is not installed, and with `log_name`'s contents if it does not start.
    pub fn start(
        name: &'static str,
        program: &str,
        log_name: &str,
        command: impl Fn(u16, &Path) -> Command,
    ) -> Daemon {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: run scripts/deps.sh"
        );
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ws-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("daemon temp dir");
        // The port is free when handed out (below the ephemeral range, see `ports`); should
        // something take it anyway, the daemon exits, and a new port is tried.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = crate::ports::daemon_port();
            let child = command(port, &dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start {program}: {e}"));
            let mut daemon = Daemon {
                child,
                dir: dir.clone(),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            match daemon.wait_ready() {
                Ok(()) => return daemon,
                Err(e) => last_error = format!("{e}; log: {}", daemon.read(log_name)),
            }
        }
        panic!("{name} did not start: {last_error}");
    }

    /// Polls until the daemon accepts a connection, or it exits, or 10 s pass.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("not listening after 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its directory (configuration, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file of its directory, empty if missing.
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // The whole process group: the daemon and any worker it forked.
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        if !killed.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
