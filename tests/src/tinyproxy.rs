//! A real HTTP proxy for the proxy tests: Debian's `tinyproxy`, started on a free loopback port
//! with a generated configuration and killed when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where Debian installs it (`scripts/deps.sh` installs the package).
pub const TINYPROXY: &str = "/usr/bin/tinyproxy";

/// How the proxy is configured.
#[derive(Clone, Debug, Default)]
pub struct ProxyOptions {
    /// Require `Proxy-Authorization: Basic` with this user and password.
    pub basic_auth: Option<(String, String)>,
    /// Allow `CONNECT` only to these ports (tinyproxy allows every port when none is given).
    pub connect_ports: Vec<u16>,
}

/// A running tinyproxy, killed (and its directory removed) on drop.
pub struct TinyProxy {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl TinyProxy {
    /// Starts tinyproxy on 127.0.0.1 at a free port and waits until it accepts connections.
    /// Panics, naming `scripts/deps.sh`, if tinyproxy is not installed.
    pub fn start(options: &ProxyOptions) -> TinyProxy {
        assert!(
            std::path::Path::new(TINYPROXY).exists(),
            "{TINYPROXY} is missing: run scripts/deps.sh (apt-get install tinyproxy)"
        );
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ws-tinyproxy-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("tinyproxy temp dir");
        // The free port is only known free until it is dropped: another process may take it
        // before tinyproxy binds. tinyproxy then exits, and a new port is tried.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let conf = dir.join("tinyproxy.conf");
            std::fs::write(&conf, config_text(options, port, &dir)).expect("tinyproxy config");
            let child = Command::new(TINYPROXY)
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start tinyproxy");
            let mut proxy = TinyProxy {
                child,
                dir: dir.clone(),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            match proxy.wait_ready() {
                Ok(()) => return proxy,
                Err(e) => last_error = e,
            }
        }
        panic!("tinyproxy did not start: {last_error}");
    }

    /// Polls until tinyproxy accepts a connection, or it exits, or 10 s pass.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}; log: {}", self.log()));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not listening after 10 s; log: {}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy URL, with credentials if given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, password)) => format!("http://{user}:{password}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// tinyproxy's log so far (it logs each request line at `LogLevel Connect`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tinyproxy.log")).unwrap_or_default()
    }

    /// Whether the log shows a `CONNECT` request to `target`. tinyproxy logs the request line
    /// before it answers, so once the client saw the answer the line is there.
    pub fn saw_connect_to(&self, target: SocketAddr) -> bool {
        let request = format!(": CONNECT {target} HTTP/1.1");
        self.log().lines().any(|line| line.contains(&request))
    }
}

impl Drop for TinyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config_text(options: &ProxyOptions, port: u16, dir: &std::path::Path) -> String {
    let mut conf = format!(
        "Listen 127.0.0.1\nPort {port}\nAllow 127.0.0.1\nTimeout 60\nMaxClients 64\n\
         LogFile \"{}\"\nLogLevel Connect\n",
        dir.join("tinyproxy.log").display()
    );
    if let Some((user, password)) = &options.basic_auth {
        conf.push_str(&format!("BasicAuth {user} {password}\n"));
    }
    for port in &options.connect_ports {
        conf.push_str(&format!("ConnectPort {port}\n"));
    }
    conf
}
