#!/usr/bin/env bash
# The simulator beside a plain C recursion of the same tandem: compiles
# scripts/bench-c-tandem.c with the system C compiler (cc -O2), runs it and
# `duet bench simulate --scenario r1` for the same job count, and prints both
# figures side by side with their ratio. The mean responses should agree within
# a few percent (different random numbers, so not exactly). Per second of CPU time
# is the figure to compare on a busy machine; wall-clock rates follow the load.
#
#   swift build -c release --product duet && scripts/bench-c-tandem.sh
#   JOBS=5000000 REPEATS=5 scripts/bench-c-tandem.sh
set -euo pipefail

cd "$(dirname "$0")/.."
DUET=${DUET:-.build/release/duet}
JOBS=${JOBS:-20000000}
REPEATS=${REPEATS:-3}
CC=${CC:-cc}

say() { printf 'bench-c-tandem: %s\n' "$*" >&2; }
[ -x "$DUET" ] || { say "$DUET is not built (swift build -c release --product duet first, or set DUET)"; exit 1; }
command -v "$CC" >/dev/null 2>&1 || { echo "SKIPPED: no C compiler ($CC); set CC"; exit 0; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$CC" -O2 -o "$work/bench-c-tandem" scripts/bench-c-tandem.c -lm

field() { sed -n "s/^$1: *\([0-9.]*\).*/\1/p"; }
duet_out=$("$DUET" bench simulate --scenario r1 --jobs "$JOBS" --repeats "$REPEATS")
c_out=$("$work/bench-c-tandem" "$JOBS" "$REPEATS")
grep -q '^warning' <<<"$duet_out" && say "$DUET is a debug build: the ratio means nothing"
duet_rate=$(field 'jobs per second' <<<"$duet_out")
c_rate=$(field 'jobs per second' <<<"$c_out")
duet_cpu=$(field 'jobs per CPU second' <<<"$duet_out")
c_cpu=$(field 'jobs per CPU second' <<<"$c_out")
duet_mean=$(field 'meanResponse' <<<"$duet_out")
c_mean=$(field 'meanResponse' <<<"$c_out")

printf 'R1 tandem, %s jobs, best of %s, one thread (load average %s)\n' "$JOBS" "$REPEATS" \
  "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
printf '%-22s %14s %14s %8s\n' "" "duet" "C (cc -O2)" "duet/C"
awk -v d="$duet_rate" -v c="$c_rate" 'BEGIN { printf "%-22s %14.2f %14.2f %8.2f\n", "jobs/s (million)", d, c, d / c }'
awk -v d="$duet_cpu" -v c="$c_cpu" 'BEGIN { printf "%-22s %14.2f %14.2f %8.2f\n", "jobs/CPU s (million)", d, c, d / c }'
awk -v d="$duet_mean" -v c="$c_mean" 'BEGIN { printf "%-22s %14.4f %14.4f %8.3f\n", "meanResponse (s)", d, c, d / c }'
