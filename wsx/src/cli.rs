//! The command line.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// A command-line WebSocket client and server.
#[derive(Debug, Parser)]
#[command(name = "wsx", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a ws:// or wss:// URL: each line of stdin is sent as a message (text by
    /// default), each message received is printed on stdout, one per line: text as is,
    /// binary as lowercase hex. Diagnostics (connected, close code and reason) go to stderr.
    /// At the end of stdin, replies are still printed until the server closes or --linger
    /// runs out (2 s by default); then a normal close (1000) is sent and the closing
    /// handshake awaited. wss:// trusts the web PKI roots, the system store (or
    /// SSL_CERT_FILE / SSL_CERT_DIR) and --cacert files.
    #[command(after_help = EXIT_CODES_HELP)]
    Connect(ConnectArgs),
    /// Run a WebSocket server: echo (default) or broadcast, over TLS with --tls-cert and
    /// --tls-key. Prints "listening on ADDR" (the bound address) on stdout first.
    #[command(after_help = EXIT_CODES_HELP)]
    Serve(ServeArgs),
}

/// `wsx connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The ws:// or wss:// URL to connect to.
    pub url: String,
    /// Send stdin lines as binary messages (the line's bytes, without the newline) instead of
    /// text messages.
    #[arg(long)]
    pub binary: bool,
    /// An extra request header, as 'Name: value' (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A subprotocol to offer in Sec-WebSocket-Protocol (repeatable, in order of preference).
    #[arg(long = "protocol", short = 'p', value_name = "NAME")]
    pub protocols: Vec<String>,
    /// Accept any TLS certificate (self-signed, expired, wrong name). For testing only: the
    /// connection is encrypted but the server is not authenticated.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Send a keepalive ping after SECS seconds without receiving anything; the connection
    /// fails if nothing arrives within 30 s after it. 0 turns keepalive off. Default: 30.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub ping_interval: Option<Duration>,
    /// Tunnel through this proxy: HTTP CONNECT (http://user:password@proxy:3128, or
    /// https:// for TLS to the proxy) or SOCKS5 (socks5:// resolves the host here, socks5h://
    /// at the proxy). Without it the HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY
    /// environment variables are honoured, as curl does (NO_PROXY may list CIDR ranges);
    /// `--proxy ''` connects directly whatever they say.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Also trust the CA certificates of this PEM file for wss:// (repeatable). The system
    /// trust store (or the SSL_CERT_FILE / SSL_CERT_DIR it names) and the web PKI roots are
    /// trusted too.
    #[arg(long, value_name = "PEM")]
    pub cacert: Vec<PathBuf>,
    /// After the end of standard input, keep printing replies for up to SECS seconds (fractions
    /// allowed) unless the server closes first; then close. 0 closes at once. When it runs
    /// out, a note on stderr says that later replies are lost.
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_secs)]
    pub linger: Duration,
    /// Send FILE (`-`: standard input) as one binary message, streamed in bounded memory
    /// whatever its size, instead of sending standard input lines; then close (after --recv,
    /// if given).
    #[arg(long, value_name = "FILE")]
    pub send: Option<PathBuf>,
    /// Write the next message received to standard output, raw and as it arrives (any size),
    /// then close: `wsx connect --recv URL > FILE`.
    #[arg(long)]
    pub recv: bool,
    /// How long connecting (TCP, proxy tunnel, TLS and the upgrade handshake) may take.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: Duration,
}

/// `wsx serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on, e.g. 127.0.0.1:9001 (port 0 picks a free port).
    pub addr: String,
    /// Echo every text and binary message back to its sender (the default).
    #[arg(long, conflicts_with = "broadcast")]
    pub echo: bool,
    /// Send every text and binary message received from a client to all connected clients,
    /// the sender included.
    #[arg(long)]
    pub broadcast: bool,
    /// Serve wss://: the certificate chain, PEM.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Serve wss://: the private key, PEM.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Parses a number of seconds (fractions allowed).
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("x").is_err());
    }
}
