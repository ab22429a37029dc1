#!/usr/bin/env bash
# Headless Chromium against our HTTP/2 server (RFC 8441): the browser loads a page over h2 and
# opens `new WebSocket('wss://...')` from it; the server (tests/src/bin/h2-browser.rs) checks that
# the WebSocket arrived as an extended CONNECT on the page's own HTTP/2 connection, and the page
# reports echoes, permessage-deflate and the close code. Needs /usr/bin/chromium (scripts/deps.sh).
# The certificate is made at run time, so Chromium is told to ignore certificate errors.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
out=${CARGO_TARGET_DIR:-target}/browser
mkdir -p "$out"
[ -x "$CHROMIUM" ] || { echo "browser h2 test: no $CHROMIUM; run scripts/deps.sh" >&2; exit 1; }
cargo build --locked -p tests --bin h2-browser
bin=${CARGO_TARGET_DIR:-target}/debug/h2-browser

coproc SERVER { exec "$bin" 2>"$out/h2-server.log"; }
server_pid=$SERVER_PID
# A copy of the server's stdout that outlives the coprocess (bash closes SERVER when it exits).
exec {server_out}<&"${SERVER[0]}"
profile=$(mktemp -d)
browser_pid=
cleanup() {
    if [ -n "$browser_pid" ]; then
        kill "$browser_pid" 2>/dev/null || true
        wait "$browser_pid" 2>/dev/null || true
    fi
    kill "$server_pid" 2>/dev/null || true
    rm -rf "$profile" 2>/dev/null || true
}
trap cleanup EXIT
if ! read -r -t 20 line <&"$server_out"; then
    echo "browser h2 test: the server printed no address" >&2
    exit 1
fi
url=${line#listening on }
echo "browser h2 test: server at $url"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --ignore-certificate-errors --user-data-dir="$profile" \
    "$url" >"$out/h2-chromium.log" 2>&1 &
browser_pid=$!
# The server exits with the verdict once the page posts its result.
status=0
timeout 60 cat <&"$server_out" || status=$?
wait "$server_pid" || status=$?
cat "$out/h2-server.log"
[ "$status" = 0 ] && echo "browser h2 test: PASS" || { echo "browser h2 test: FAIL ($status)"; exit 1; }
