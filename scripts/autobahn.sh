#!/usr/bin/env bash
# Runs the Autobahn TestSuite against the runtime adapters, as server (the echo-server-RUNTIME
# example) and as client (the autobahn-client-RUNTIME testee), and fails if any case, or its
# close, is not OK or INFORMATIONAL (strict: NON-STRICT fails too). The suite is installed
# inside the clone by scripts/autobahn/install.sh.
#
#   usage: scripts/autobahn.sh [--full] [RUNTIME...]     (runtimes: tokio async-std smol, the default)
#
# What runs (the CI plan; about 14 minutes on a quiet 2-core machine, see the README):
#   - sections 1-10 on every runtime and role, one run at a time (section 9 measures speed);
#   - sections 12-13 (permessage-deflate, one codec in ws-proto shared by every adapter): all of
#     them on the tokio server and the smol client; on the other runtime/role pairs a sample
#     (SAMPLE_CASES below) that keeps every negotiated parameter set of 13.1-13.7 and every
#     data set of 12.1-12.5, with small, medium and fragmented messages.
#   --full runs all of 12-13 on every pair (the whole matrix, by hand: see the README).
#
#   env: AUTOBAHN_SECTIONS  core (1-10), deflate (12-13) or all (default)
#        AUTOBAHN_JOBS      permessage-deflate runs at a time (default: number of cores); their
#                           time goes to the suite's own Python, not to our code
#        AUTOBAHN_CASES     a JSON list such as '["1.*"]': run just these cases, once per runtime
#                           and role, instead of the plan above
#        AUTOBAHN_STREAMING 1: the testees echo with the streaming API (`--streaming`:
#                           recv_stream in, send_stream out, chunk by chunk; issue 19)
#        AUTOBAHN_BUILD     release (default): build the examples in release mode and test those;
#                           test: the binaries of the test build (`cargo test --workspace
#                           --no-run`, target/debug), as scripts/test.sh does right after that
#                           build: no second build of the whole dependency tree
# Reports: target/autobahn/ROLE-RUNTIME[-deflate]/ (index.html); the verdict table is printed last.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools=$root/scripts/autobahn

# Where all of 12-13 runs without --full (role-runtime).
FULL_DEFLATE=(server-tokio client-smol)
# The sample elsewhere, in each subsection: case 1 (16-byte messages), 6 (8 KiB) and 13 (32 KiB
# auto-fragmented into 256-byte frames), each 1,000 messages. 12.1-12.5: the five
# data sets (JSON, bitmap, German text, HTML, PDF) with the default offer; 13.1-13.7: the seven
# client offer / server answer parameter sets (no context takeover, max window bits 9 and 15,
# a list of fallback offers). wstest matches patterns as unanchored regular expressions
# ("12.*.1" would take 12.1.10-18 too), so the sample lists case ids.
SAMPLE_CASES=(1 6 13)
deflate_sample() {
  local ids=() sub case
  for sub in 12.{1..5} 13.{1..7}; do
    for case in "${SAMPLE_CASES[@]}"; do ids+=("\"$sub.$case\""); done
  done
  local IFS=,
  echo "[${ids[*]}]"
}

full=0
runtimes=()
for arg in "$@"; do
  case $arg in
    --full) full=1 ;;
    tokio|async-std|smol) runtimes+=("$arg") ;;
    *) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2 ;;
  esac
done
[[ ${#runtimes[@]} -eq 0 ]] && runtimes=(tokio async-std smol)
sections=${AUTOBAHN_SECTIONS:-all}
jobs=${AUTOBAHN_JOBS:-$(nproc)}
only_cases=${AUTOBAHN_CASES:-}
testee_flags=()
[[ ${AUTOBAHN_STREAMING:-} == 1 ]] && testee_flags=(--streaming)

case ${AUTOBAHN_BUILD:-release} in
  release) cargo build --release --locked -q -p examples; bin=$root/target/release ;;
  # Up to date after scripts/test.sh's build: this only checks that.
  test) cargo test --workspace --locked --no-run -q 2>&1 | { grep -v '^ *Executable' >&2 || true; }
        bin=$root/target/debug ;;
  *) echo "autobahn: AUTOBAHN_BUILD is release or test, not ${AUTOBAHN_BUILD}" >&2; exit 2 ;;
