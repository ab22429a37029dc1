#!/usr/bin/env bash
# Prints the workspace's library crates, one per line: the members that can be published (every
# other member says `publish = false`). The one list that .ci/run, scripts/msrv.sh and
# scripts/package.sh work on.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --no-deps --locked --format-version 1 | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    if package["publish"] is None:
        print(package["name"])'
