#!/usr/bin/env bash
# Benchmarks `duet serve` with wrk (Debian: wrk): single predictions per second and
# their p99 latency, then batches of BATCH configurations per request (rows per
# second), as a JSON list and as CSV rows (`Content-Type: text/csv`), against the
# release binary. The model is the reference network size of
# `duet train`'s defaults (3 x 128, SiLU), trained for a few epochs on
# examples/small-sweep.yaml (its accuracy does not matter here; its size does).
# wrk and the server share this machine's cores: the figures are for both on one host.
#
#   swift build -c release && scripts/serve-bench.sh
#   DURATION=30 CONNECTIONS=32 BATCH=1000 scripts/serve-bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
DUET=${DUET:-.build/release/duet}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
BATCH=${BATCH:-1000}
MODEL=${MODEL:-}

say() { printf 'serve-bench: %s\n' "$*" >&2; }
[ -x "$DUET" ] || { say "$DUET is not built (swift build -c release first, or set DUET)"; exit 1; }
command -v wrk >/dev/null 2>&1 || { echo "SKIPPED: wrk is not installed (Debian: apt-get install wrk)"; exit 0; }

# shellcheck source=scripts/serve-start.sh
. scripts/serve-start.sh

if [ -z "$MODEL" ]; then
  say "training a 3 x 128 model on examples/small-sweep.yaml (seconds)"
  "$DUET" sweep examples/small-sweep.yaml --out "$work/small.csv" >/dev/null 2>&1
  "$DUET" train "$work/small.csv" --out "$work/model.json" --epochs 5 >/dev/null 2>&1
  MODEL="$work/model.json"
fi

start_server

config='{"arrival":{"rate":1,"scv":1},"batch":{"dist":"geometric","mean":4},"stations":[{"name":"edge","servers":2,"service":{"mean":0.25,"scv":1}},{"name":"cloud","servers":4,"service":{"mean":0.25,"scv":1},"setup":0.01,"maxBatch":4,"timeout":0.1,"coldStart":{"mean":0,"scv":1},"keepAlive":10}]}'
printf '%s' "$config" > "$work/one.json"
{ printf '['; for i in $(seq 1 "$BATCH"); do [ "$i" -gt 1 ] && printf ','; printf '%s' "$config"; done; printf ']'; } > "$work/batch.json"
# The same configuration as dataset input columns, BATCH rows.
header='arrival.rate,arrival.scv,batch.dist,batch.mean'
row='1,1,geometric,4'
for k in 1 2; do
  for key in servers service.mean service.scv setup maxBatch timeout coldStart.mean coldStart.scv keepAlive; do
    header="$header,stations.$k.$key"
  done
done
row="$row,2,0.25,1,0,1,0,0,1,inf,4,0.25,1,0.01,4,0.1,0,1,10"
{ echo "$header"; for _ in $(seq 1 "$BATCH"); do echo "$row"; done; } > "$work/batch.csv"
for type in json csv; do
  cat > "$work/post-$type.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "$( [ "$type" = json ] && echo application/json || echo text/csv )"
wrk.body = io.open(os.getenv("BODY"), "r"):read("*a")
LUA
done
# The answers must be predictions, not errors, before they are timed.
curl -sf -X POST --data-binary @"$work/one.json" "http://127.0.0.1:$port/v1/predict" | grep -q '"predicted":true' \
  || { say "the server did not answer a prediction"; exit 1; }
if ! curl -sf -X POST -H 'Content-Type: text/csv' --data-binary @"$work/batch.csv" -o "$work/answer.csv" \
  "http://127.0.0.1:$port/v1/predict" || ! head -1 "$work/answer.csv" | grep -q '^row,'; then
  say "the server did not answer the CSV rows"; exit 1
fi

run() {  # $1: body file, $2: connections, $3: json or csv; prints wrk's output
  BODY="$1" wrk -t"$THREADS" -c"$2" -d"${DURATION}s" --latency -s "$work/post-$3.lua" "http://127.0.0.1:$port/v1/predict"
}
field() { awk -v k="$1" '$1 == k { print $2; exit }'; }
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.3f", v }'; }

say "single predictions: $CONNECTIONS connections, ${DURATION} s"
single=$(run "$work/one.json" "$CONNECTIONS" json)
say "batches of $BATCH: 2 connections, ${DURATION} s"
batch=$(run "$work/batch.json" 2 json)
say "CSV batches of $BATCH rows: 2 connections, ${DURATION} s"
csv=$(run "$work/batch.csv" 2 csv)
errors=$(printf '%s\n%s\n%s\n' "$single" "$batch" "$csv" | grep -E 'Non-2xx|Socket errors' || true)

single_rps=$(printf '%s\n' "$single" | field Requests/sec:)
single_p50=$(printf '%s\n' "$single" | field 50% | to_ms)
single_p99=$(printf '%s\n' "$single" | field 99% | to_ms)
batch_rps=$(printf '%s\n' "$batch" | field Requests/sec:)
batch_p99=$(printf '%s\n' "$batch" | field 99% | to_ms)
rows=$(awk -v r="$batch_rps" -v b="$BATCH" 'BEGIN { printf "%.0f", r * b }')
csv_rps=$(printf '%s\n' "$csv" | field Requests/sec:)
csv_p99=$(printf '%s\n' "$csv" | field 99% | to_ms)
csv_rows=$(awk -v r="$csv_rps" -v b="$BATCH" 'BEGIN { printf "%.0f", r * b }')
echo "duet serve on $(nproc) cores, wrk -t$THREADS on the same host, ${DURATION} s per run, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "single predictions: $single_rps requests/s with $CONNECTIONS connections, p50 ${single_p50} ms, p99 ${single_p99} ms"
echo "batches of $BATCH:   $batch_rps requests/s = $rows rows/s with 2 connections, p99 ${batch_p99} ms"
echo "CSV batches of $BATCH: $csv_rps requests/s = $csv_rows rows/s with 2 connections, p99 ${csv_p99} ms"
[ -z "$errors" ] || { echo "wrk reported errors:"; echo "$errors"; exit 1; }
