#!/usr/bin/env bash
# Runs all tests: unit, property, doc and conformance tests of every crate (including the proxy
# tests against tinyproxy, Dante, microsocks and stunnel, the fault suite through its relay, and
# the hub's tests against redis-server), the browser chat test in
# headless Chromium, then the Autobahn TestSuite against every runtime (server and client).
# This is the README's test command. It installs the system programs it needs (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --workspace --locked
scripts/browser-test.sh
scripts/autobahn.sh
