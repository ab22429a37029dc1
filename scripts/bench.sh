#!/usr/bin/env bash
# The whole benchmark harness in one command; writes BENCHMARKS.md at the repository root.
#
#   scripts/bench.sh [--skip-micro] [--skip-streaming] [ws-bench options]
#
#   ws-bench options (the last one given wins): --rounds N (3), --warmup-ms N (200),
#   --duration-ms N (500), --idle N (10000), --connections 1,100, --sizes 16,1024,65536,1048576,
#   --servers ws-tokio,ws-tokio-batched,ws-async-std,ws-smol,tokio-tungstenite,fastwebsockets,
#   --no-clients, --no-pin, --out FILE, and --quick (--rounds 1 --warmup-ms 100
#   --duration-ms 300 --idle 1000). A quick look that leaves BENCHMARKS.md alone:
#     scripts/bench.sh --skip-micro --quick --out target/ws-bench/quick.md
#
# 1. criterion micro benchmarks of ws-proto (bench/benches/micro.rs), on core 1;
# 2. `ws-bench all`: echo servers (ours on tokio, async-std and smol, ours on tokio with the
#    feed+flush loop, tokio-tungstenite, fastwebsockets), each run on a fresh server process
#    pinned to core 0 (taskset -c 0) under a raw-TCP load generator pinned to core 1
#    (taskset -c 1), which reports its own CPU share and syscalls per message; the server's CPU
#    per message; round trips with one message in flight; our clients and tokio-tungstenite's
#    against one raw echo server; heap allocations per echoed message; RSS per idle connection
#    (10,000 connections);
# 3. streaming a 1 GiB message both ways on every runtime, with and without permessage-deflate,
#    against loopback TCP doing the same work in the same run (tests/tests/streaming_big.rs in
#    release, about 3 minutes), appended to the report; --skip-streaming leaves it out.
# About 5 minutes on 2 cores once built (the first build adds a few minutes). Benchmarks never
# fail the script on their figures: compare the ratios of one run.
set -euo pipefail
cd "$(dirname "$0")/.."

micro=1
streaming=1
out=BENCHMARKS.md
args=()
previous=
for arg in "$@"; do
    case "$arg" in
        --skip-micro) micro=0 ;;
        --skip-streaming) streaming=0 ;;
        *) args+=("$arg") ;;
    esac
    if [[ $previous == --out ]]; then out=$arg; fi
    previous=$arg
done

pin() {
    if command -v taskset >/dev/null; then taskset -c 1 "$@"; else "$@"; fi
}

export CRITERION_HOME="$PWD/target/ws-bench/criterion"
# With --skip-micro the report reads no criterion results: it shows the micro rows as not
# measured rather than an older run's.
micro_dir="$CRITERION_HOME"
[ "$micro" = 1 ] || micro_dir="$PWD/target/ws-bench/no-micro-run"

# Both halves are built with the `bench` profile (release settings), so the crate compiles once.
if [ "$micro" = 1 ]; then
    rm -rf "$CRITERION_HOME"
    cargo bench -q -p bench --bench micro --no-run
    pin cargo bench -q -p bench --bench micro
fi
# ws-bench pins itself (core 1) and the servers (core 0) with taskset.
cargo run --profile bench -q -p bench --bin ws-bench -- all --criterion "$micro_dir" \
    --out BENCHMARKS.md --command "scripts/bench.sh${*:+ $*}" ${args[@]+"${args[@]}"}

if [[ $streaming == 1 ]]; then
    # Both ends of each runtime's exchange run in one child process: not pinned.
    streamed=$(WS_STREAM_BYTES=$((1 << 30)) cargo test --release -q -p tests --test streaming_big \
        -- --nocapture --test-threads=1 2>&1 | grep -E "loopback TCP|bytes each way" \
        | sed 's/^test .* \.\.\. //')
    {
        echo
        echo "## Streaming a 1 GiB message"
        echo
        echo "\`tests/tests/streaming_big.rs\` (release): per runtime, a client streams 1 GiB of"
        echo "incompressible bytes to an echo server that streams it back (\`send_stream\`,"
        echo "\`recv_stream\`), both in one child process, with and without permessage-deflate; the"
        echo "same generate-and-check work over plain loopback TCP in the same run is the baseline."
        echo "The peak-RSS growth over both ends is checked against 16 MiB."
        echo
        echo '```'
        echo "$streamed"
        echo '```'
    } >>"$out"
fi
