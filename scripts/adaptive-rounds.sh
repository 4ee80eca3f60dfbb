#!/usr/bin/env bash
# A sweep that spends its jobs where a model needs them (docs/adaptive-design.md,
# "Disagreement per simulated job"): the spec's first START points, then ROUNDS rounds,
# each training an ensemble on every row so far and simulating the ADD points of the
# design's next POOL where its members disagree most per expected simulated job
# (`duet sweep --adaptive --costs`). Every row lands in OUT (the start's rows, then
# each round's, in round order); each round's own file is OUT.roundN.csv. Times go to
# stderr, one line a phase. A pipeline file's `adaptive:` section makes the same
# rounds the sweep phase of `duet run` (docs/spec-files.md); this script gives the
# dataset alone.
#
#   scripts/adaptive-rounds.sh SPEC.yaml START ROUNDS ADD POOL OUT.csv
#   scripts/adaptive-rounds.sh examples/quickstart-pipeline-sweep.yaml 500 3 1000 5000 adaptive.csv
#
# Interrupted, run it again: the start and each round's sweep resume, a finished round
# is not simulated again, and the ensembles are trained again (seconds each; the
# same THREADS give the same ensembles, so the same choices). DUET
# names the binary (default .build/release/duet); THREADS the threads (default: all
# cores); ENSEMBLE the networks of each round's ensemble (default 5, at least 2: the
# choice needs their disagreement). The ensembles are `duet train` with the defaults.
set -euo pipefail

if [ $# -ne 6 ]; then
  echo "usage: $0 SPEC.yaml START ROUNDS ADD POOL OUT.csv" >&2
  exit 64
fi
spec=$1 start=$2 rounds=$3 add=$4 pool=$5 out=$6
DUET=${DUET:-.build/release/duet}
THREADS=${THREADS:-$(nproc)}
ENSEMBLE=${ENSEMBLE:-5}
for n in "$start" "$rounds" "$add" "$pool"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "adaptive-rounds: START, ROUNDS, ADD and POOL are whole numbers >= 1, got $n" >&2; exit 64; }
done
if ! [[ $ENSEMBLE =~ ^[0-9]+$ ]] || [ "$ENSEMBLE" -lt 2 ]; then
  echo "adaptive-rounds: ENSEMBLE must be a whole number >= 2, got $ENSEMBLE" >&2; exit 64
fi
[ "$pool" -ge "$add" ] || { echo "adaptive-rounds: POOL ($pool) must be at least ADD ($add)" >&2; exit 64; }
[ -x "$DUET" ] || { echo "adaptive-rounds: $DUET is not built (swift build -c release --product duet, or set DUET)" >&2; exit 1; }

say() { printf 'adaptive-rounds: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The start: the design's first points, resumable in place.
first=$(now)
"$DUET" sweep "$spec" --points "$start" --out "$out.start.csv" --threads "$THREADS" > /dev/null
say "start: $start points in $(since "$first") s"
cp "$out.start.csv" "$out.tmp"

next=$start
for round in $(seq 1 "$rounds"); do
  began=$(now)
  "$DUET" train "$out.tmp" --out "$out.round$round.model.json" --ensemble "$ENSEMBLE" --threads "$THREADS" > /dev/null 2>&1
  trained=$(since "$began")
  began=$(now)
  "$DUET" sweep "$spec" --points "$next" --adaptive "$out.round$round.model.json" --costs "$out.tmp" \
    --add "$add" --pool "$pool" --out "$out.round$round.csv" --threads "$THREADS" > /dev/null
  say "round $round: points $next..$((next + pool - 1)), ensemble trained in $trained s, $add chosen and simulated in $(since "$began") s"
  tail -n +2 "$out.round$round.csv" >> "$out.tmp"
  next=$((next + pool))
done
mv "$out.tmp" "$out"
say "$(($(wc -l < "$out") - 1)) rows in $out, $(since "$first") s in all"
