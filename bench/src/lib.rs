//! Benchmark harness of the WebSocket stack.
//!
//! * `benches/micro.rs` (criterion): decode, encode and unmask throughput of [`ws_proto`].
//! * `ws-bench all` (this crate's binary): echo servers (ours on three runtimes,
//!   tokio-tungstenite, fastwebsockets) under one neutral load generator, clients against one
//!   raw echo server, heap allocations per echoed message, and memory per idle connection;
//!   writes `BENCHMARKS.md`.
//!
//! `scripts/bench.sh` runs both. Nothing here is a pass/fail test.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod alloc;
pub mod child;
pub mod clients;
pub mod loadgen;
pub mod report;
pub mod servers;
pub mod suite;
pub mod wire;
