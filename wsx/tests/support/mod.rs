//! The `wsx` test harness: the built executable run as a child with its output read line by
//! line, in-test servers on 127.0.0.1:0, and certificates written as PEM files.
#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The environment variables a client may take its proxy from.
pub const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The longest any single wait may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of one output stream of a child, read on a thread.
pub struct Lines {
    rx: Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn new(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the stream; panics after [`TIMEOUT`].
    pub fn next(&mut self) -> Option<String> {
        match self.rx.recv_timeout(TIMEOUT) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no output within {TIMEOUT:?}; so far: {:?}", self.seen)
            }
        }
    }

    /// Reads until a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str) -> String {
        while let Some(line) = self.next() {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("stream ended without {needle:?}; saw {:?}", self.seen)
    }

    /// Everything up to the end of the stream (the child has exited), including lines
    /// already seen.
    pub fn all(&mut self) -> Vec<String> {
        while self.next().is_some() {}
        self.seen.clone()
    }
}

/// A running `wsx`, killed when dropped.
pub struct Wsx {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Wsx {
    pub fn start(args: &[&str]) -> Wsx {
        Wsx::start_env(args, &[])
    }

    /// Starts `wsx` with `args`, the proxy variables of the test's own environment removed
    /// and `env` set.
    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Wsx {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wsx"));
        for name in PROXY_VARIABLES {
            command.env_remove(name);
        }
        let mut child = command
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsx");
        let stdout = Lines::new(child.stdout.take().unwrap());
        let stderr = Lines::new(child.stderr.take().unwrap());
        Wsx {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    /// `wsx serve` with `args`; returns it and the address it listens on.
    pub fn serve(args: &[&str]) -> (Wsx, SocketAddr) {
        let mut all = vec!["serve", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut server = Wsx::start(&all);
        let first = server.stdout.next().expect("the server printed nothing");
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .expect("a socket address");
        (server, addr)
    }

    pub fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the exit code (polling, bounded by [`TIMEOUT`]).
    pub fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited by a signal");
            }
            assert!(
                Instant::now() < deadline,
                "wsx still running after {TIMEOUT:?}; stderr so far: {:?}",
                self.stderr.seen
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs to the end: exit code, stdout lines, stderr text.
    pub fn finish(mut self) -> (i32, Vec<String>, String) {
        let code = self.exit_code();
        let stdout = self.stdout.all();
        let stderr = self.stderr.all().join("\n");
        (code, stdout, stderr)
    }
}

impl Drop for Wsx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wsx` with `args` and no input to the end.
pub fn run(args: &[&str]) -> (i32, Vec<String>, String) {
    let mut wsx = Wsx::start(args);
    wsx.close_stdin();
    wsx.finish()
}

/// A tokio server in the test process on 127.0.0.1:0, calling `handler` for each connection.
pub fn in_test_server<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(handler(tcp));
            }
        });
    });
    rx.recv_timeout(TIMEOUT).expect("in-test server started")
}

/// A fresh directory for this test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wsx-test-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM files.
pub fn self_signed(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (dir, cert, key)
}

/// PEM files of a private CA and of a certificate for localhost and 127.0.0.1 it signed.
pub struct PrivateCa {
    /// The directory holding them (removed on drop).
    pub dir: PathBuf,
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate.
    pub cert: PathBuf,
    /// The server key.
    pub key: PathBuf,
}

impl PrivateCa {
    pub fn new(name: &str) -> PrivateCa {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = temp_dir(name);
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let files = PrivateCa {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        std::fs::write(&files.ca, ca_cert.pem()).unwrap();
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }
}

impl Drop for PrivateCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
