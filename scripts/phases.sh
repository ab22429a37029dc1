# Named, timed phases for .ci/run and scripts/test.sh (sourced, not run).
#   phase NAME COMMAND [ARG...]   runs COMMAND, records its duration and verdict; a failure is
#                                 recorded and the next phases still run
#   phases_end                    returns 1 if any of this script's phases failed; the script
#                                 that started the record also prints it (each phase's
#                                 duration, the total, nested scripts' phases included)
# Nested scripts add to the record of the script that calls them (PHASES_FILE).
phases_owner=0
phases_failed=0
if [[ -z ${PHASES_FILE:-} ]]; then
  mkdir -p "${CARGO_TARGET_DIR:-target}"
  PHASES_FILE=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/phases.tsv
  : >"$PHASES_FILE"
  export PHASES_FILE PHASES_START=$(date +%s)
  phases_owner=1
fi

phase() {
  local name=$1 started status=0
  shift
  started=$(date +%s)
  echo "=== $name: $*"
  "$@" || status=$?
  local verdict=PASS
  [[ $status == 0 ]] || { verdict="FAIL (exit status $status)"; phases_failed=1; }
  printf '%s\t%s\t%s\n' "$name" "$(( $(date +%s) - started ))" "$verdict" >>"$PHASES_FILE"
  echo "=== $name: $verdict"
}

phases_end() {
  [[ $phases_owner == 1 ]] || return $phases_failed
  local verdict=PASS
  grep -q FAIL "$PHASES_FILE" && verdict=FAIL
  echo
  echo "Phase durations:"
  awk -F'\t' '{ printf "  %-28s %6d s  %s\n", $1, $2, $3 }' "$PHASES_FILE"
  printf '  %-28s %6d s  %s\n' total "$(( $(date +%s) - PHASES_START ))" "$verdict"
  [[ $verdict == PASS ]]
}
