#!/usr/bin/env bash
# The whole benchmark harness in one command; writes BENCHMARKS.md at the repository root.
#
#   scripts/bench.sh [ws-bench options, e.g. --rounds 2 --duration-ms 2000]
#
# 1. criterion micro benchmarks of ws-proto (bench/benches/micro.rs);
# 2. `ws-bench all`: echo servers (ours on tokio, async-std and smol, tokio-tungstenite,
#    fastwebsockets) under one raw-TCP load generator with 1 and 100 connections, our clients
#    and tokio-tungstenite's against one raw echo server, heap allocations per echoed message,
#    RSS per idle connection (10,000 connections).
# About 4 minutes on 2 cores once built (the first build adds 2-3 minutes). Benchmarks never fail the script on their figures:
# compare the ratios of one run.
set -euo pipefail
cd "$(dirname "$0")/.."

export CRITERION_HOME="$PWD/target/ws-bench/criterion"
rm -rf "$CRITERION_HOME"

# Both halves are built with the `bench` profile (release settings), so the crate compiles once.
cargo bench -p bench --bench micro
cargo run --profile bench -q -p bench --bin ws-bench -- all \
    --criterion "$CRITERION_HOME" --out BENCHMARKS.md --command "scripts/bench.sh${*:+ $*}" "$@"
