#!/usr/bin/env bash
# Runs all tests: unit, property, doc and conformance tests of every crate (including the proxy
# tests against tinyproxy and the hub's tests against redis-server), the browser chat test and
# the WebSocket-over-HTTP/2 browser test in headless Chromium, then the Autobahn TestSuite against every runtime (server and client; see
# scripts/autobahn.sh for which cases run where). This is the README's test command. It
# installs the system programs it needs (scripts/deps.sh) and the Autobahn TestSuite (inside
# target/). Prints each phase's duration at the end; exits non-zero if any phase failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/phases.sh
phase "system packages" scripts/deps.sh
phase "build tests" cargo test --workspace --locked --no-run
phase "tests" cargo test --workspace --locked
phase "browser test" scripts/browser-test.sh
phase "browser h2 test" scripts/browser-h2-test.sh
phase "autobahn" env AUTOBAHN_BUILD=test scripts/autobahn.sh
phases_end
