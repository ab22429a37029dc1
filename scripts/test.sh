#!/usr/bin/env bash
# Runs all tests: unit, property, doc and conformance tests of every crate, then the Autobahn
# TestSuite against every runtime (server and client). This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
scripts/autobahn.sh
