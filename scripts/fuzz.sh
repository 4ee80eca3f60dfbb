#!/usr/bin/env bash
# Fuzzes Duet's input readers with libFuzzer (Fuzz/DuetFuzz): builds the fuzz binary
# with -sanitize=fuzzer into .build-fuzz (a debug build, so overflow and conversion
# checks stay on), then runs each target for FUZZ_SECONDS on its seed corpus
# Fuzz/corpus/<target>/. New inputs go to .build-fuzz/corpus/<target>/ (the seeds in
# the repository are not touched), crashes to .build-fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                      # every target, 600 s each, one at a time
#   FUZZ_SECONDS=60 FUZZ_PARALLEL=2 scripts/fuzz.sh wire trace
#
# Prints one line per target: executions, executions per second, corpus size and
# crashes. Exits 1 when a target crashed (the input is named; replay it with
# `DUET_FUZZ_TARGET=<target> .build-fuzz/debug/duet-fuzz <file>`).
set -euo pipefail

cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-600}
PARALLEL=${FUZZ_PARALLEL:-1}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(wire config sweep search trace dataset model)
SCRATCH=.build-fuzz
BIN=$SCRATCH/debug/duet-fuzz

DUET_FUZZ=1 "$SWIFT" build --product duet-fuzz --scratch-path "$SCRATCH" \
    -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library

run_one() {
    local target=$1
    local corpus=$SCRATCH/corpus/$target artifacts=$SCRATCH/artifacts/$target/ log=$SCRATCH/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    local status=0
    # Swift's own crash reporter would take the signal before libFuzzer saves the input.
    SWIFT_BACKTRACE=enable=no DUET_FUZZ_TARGET=$target "$BIN" -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts" "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    local runs rate units crashes
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(find "$corpus" -type f | wc -l)
    crashes=$(find "$artifacts" -type f | wc -l)
    [ "$status" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes="1 (not saved)"
    printf '%-8s %4ss  %10s runs  %7s exec/s  corpus %5s  crashes %s  (exit %s, log %s)\n' \
        "$target" "$SECONDS_EACH" "${runs:-?}" "${rate:-?}" "$units" "$crashes" "$status" "$log"
    if [ "$status" -ne 0 ]; then
        grep -m2 -E 'Fatal error|SUMMARY|ERROR: libFuzzer' "$log" || true
        find "$artifacts" -type f -printf '  input: %p\n'
        return 1
    fi
}

failed=0
running=0
for target in "${TARGETS[@]}"; do
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$PARALLEL" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
exit "$failed"