esac
"$tools/install.sh" >/dev/null
out=$root/target/autobahn
rm -rf "$out"
mkdir -p "$out"

# On exit (an interruption too), stop what is still running: runs, their wstest and our peers.
children=()
kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
cleanup() { for pid in "${children[@]}"; do kill_tree "$pid"; done; }
trap cleanup EXIT

# Prints the URL of the echo server writing LOG (its "listening on ADDR" line), once it is up.
server_url() {
  local log=$1 pid=$2 addr=""
  for _ in $(seq 200); do
    addr=$(sed -n 's/^listening on //p' "$log")
    [[ -n $addr ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [[ -n $addr ]] || { echo "the echo server did not start; its log:" >&2; cat "$log" >&2; return 1; }
  echo "ws://$addr"
}

# One run, in a subshell: ROLE RUNTIME NAME CASES EXCLUDE. Prints its verdicts and duration.
run_one() (
  role=$1 rt=$2 name=$3 status=0
  export AUTOBAHN_CASES=$4 AUTOBAHN_EXCLUDE=$5
  started=$(date +%s)
  if [[ $role == server ]]; then
    : >"$out/$name-echo-server.log"
    "$bin/echo-server-$rt" 127.0.0.1:0 "${testee_flags[@]}" >"$out/$name-echo-server.log" 2>&1 &
    server=$!
    trap 'kill "$server" 2>/dev/null || true' EXIT
    url=$(server_url "$out/$name-echo-server.log" "$server") &&
      "$tools/run.sh" server "$url" "ws-$rt" "$out/$name" || status=1
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  else
    "$tools/run.sh" client "ws-$rt" "$out/$name" -- \
      "$bin/autobahn-client-$rt" "${testee_flags[@]}" || status=1
  fi
  # CPU: what wstest and our peer used (user + system), the figure a busy machine does not
  # inflate; wall-clock time grows with the machine's load.
  times >"$out/$name.times" # here, not in $(...): a command substitution has no children
  cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, k, /[ms]/);
                       printf "%d", u[1] * 60 + u[2] + k[1] * 60 + k[2] }' "$out/$name.times")
  echo "== $name: $(( $(date +%s) - started )) s, CPU $cpu s, $([[ $status == 0 ]] && echo PASS || echo FAIL)"
  exit $status
)

failed=0
if [[ -n $only_cases ]]; then
  for rt in "${runtimes[@]}"; do
    for role in server client; do
      run_one $role "$rt" "$role-$rt" "$only_cases" '[]' || failed=1
    done
  done
  sections=none
fi
if [[ $sections == all || $sections == core ]]; then
  for rt in "${runtimes[@]}"; do
    for role in server client; do
      run_one $role "$rt" "$role-$rt" '["*"]' '["12.*","13.*"]' || failed=1
    done
  done
fi
if [[ $sections == all || $sections == deflate ]]; then
  # The full runs start first: they are the longest, and the samples fill the other slots.
  runs=()
  for rt in "${runtimes[@]}"; do
    for role in server client; do
      if [[ $full == 1 || " ${FULL_DEFLATE[*]} " == *" $role-$rt "* ]]; then
        runs=("$role $rt full" "${runs[@]}")
      else
        runs+=("$role $rt sample")
      fi
    done
  done
  sample=$(deflate_sample)
  running=0
  for run in "${runs[@]}"; do
    read -r role rt kind <<<"$run"
    cases=$sample
    [[ $kind == full ]] && cases='["12.*","13.*"]'
    if (( running >= jobs )); then wait -n || failed=1; running=$((running - 1)); fi
    run_one "$role" "$rt" "$role-$rt-deflate" "$cases" '[]' >"$out/$role-$rt-deflate.out" 2>&1 &
    children+=($!)
    running=$((running + 1))
  done
  while (( running > 0 )); do wait -n || failed=1; running=$((running - 1)); done
  cat "$out"/*-deflate.out
fi
python3 "$tools/summarize.py" --table "$out"
if [[ $failed != 0 ]]; then echo "autobahn: FAIL"; exit 1; fi
echo "autobahn: PASS (every case and close OK or INFORMATIONAL, strict)"
