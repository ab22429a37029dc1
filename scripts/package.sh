#!/usr/bin/env bash
# Checks that every library crate can be published: `cargo package` builds each one's .crate
# (path dependencies resolved through a local registry of the others), checks the packaged file
# list (sources, README, LICENSE-MIT and LICENSE-APACHE) and verifies that the packaged crate
# builds on its own. The crates that are not for publishing (examples, tests, bench, wsx) say
# `publish = false` and are left out. --allow-dirty: the check is about what gets packaged, so
# it also runs on uncommitted work.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t libraries < <(scripts/libraries.sh)
(( ${#libraries[@]} )) || { echo "$0: no library crates listed (scripts/libraries.sh)" >&2; exit 1; }
# cargo package verifies each crate against the others' packages as registry crates, and
# registry crates are never unpacked or rebuilt again for a change of content at the same
# version: verify in a build folder of its own, from scratch, after dropping our crates'
# unpacked copies from local registries (folders starting with '-'), or a second run after a
# change would build against the first run's copies.
export CARGO_TARGET_DIR=target/package-verify
rm -rf "$CARGO_TARGET_DIR"
for crate in "${libraries[@]}"; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate"-[0-9]*
done
cargo package --locked --allow-dirty "${libraries[@]/#/-p}"
missing=0
for crate in "${libraries[@]}"; do
  files=$(cargo package --locked --allow-dirty --list -p "$crate")
  for needed in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
    grep -qx "$needed" <<<"$files" || { echo "package: $crate's package lacks $needed" >&2; missing=1; }
  done
done
[[ $missing == 0 ]] && echo "package: ${libraries[*]} package and build on their own"
exit $missing
