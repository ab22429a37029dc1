#!/usr/bin/env bash
# Runs all tests: unit, property, doc and conformance tests of every crate (including the proxy
# tests against tinyproxy and the hub's tests against redis-server), the browser chat test and
# the WebSocket-over-HTTP/2 browser test in headless Chromium, then the Autobahn TestSuite
# against every runtime (server and client).
# This is the README's test command. It installs the system programs it needs (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --workspace --locked
scripts/browser-test.sh
scripts/browser-h2-test.sh
scripts/autobahn.sh
