#!/usr/bin/env bash
# One Autobahn TestSuite run against one of our peers, judged by summarize.py.
#
#   run.sh server URL AGENT OUTDIR
#       Fuzzes our echo server, already listening at URL (ws://127.0.0.1:PORT): wstest is the
#       client and runs every selected case against it.
#   run.sh client AGENT OUTDIR -- COMMAND [ARG...]
#       wstest is the fuzzing server on a free loopback port; COMMAND is our client testee,
#       given the server's URL as its last argument. A testee reads the case count from
#       URL/getCaseCount, echoes every message of URL/runCase?case=N&agent=AGENT for N in
#       1..count until the server closes, then opens URL/updateReports?agent=AGENT to have the
#       reports written (examples/src/lib.rs, `autobahn_client`).
#
#   env: AUTOBAHN_CASES    JSON list of case patterns to run  (default: ["*"])
#        AUTOBAHN_EXCLUDE  JSON list of case patterns to skip (default: [])
# Exit status 0 only when every case, and its close, is OK or INFORMATIONAL. The reports (JSON,
# and HTML to read in a browser), wstest's log and the client testee's log stay in OUTDIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wstest=$("$here/install.sh")
cases=${AUTOBAHN_CASES:-'["*"]'}
exclude=${AUTOBAHN_EXCLUDE:-'[]'}

usage() { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (at most 10 s) until something accepts TCP connections on 127.0.0.1:PORT.
wait_listening() {
  python3 - "$1" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("nothing listens on 127.0.0.1:%s after 10 s" % sys.argv[1])
        time.sleep(0.05)
PY
}

# wstest runs inside OUTDIR (the container launcher mounts only that folder), with a spec file
# there naming OUTDIR as the report folder.
prepare_outdir() {
  mkdir -p "$1"
  outdir=$(cd "$1" && pwd)
  spec=$outdir/spec.json
}

mode=${1:-}
[[ $# -gt 0 ]] && shift
case $mode in
server)
  [[ $# -eq 3 ]] || usage
  url=$1 agent=$2
  prepare_outdir "$3"
  cat >"$spec" <<SPEC
{"outdir": "$outdir", "servers": [{"agent": "$agent", "url": "$url"}],
 "cases": $cases, "exclude-cases": $exclude, "exclude-agent-cases": {}}
SPEC
  if ! (cd "$outdir" && "$wstest" --mode fuzzingclient --spec "$spec") >"$outdir/wstest.log" 2>&1; then
    echo "run.sh: wstest failed; the end of $outdir/wstest.log:" >&2
    tail -n 20 "$outdir/wstest.log" >&2
    exit 1
  fi
  ;;
client)
  [[ $# -ge 4 && $3 == -- ]] || usage
  agent=$1
  prepare_outdir "$2"
  shift 3
  port=$(free_port)
  url=ws://127.0.0.1:$port
  cat >"$spec" <<SPEC
{"url": "$url", "outdir": "$outdir",
 "cases": $cases, "exclude-cases": $exclude, "exclude-agent-cases": {}}
SPEC
  (cd "$outdir" && exec "$wstest" --mode fuzzingserver --spec "$spec" --webport 0) >"$outdir/wstest.log" 2>&1 &
  fuzzer=$!
  trap 'kill "$fuzzer" 2>/dev/null || true; wait "$fuzzer" 2>/dev/null || true' EXIT
  wait_listening "$port"
  # The verdicts come from the report; the testee's own complaints go to testee.log.
  "$@" "$url" >"$outdir/testee.log" 2>&1 ||
    echo "run.sh: the client testee exited with status $? (see $outdir/testee.log)" >&2
  ;;
*)
  usage
  ;;
esac
python3 "$here/summarize.py" "$outdir"
