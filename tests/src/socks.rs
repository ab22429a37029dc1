//! Real SOCKS5 servers for the SOCKS tests, from Debian's packages, each started on a free
//! loopback port and killed when dropped:
//!
//! * Dante's `danted` (package `dante-server`) without authentication, with a rule refusing
//!   one port, and logging each connection;
//! * `microsocks` with user name/password authentication (RFC 1929). Dante checks passwords
//!   against the system's accounts only, which a test must not create.

use crate::daemon::Daemon;
use std::net::SocketAddr;
use std::process::Command;

/// Where Debian installs Dante's server (`scripts/deps.sh` installs `dante-server`).
pub const DANTED: &str = "/usr/sbin/danted";
/// Where Debian installs microsocks (`scripts/deps.sh` installs `microsocks`).
pub const MICROSOCKS: &str = "/usr/bin/microsocks";

/// A running SOCKS5 server.
pub struct SocksServer {
    daemon: Daemon,
    credentials: Option<(String, String)>,
}

impl SocksServer {
    /// Dante without authentication, refusing connections to `blocked_port` on 127.0.0.1 by
    /// rule (reply 2) and passing every other.
    pub fn dante(blocked_port: u16) -> SocksServer {
        let daemon = Daemon::start("danted", DANTED, "danted.log", |port, dir| {
            let conf = dir.join("danted.conf");
            let text = format!(
                "logoutput: {log}\n\
                 internal: 127.0.0.1 port = {port}\n\
                 external: 127.0.0.1\n\
                 clientmethod: none\n\
                 socksmethod: none\n\
                 client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}}\n\
                 socks block {{\n  from: 0.0.0.0/0 to: 127.0.0.1/32 port = {blocked_port}\n  log: connect error\n}}\n\
                 socks pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  log: connect disconnect error\n}}\n",
                log = dir.join("danted.log").display(),
            );
            std::fs::write(&conf, text).expect("danted config");
            let mut command = Command::new(DANTED);
            command
                .arg("-f")
                .arg(&conf)
                .args(["-N", "1", "-p"])
                .arg(dir.join("danted.pid"));
            command
        });
        SocksServer {
            daemon,
            credentials: None,
        }
    }

    /// microsocks requiring this user name and password.
    pub fn microsocks(user: &str, password: &str) -> SocksServer {
        let daemon = Daemon::start("microsocks", MICROSOCKS, "", |port, _| {
            let mut command = Command::new(MICROSOCKS);
            command
                .args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .args(["-u", user, "-P", password]);
            command
        });
        SocksServer {
            daemon,
            credentials: Some((user.into(), password.into())),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr()
    }

    /// Its URL with `scheme` (`socks5` or `socks5h`) and the credentials it requires, if any.
    pub fn url(&self, scheme: &str) -> String {
        match &self.credentials {
            Some((user, password)) => format!("{scheme}://{user}:{password}@{}", self.addr()),
            None => format!("{scheme}://{}", self.addr()),
        }
    }

    /// Dante's log so far (empty for microsocks).
    pub fn log(&self) -> String {
        self.daemon.read("danted.log")
    }

    /// Whether Dante's log shows a connection passed to `target` (it logs `ip.port`).
    pub fn saw_connect_to(&self, target: SocketAddr) -> bool {
        let to = format!(" {}.{}", target.ip(), target.port());
        self.log()
            .lines()
            .any(|line| line.contains("pass(") && line.contains(&to))
    }
}
