#!/usr/bin/env bash
# Compiles (`cargo check`) the library crates, with all their features, on the toolchain
# named by the workspace's `rust-version` (the MSRV the crates declare), installing it with
# rustup if missing. Fails, saying what to do, if that toolchain cannot be installed: an MSRV
# nobody builds is a guess. The build goes to target/msrv so it does not evict the main build.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[[ -n $msrv ]] || { echo "msrv: no rust-version in Cargo.toml's [workspace.package]" >&2; exit 1; }
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$msrv" --profile minimal --no-self-update || {
    echo "msrv: rustup could not install Rust $msrv; install it (rustup toolchain install $msrv)," \
         "or change rust-version in Cargo.toml to a toolchain this machine builds with" >&2
    exit 1
  }
fi
mapfile -t libraries < <(scripts/libraries.sh)
(( ${#libraries[@]} )) || { echo "$0: no library crates listed (scripts/libraries.sh)" >&2; exit 1; }
cargo "+$msrv" check --locked --all-features --target-dir target/msrv "${libraries[@]/#/-p}"
echo "msrv: the library crates build on Rust $msrv ($(rustup run "$msrv" rustc --version))"
