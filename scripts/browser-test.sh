#!/usr/bin/env bash
# End-to-end test of the chat example in headless Chromium (the browser's own WebSocket):
# builds and starts `chat` on a free loopback port, runs tests/browser/chat.mjs (playwright-core,
# driving the system Chromium; no browser is downloaded), stops the server. Screenshots and the
# server log go to target/browser/. Fails on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
out=${CARGO_TARGET_DIR:-target}/browser
mkdir -p "$out"

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y chromium
    fi
    [ -x "$CHROMIUM" ] || { echo "browser test: no $CHROMIUM; run scripts/deps.sh (apt-get install -y chromium)" >&2; exit 1; }
fi
command -v npm >/dev/null || { echo "browser test: node/npm missing; run scripts/deps.sh" >&2; exit 1; }

# playwright-core never downloads browsers; the variable makes sure of it.
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
cargo build --locked -p examples --bin chat
bin=${CARGO_TARGET_DIR:-target}/debug/chat

coproc SERVER { exec "$bin" 127.0.0.1:0 2>"$out/chat-server.log"; }
server_pid=$SERVER_PID
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
if ! read -r -t 20 line <&"${SERVER[0]}"; then
    echo "browser test: the chat server printed no address (log: $out/chat-server.log)" >&2
    exit 1
fi
url=${line#listening on }
echo "browser test: chat server at $url"

timeout 120 node tests/browser/chat.mjs "$url" "$out"
echo "browser test: PASS in $(( $(date +%s) - start )) s"
