//! `wsx`: a command-line WebSocket client and server on `ws-tokio`.
//!
//! `wsx connect URL` turns standard input lines into messages and prints what the server
//! sends; `wsx serve ADDR` runs an echo or broadcast server, over TLS if given a certificate.
//! The exit codes are listed in [`exit`] and in `wsx --help`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cli;
mod client;
mod exit;
mod server;
mod session;
mod tls;
mod transfer;

use clap::Parser;
use exit::{Exit, Failure};

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors: they print to stdout and exit 0.
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Ok.code()
            });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wsx: cannot start the async runtime: {e}");
            std::process::exit(Exit::Network.code());
        }
    };
    let outcome: Result<(), Failure> = runtime.block_on(async move {
        match cli.command {
            cli::Command::Connect(args) => client::run(args).await,
            cli::Command::Serve(args) => server::run(args).await,
        }
    });
    let code = match outcome {
        Ok(()) => Exit::Ok.code(),
        Err(failure) => {
            eprintln!("wsx: {}", failure.message);
            failure.exit.code()
        }
    };
    // Exit without waiting for the runtime: the thread reading standard input may be blocked
    // in a read that would never return.
    std::process::exit(code);
}
