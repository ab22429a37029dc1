//! Benchmark harness of the WebSocket stack.
//!
//! * `benches/micro.rs` (criterion): decode, encode and unmask throughput of [`ws_proto`].
//! * `ws-bench all` (this crate's binary): echo servers (ours on three runtimes, ours on tokio
//!   with the batched echo loop, tokio-tungstenite, fastwebsockets) under one neutral load
//!   generator pinned to its own core, with the server's CPU time per message and the load
//!   generator's own CPU share and syscalls per message; round trips with one message in
//!   flight; clients against one raw echo server; heap allocations per echoed message; memory
//!   per idle connection; writes `BENCHMARKS.md`.
//!
//! `scripts/bench.sh` runs both. Nothing here is a pass/fail test.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod alloc;
pub mod child;
pub mod clients;
pub mod echo;
pub mod loadgen;
pub mod procstat;
pub mod report;
pub mod report_tables;
pub mod servers;
pub mod suite;
pub mod wire;
