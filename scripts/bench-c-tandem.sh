#!/usr/bin/env bash
# The simulator beside a plain C recursion of the same tandem: compiles
# scripts/bench-c-tandem.c with the system C compiler (cc -O2) twice, as the plain
# recursion (the mean response alone) and with -DMETRICS (every metric MODEL.md
# asks of this tandem, as the simulator keeps them: per-station sums, rule 3's
# choice of instance and its cold starts, the instability check's wait windows, an
# HDR histogram of responses), runs both and `duet bench simulate --scenario r1`
# for the same job count, and prints the three figures side by side with Duet's
# ratio to each. The mean responses should agree within a few percent (different
# random numbers, so not exactly). Per second of CPU time is the figure to compare
# on a busy machine; wall-clock rates follow the load.
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
"$CC" -O2 -DMETRICS -o "$work/bench-c-tandem-metrics" scripts/bench-c-tandem.c -lm

field() { sed -n "s/^$1: *\([0-9.]*\).*/\1/p"; }
duet_out=$("$DUET" bench simulate --scenario r1 --jobs "$JOBS" --repeats "$REPEATS")
c_out=$("$work/bench-c-tandem" "$JOBS" "$REPEATS")
m_out=$("$work/bench-c-tandem-metrics" "$JOBS" "$REPEATS")
grep -q '^warning' <<<"$duet_out" && say "$DUET is a debug build: the ratio means nothing"
duet_rate=$(field 'jobs per second' <<<"$duet_out")
c_rate=$(field 'jobs per second' <<<"$c_out")
m_rate=$(field 'jobs per second' <<<"$m_out")
duet_cpu=$(field 'jobs per CPU second' <<<"$duet_out")
c_cpu=$(field 'jobs per CPU second' <<<"$c_out")
m_cpu=$(field 'jobs per CPU second' <<<"$m_out")
duet_mean=$(field 'meanResponse' <<<"$duet_out")
c_mean=$(field 'meanResponse' <<<"$c_out")
m_mean=$(field 'meanResponse' <<<"$m_out")

printf 'R1 tandem, %s jobs, best of %s, one thread (load average %s)\n' "$JOBS" "$REPEATS" \
  "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
row() {  # label duet plain metrics format
  awk -v l="$1" -v d="$2" -v c="$3" -v m="$4" -v f="$5" \
    'BEGIN { printf "%-22s " f " " f " " f " %8.3f %8.3f\n", l, d, c, m, d / c, d / m }'
}
printf '%-22s %14s %14s %14s %8s %8s\n' "" "duet" "C plain" "C, metrics" "duet/C" "/metrics"
row "jobs/s (million)" "$duet_rate" "$c_rate" "$m_rate" "%14.2f"
row "jobs/CPU s (million)" "$duet_cpu" "$c_cpu" "$m_cpu" "%14.2f"
row "meanResponse (s)" "$duet_mean" "$c_mean" "$m_mean" "%14.4f"
