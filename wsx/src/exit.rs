//! Exit codes and the error type that carries one.

use std::fmt;
use std::fmt::Write as _;

/// The documented exit codes of `wsx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: success (the closing handshake finished, or the server closed with 1000 or 1001).
    Ok,
    /// 1: bad command line: unknown option, invalid URL, `--header` or `--protocol`.
    Usage,
    /// 2: network error: name resolution failed, connection refused or unreachable, connect
    /// or handshake timeout, cannot bind the listening address.
    Network,
    /// 3: the server refused the WebSocket upgrade (non-101 answer) or answered it wrongly.
    Handshake,
    /// 4: TLS error: untrusted or invalid certificate, TLS alert, bad certificate, CA or key
    /// file.
    Tls,
    /// 5: the connection ended abnormally: closed with a code other than 1000/1001, no close
    /// handshake, a protocol error, or a failed keepalive.
    Abnormal,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Usage => 1,
            Exit::Network => 2,
            Exit::Handshake => 3,
            Exit::Tls => 4,
            Exit::Abnormal => 5,
        }
    }
}

/// A failure: the message for standard error and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What to exit with.
    pub exit: Exit,
    /// What to tell the user (without the `wsx: ` prefix).
    pub message: String,
}

impl Failure {
    /// A failure with this exit code and message.
    pub fn new(exit: Exit, message: impl fmt::Display) -> Self {
        Failure {
            exit,
            message: message.to_string(),
        }
    }
}

/// The exit code table shown at the end of `wsx --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: stdin ended and the closing handshake finished, or the server
     closed with 1000 (normal) or 1001 (going away)
  1  usage error: bad option or argument, invalid URL, --header or --protocol
  2  network error: cannot resolve or reach the host, connection refused,
     connect/handshake timeout, a proxy that refuses the tunnel (its status
     is printed), cannot bind the listening address
  3  the server refused the WebSocket upgrade (its HTTP status and body are
     printed) or gave an invalid handshake response
  4  TLS error (with the server or an https:// proxy): untrusted or invalid
     certificate (see --cacert, --insecure), TLS alert, bad
     --cacert/SSL_CERT_FILE/--tls-cert/--tls-key
  5  abnormal close: the server closed with a code other than 1000/1001, the
     connection dropped without a closing handshake, or a protocol error";

/// An error and its causes, "outer: inner: innermost".
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let _ = write!(text, ": {e}");
        cause = e.source();
    }
    text
}
