//! A real HTTP proxy for the proxy tests: Debian's `tinyproxy`, started on a free loopback port
//! with a generated configuration and killed when dropped.

use crate::daemon::Daemon;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

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
    daemon: Daemon,
}

impl TinyProxy {
    /// Starts tinyproxy on 127.0.0.1 at a free port and waits until it accepts connections.
    /// Panics, naming `scripts/deps.sh`, if tinyproxy is not installed.
    pub fn start(options: &ProxyOptions) -> TinyProxy {
        let daemon = Daemon::start("tinyproxy", TINYPROXY, "tinyproxy.log", |port, dir| {
            let conf = dir.join("tinyproxy.conf");
            std::fs::write(&conf, config_text(options, port, dir)).expect("tinyproxy config");
            let mut command = Command::new(TINYPROXY);
            command.arg("-d").arg("-c").arg(&conf);
            command
        });
        TinyProxy { daemon }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr()
    }

    /// The proxy URL, with credentials if given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, password)) => format!("http://{user}:{password}@{}", self.addr()),
            None => format!("http://{}", self.addr()),
        }
    }

    /// tinyproxy's log so far (it logs each request line at `LogLevel Connect`).
    pub fn log(&self) -> String {
        self.daemon.read("tinyproxy.log")
    }

    /// Whether the log shows a `CONNECT` request to `target`. tinyproxy logs the request line
    /// before it answers, so once the client saw the answer the line is there.
    pub fn saw_connect_to(&self, target: SocketAddr) -> bool {
        let request = format!(": CONNECT {target} HTTP/1.1");
        self.log().lines().any(|line| line.contains(&request))
    }
}

fn config_text(options: &ProxyOptions, port: u16, dir: &Path) -> String {
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
