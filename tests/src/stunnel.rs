//! A TLS-terminating proxy for the `https://` proxy tests: Debian's `stunnel4` accepting TLS on
//! a free loopback port, with a certificate made by [`test_pki`](crate::tls::test_pki), and
//! passing the plain bytes to a [`TinyProxy`].

use crate::daemon::Daemon;
use crate::tinyproxy::{ProxyOptions, TinyProxy};
use crate::tls::TestPki;
use std::net::SocketAddr;
use std::process::Command;

/// Where Debian installs it (`scripts/deps.sh` installs `stunnel4`).
pub const STUNNEL: &str = "/usr/bin/stunnel4";

/// stunnel in front of tinyproxy: an HTTPS proxy. Both are killed on drop.
pub struct HttpsProxy {
    stunnel: Daemon,
    /// The HTTP proxy behind the TLS.
    pub tinyproxy: TinyProxy,
}

impl HttpsProxy {
    /// Starts tinyproxy with `options` and stunnel in front of it, serving `pki`'s certificate
    /// for `localhost` and `127.0.0.1`.
    pub fn start(options: &ProxyOptions, pki: &TestPki) -> HttpsProxy {
        let tinyproxy = TinyProxy::start(options);
        let backend = tinyproxy.addr();
        let stunnel = Daemon::start("stunnel", STUNNEL, "stunnel.log", |port, dir| {
            let (cert, key) = (dir.join("proxy.crt"), dir.join("proxy.key"));
            std::fs::write(&cert, &pki.server_cert_pem).expect("proxy certificate");
            std::fs::write(&key, &pki.server_key_pem).expect("proxy key");
            let conf = dir.join("stunnel.conf");
            let text = format!(
                "foreground = yes\npid =\noutput = {log}\ndebug = 5\n\
                 [https-proxy]\naccept = 127.0.0.1:{port}\nconnect = {backend}\n\
                 cert = {cert}\nkey = {key}\n",
                log = dir.join("stunnel.log").display(),
                cert = cert.display(),
                key = key.display(),
            );
            std::fs::write(&conf, text).expect("stunnel config");
            let mut command = Command::new(STUNNEL);
            command.arg(&conf);
            command
        });
        HttpsProxy { stunnel, tinyproxy }
    }

    /// The TLS port's address.
    pub fn addr(&self) -> SocketAddr {
        self.stunnel.addr()
    }

    /// The proxy URL `https://host:port`, by `host` (`127.0.0.1` or `localhost`), with
    /// credentials if given.
    pub fn url(&self, host: &str, credentials: Option<(&str, &str)>) -> String {
        let port = self.addr().port();
        match credentials {
            Some((user, password)) => format!("https://{user}:{password}@{host}:{port}"),
            None => format!("https://{host}:{port}"),
        }
    }

    /// stunnel's log so far.
    pub fn log(&self) -> String {
        self.stunnel.read("stunnel.log")
    }
}
