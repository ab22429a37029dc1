#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ one after another, each for SECONDS (default 60), starting
# from the seeds in fuzz/seeds/<target>/ plus the local corpus in fuzz/corpus/<target>/ (kept
# between runs, not in git). Prints the executions per target and exits non-zero if any target
# crashed; the crashing input is left in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Environment: FUZZ_SANITIZER (default "none": the crates under test forbid unsafe code; set
# "address" to run under ASan) and FUZZ_NICE (default 19). Targets run one at a time, on
# purpose: these machines are shared.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"

seconds=${1:-60}
if [[ $# -gt 0 ]]; then shift; fi
all=(frame_header connection handshake_request handshake_response deflate stream_recv)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${all[@]}"); fi
sanitizer=${FUZZ_SANITIZER:-none}
nice_level=${FUZZ_NICE:-19}

# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
if ! nice -n "$nice_level" cargo fuzz build -s "$sanitizer" >"$logs/build.log" 2>&1; then
    cat "$logs/build.log" >&2
    exit 1
fi
failed=()
summary=()
for target in "${targets[@]}"; do
    if [[ ! -d "seeds/$target" ]]; then
        echo "unknown target $target (have: ${all[*]})" >&2
        exit 2
    fi
    mkdir -p "corpus/$target" "artifacts/$target"
    log="$logs/$target.log"
    echo "== $target: ${seconds}s" >&2
    status=0
    nice -n "$nice_level" cargo fuzz run -s "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [[ -z $runs ]]; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    fi
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        echo "!! $target failed (exit $status):" >&2
        grep -E -A12 "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
        grep -E "Test unit written to|Reproduce with|cargo fuzz run" "$log" >&2 || true
    fi
    summary+=("$(printf '%-20s %8ss %12s execs  %s' "$target" "$seconds" "${runs:-?}" \
        "$([[ $status -eq 0 ]] && echo ok || echo CRASH)")")
done

printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
