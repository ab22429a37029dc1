#!/usr/bin/env bash
# Runs the Autobahn TestSuite against every runtime adapter, as server and as client, and fails
# if any case is not OK/INFORMATIONAL (strict: NON-STRICT fails too).
#   usage: scripts/autobahn.sh [RUNTIME...]      (default: tokio async-std smol)
#   env:   AUTOBAHN_DIR   reference scripts (default: ../shared/autobahn next to the repo)
#          AUTOBAHN_CASES / AUTOBAHN_EXCLUDE / AUTOBAHN_ALLOW   passed through to run.sh
# Reports go to target/autobahn/{server,client}-RUNTIME; a summary table is printed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
autobahn=${AUTOBAHN_DIR:-$root/../shared/autobahn}
runtimes=("$@")
[[ ${#runtimes[@]} -eq 0 ]] && runtimes=(tokio async-std smol)
cargo build --release -q -p examples
"$autobahn/install.sh" >/dev/null
out=$root/target/autobahn
rm -rf "$out"; mkdir -p "$out"
status=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for rt in "${runtimes[@]}"; do
  port=$(free_port)
  "$root/target/release/echo-server-$rt" "127.0.0.1:$port" >"$out/echo-server-$rt.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()" 2>/dev/null && break
    sleep 0.1
  done
  start=$(date +%s)
  echo "== autobahn server ws-$rt"
  "$autobahn/run.sh" server "ws://127.0.0.1:$port" "ws-$rt" "$out/server-$rt" || status=1
  echo "   ($(( $(date +%s) - start )) s)"
  start=$(date +%s)
  echo "== autobahn client ws-$rt"
  "$autobahn/run.sh" client "ws-$rt" "$out/client-$rt" -- "$root/target/release/autobahn-client-$rt" || status=1
  echo "   ($(( $(date +%s) - start )) s)"
done
python3 "$root/scripts/autobahn_table.py" "$out" || true
exit $status
