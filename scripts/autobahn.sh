#!/usr/bin/env bash
# Runs the Autobahn TestSuite against every runtime adapter, as server and as client, and fails
# if any case is not OK/INFORMATIONAL (strict: NON-STRICT fails too).
#   usage: scripts/autobahn.sh [RUNTIME...]      (default: tokio async-std smol)
#   env:   AUTOBAHN_DIR      reference scripts (default: ../shared/autobahn next to the repo)
#          AUTOBAHN_SECTIONS "core" (1-10), "deflate" (12-13) or "all" (default)
#          AUTOBAHN_JOBS     parallel permessage-deflate runs (default: number of cores)
# Sections 1-10 run one at a time (section 9 measures speed); sections 12-13, where the suite's
# own Python compression dominates, run AUTOBAHN_JOBS at a time. Reports go to
# target/autobahn/ROLE-RUNTIME[-deflate]; the verdict table is printed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
autobahn=${AUTOBAHN_DIR:-$root/../shared/autobahn}
sections=${AUTOBAHN_SECTIONS:-all}
jobs=${AUTOBAHN_JOBS:-$(nproc)}
runtimes=("$@")
[[ ${#runtimes[@]} -eq 0 ]] && runtimes=(tokio async-std smol)
cargo build --release --locked -q -p examples
"$autobahn/install.sh" >/dev/null
out=$root/target/autobahn
rm -rf "$out"; mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One run: ROLE RUNTIME NAME CASES EXCLUDE. Starts the echo server for a server run.
run_one() {
  local role=$1 rt=$2 name=$3 start status=0
  export AUTOBAHN_CASES=$4 AUTOBAHN_EXCLUDE=$5
  start=$(date +%s)
  if [[ $role == server ]]; then
    local port pid
    port=$(free_port)
    "$root/target/release/echo-server-$rt" "127.0.0.1:$port" >"$out/$name-echo-server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()" 2>/dev/null && break
      sleep 0.1
    done
    "$autobahn/run.sh" server "ws://127.0.0.1:$port" "ws-$rt" "$out/$name" || status=1
    kill $pid 2>/dev/null || true
  else
    "$autobahn/run.sh" client "ws-$rt" "$out/$name" -- \
      "$root/target/release/autobahn-client-$rt" >"$out/$name-testee.log" 2>&1 || status=1
    python3 "$autobahn/summarize.py" "$out/$name" | tail -n +1 || true
  fi
  echo "== $name: $(( $(date +%s) - start )) s, $([[ $status == 0 ]] && echo PASS || echo FAIL)"
  return $status
}

failed=0
if [[ $sections == all || $sections == core ]]; then
  for rt in "${runtimes[@]}"; do
    for role in server client; do
      run_one $role "$rt" "$role-$rt" '["*"]' '["12.*","13.*"]' || failed=1
    done
  done
fi
if [[ $sections == all || $sections == deflate ]]; then
  running=0
  for rt in "${runtimes[@]}"; do
    for role in server client; do
      if (( running >= jobs )); then wait -n || failed=1; running=$((running - 1)); fi
      run_one $role "$rt" "$role-$rt-deflate" '["12.*","13.*"]' '[]' > "$out/$role-$rt-deflate.out" 2>&1 &
      pids+=($!); running=$((running + 1))
    done
  done
  while (( running > 0 )); do wait -n || failed=1; running=$((running - 1)); done
  cat "$out"/*-deflate.out
fi
python3 "$root/scripts/autobahn_table.py" "$out"
if [[ $failed != 0 ]]; then echo "autobahn: FAIL"; exit 1; fi
echo "autobahn: PASS (every case OK or INFORMATIONAL, strict, on every runtime and role)"
