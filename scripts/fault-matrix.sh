#!/usr/bin/env bash
# Faults, as a matrix: a sweep and a search on a real coordinator with two workers,
# and one process killed with SIGKILL at several points of each (a worker, the
# coordinator, the client), then the run carried to its end (a new worker, the
# coordinator restarted on its journal, the client command run again). Optionally
# (root only) a worker cut off from the coordinator by a network partition for longer
# than its lease, then reconnected. After each case:
#
#   lost        reference rows (points, or trial rungs) missing from the output, plus
#               tasks of the design without a result in the journal
#   duplicated  rows in the output more than once, plus results in the journal for a
#               task (same sweep spec, or same trial and rung; same index) beyond the
#               first, across every run
#
# and PASS when both are 0, every process that had to finish did (exit status 0),
# and the output equals the in-process reference (the sweep's CSV byte for byte; each
# rung's validation MAPE to the last digit).
#
#   make faults                                   # the release binary
#   DUET=.build/debug/duet scripts/fault-matrix.sh
#   CASES='sweep-coordinator' scripts/fault-matrix.sh     # only the cases matching
#
# Processes talk over ipc:// sockets in a private temporary directory; the partition
# case uses two network namespaces of its own (10.201.0.0/24 inside them), and says
# SKIPPED without root. Every wait is bounded; every child is killed on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
DUET=${DUET:-.build/release/duet}
CASES=${CASES:-.}
POINTS=${POINTS:-40}
SWEEP_JOBS=${SWEEP_JOBS:-400000}
TRIALS=${TRIALS:-6}
EPOCHS=${EPOCHS:-3000}
WAIT=${WAIT:-300}

[ -x "$DUET" ] || { printf 'fault-matrix: no duet binary at %s: build first (swift build -c release)\n' "$DUET" >&2; exit 2; }
DUET=$(cd "$(dirname "$DUET")" && pwd)/$(basename "$DUET")
for tool in jq sqlite3 timeout; do
  command -v "$tool" >/dev/null 2>&1 || { printf 'fault-matrix: %s is needed\n' "$tool" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/duet-faults.XXXXXX")
chmod 700 "$WORK"
PIDS=()
NAMESPACES=()
FAILED=0

say() { printf 'fault-matrix: %s\n' "$*" >&2; }

cleanup() {
  local status=$?
  local pid ns
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    say "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Processes ------------------------------------------------------------------------

# The pid of the last process started in the background by a helper.
LAST=0

# start NAME ARG...: runs `duet ARG...` in the background, output in $CASE/NAME.out|err.
start() {
  local name=$1
  shift
  "$DUET" "$@" >"$CASE/$name.out" 2>"$CASE/$name.err" &
  LAST=$!
  PIDS+=("$LAST")
}

# kill9 PID: SIGKILL and reap.
kill9() {
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# finish PID SECONDS: sets STATUS to the process's exit status, or to 124 if it still
# runs after SECONDS (then it is killed). Not in a subshell: only this shell can reap.
STATUS=0
finish() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill9 "$pid"
    STATUS=124
    return
  fi
  STATUS=0
  wait "$pid" 2>/dev/null || STATUS=$?
}

# coordinator NAME [PREFIX...]: starts a coordinator on $CASE/journal.sqlite at
# $ENDPOINT (PREFIX: e.g. `ip netns exec NS`) and waits until it listens.
COORDINATOR=0
coordinator() {
  local name=$1
  shift
  "$@" "$DUET" coordinator --bind "$BIND" --journal "$CASE/journal.sqlite" --heartbeat-ms 250 "${INSECURE[@]}" \
    >"$CASE/$name.out" 2>"$CASE/$name.err" &
  COORDINATOR=$!
  PIDS+=("$COORDINATOR")
  local deadline=$((SECONDS + 20))
  until grep -q '^listening on' "$CASE/$name.out" 2>/dev/null; do
    kill -0 "$COORDINATOR" 2>/dev/null || { say "$name exited: $(tail -n 3 "$CASE/$name.err")"; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { say "$name did not start listening"; return 1; }
    sleep 0.05
  done
}

# worker NAME [PREFIX...]
worker() {
  local name=$1
  shift
  "$@" "$DUET" worker --coordinator "$ENDPOINT" --slots 1 "${INSECURE[@]}" >"$CASE/$name.out" 2>"$CASE/$name.err" &
  LAST=$!
  PIDS+=("$LAST")
}

# The coordinator's status as JSON (empty when it does not answer).
status_json() {
  "${NETNS[@]}" timeout 10 "$DUET" status --coordinator "$ENDPOINT" --json --timeout 2 "${INSECURE[@]}" 2>/dev/null || true
}

# The number of finished tasks over all runs.
done_tasks() { status_json | jq '[.runs[]?.done] | add // 0' 2>/dev/null || echo 0; }

# The pid of a worker that holds a task (0 when none does).
busy_worker() {
  status_json | jq '[.workers[]? | select((.running | length) > 0) | .pid] | first // 0' 2>/dev/null || echo 0
}

# wait_done AT TOTAL PID: waits until at least AT of TOTAL tasks are done (bounded),
# while the client PID runs. Fails when the run got there first or never does.
wait_done() {
  local at=$1 total=$2 client=$3 deadline=$((SECONDS + WAIT)) done=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    done=$(done_tasks)
    if [ "$done" -ge "$at" ]; then
      [ "$done" -lt "$total" ] && return 0
      say "the run finished before the fault ($done of $total done)"
      return 1
    fi
    kill -0 "$client" 2>/dev/null || { say "the client exited early"; return 1; }
    sleep 0.1
  done
  say "only $done of $total tasks done after ${WAIT}s"
  return 1
}

# --- Checks ---------------------------------------------------------------------------

# journal_counts KIND KEY EXPECTED: "lost duplicated" in the journal over every run
# of KIND: EXPECTED distinct (KEY, index) pairs should each have exactly one result.
# KEY is the spec's hash for sweep points; for rungs it is the run's label (the trial
# and its epochs), since a rung's spec also carries the best MAPE of the other trials
# when it was submitted, which a restarted search may see differently.
journal_counts() {
  local kind=$1 key=$2 expected=$3
  timeout 60 sqlite3 -readonly "$CASE/journal.sqlite" "
    SELECT $expected - COUNT(*), COALESCE(SUM(n - 1), 0) FROM (
      SELECT COUNT(*) AS n FROM results r JOIN runs u ON u.id = r.run
      WHERE u.kind = '$kind' GROUP BY u.$key, r.idx);" | tr '|' ' '
}

ROWS=()
row() {
  # row CASE LOST DUPLICATED VERDICT NOTE
  ROWS+=("$(printf '| %-30s | %4s | %10s | %-4s | %s |' "$1" "$2" "$3" "$4" "$5")")
  printf '%-30s lost %s duplicated %s %s %s\n' "$1" "$2" "$3" "$4" "$5" >&2
  [ "$4" = PASS ] || FAILED=$((FAILED + 1))
}

# --- Inputs and references ------------------------------------------------------------

SPEC="$WORK/sweep.yaml"
sed "s/jobs: 5000,/jobs: $SWEEP_JOBS,/" examples/small-sweep.yaml >"$SPEC"
grep -q "jobs: $SWEEP_JOBS," "$SPEC" || { say "examples/small-sweep.yaml has no 'jobs: 5000,' to scale"; exit 2; }
say "references: the in-process sweep ($POINTS points of $SWEEP_JOBS jobs) and search ($TRIALS trials of $EPOCHS epochs)"
timeout "$WAIT" "$DUET" sweep "$SPEC" --points "$POINTS" --out "$WORK/reference.csv" --threads 2 >/dev/null 2>"$WORK/reference.err"
DATA="$WORK/data.csv"
timeout "$WAIT" "$DUET" sweep examples/small-sweep.yaml --out "$DATA" --threads 2 >/dev/null 2>"$WORK/data.err"
SEARCH="$WORK/search.yaml"
cat >"$SEARCH" <<EOF
space:
  layers: { int: [2, 3] }
  width: { choice: [64, 96] }
  lr: { loguniform: [0.001, 0.01] }
  batchSize: 8
  patience: 1000000
budget: { trials: $TRIALS }
algorithm: { name: random, maxEpochs: $EPOCHS }
seed: 5
EOF
timeout "$WAIT" "$DUET" search "$SEARCH" --data "$DATA" --out "$WORK/reference-search" --threads 2 >/dev/null 2>"$WORK/reference-search.err"
# trial/rung -> MAPE, one per line, sorted.
rungs() { jq -r '.trials[] | .trial as $t | .rungs[] | "\($t)/\(.rung) \(.mape)"' "$1/trials.json" | sort; }
rungs "$WORK/reference-search" >"$WORK/reference-rungs.txt"
RUNGS=$(grep -c '' "$WORK/reference-rungs.txt")

# --- One case -------------------------------------------------------------------------

CASE=""
BIND=""
ENDPOINT=""
INSECURE=()
NETNS=()
new_case() {
  CASE="$WORK/$1"
  mkdir -p "$CASE"
  BIND="ipc://$CASE/coordinator.sock"
  ENDPOINT=$BIND
  INSECURE=()
  NETNS=()
}

# The client of a case: a sweep or a search writing into $CASE/out(.csv).
client() {
  local name=$1 what=$2
  shift 2
  if [ "$what" = sweep ]; then
    "$@" "$DUET" sweep "$SPEC" --points "$POINTS" --out "$CASE/out.csv" --coordinator "$ENDPOINT" "${INSECURE[@]}" \
      >"$CASE/$name.out" 2>"$CASE/$name.err" &
  else
    "$@" "$DUET" search "$SEARCH" --data "$DATA" --out "$CASE/search" --coordinator "$ENDPOINT" "${INSECURE[@]}" \
      >"$CASE/$name.out" 2>"$CASE/$name.err" &
  fi
  LAST=$!
  PIDS+=("$LAST")
}

# verdict NAME WHAT CLIENT_STATUS NOTE: compares the output with the reference and
# the journal, and prints the row.
verdict() {
  local name=$1 what=$2 status=$3 note=$4 lost dup jlost jdup same
  if [ "$what" = sweep ]; then
    [ -f "$CASE/out.csv" ] || : >"$CASE/out.csv"
    lost=$(comm -23 <(sort "$WORK/reference.csv") <(sort -u "$CASE/out.csv") | grep -c '' || true)
    dup=$(sort "$CASE/out.csv" | uniq -d | grep -c '' || true)
    read -r jlost jdup < <(journal_counts sweep-point spec_hash "$POINTS") || { jlost=1 jdup=0 note="$note; journal unreadable"; }
    cmp -s "$WORK/reference.csv" "$CASE/out.csv" && same=1 || same=0
  else
    if [ -f "$CASE/search/trials.json" ]; then rungs "$CASE/search" >"$CASE/rungs.txt"; else : >"$CASE/rungs.txt"; fi
    lost=$(comm -23 "$WORK/reference-rungs.txt" <(sort -u "$CASE/rungs.txt") | grep -c '' || true)
    dup=$(cut -d' ' -f1 "$CASE/rungs.txt" | uniq -d | grep -c '' || true)
    read -r jlost jdup < <(journal_counts train-trial label "$RUNGS") || { jlost=1 jdup=0 note="$note; journal unreadable"; }
    cmp -s "$WORK/reference-rungs.txt" "$CASE/rungs.txt" && same=1 || same=0
  fi
  lost=$((lost + jlost))
  dup=$((dup + jdup))
  local result=PASS
  if [ "$status" -ne 0 ] || [ "$lost" -ne 0 ] || [ "$dup" -ne 0 ] || [ "$same" -ne 1 ]; then result=FAIL; fi
  [ "$status" -eq 0 ] || note="$note; client exit $status"
  [ "$same" -eq 1 ] || note="$note; output differs from the reference"
  [ "$jdup" -eq 0 ] || note="$note; $jdup extra results in the journal"
  row "$name" "$lost" "$dup" "$result" "$note"
}

# teardown: kills the case's processes.
teardown() {
  local pid
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# fault_case WHAT VICTIM PERCENT: one sweep or search, VICTIM (worker, coordinator,
# client) killed with SIGKILL when PERCENT of its tasks are done (0: while the first
# tasks run, none done yet).
fault_case() {
  local what=$1 victim=$2 percent=$3 name total at note
  name="$what-$victim-$percent%"
  [ "$percent" -eq 0 ] && name="$what-$victim-first-rung"
  [[ $name =~ $CASES ]] || return 0
  new_case "$name"
  if [ "$what" = sweep ]; then total=$POINTS; else total=$RUNGS; fi
  at=$(((total * percent + 99) / 100))
  coordinator coordinator || { row "$name" - - FAIL "the coordinator did not start"; teardown; return; }
  worker worker1
  worker worker2
  client client "$what"
  local client=$LAST
  if [ "$percent" -eq 0 ]; then
    # While the first rungs train: a worker holds one, none is done.
    local deadline=$((SECONDS + WAIT))
    until [ "$(busy_worker)" != 0 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
    if [ "$(done_tasks)" -ne 0 ]; then row "$name" - - FAIL "a rung finished before the fault"; teardown; return; fi
  elif ! wait_done "$at" "$total" "$client"; then
    row "$name" - - FAIL "could not place the fault"
    teardown
    return
  fi
  local before
  before=$(done_tasks)
  case $victim in
    worker)
      local pid
      pid=$(busy_worker)
      [ "$pid" != 0 ] || pid=$(status_json | jq '.workers[0].pid // 0')
      kill9 "$pid"
      worker worker3
      note="a busy worker killed at $before/$total done; a new one started"
      ;;
    coordinator)
      kill9 "$COORDINATOR"
      sleep 0.3
      coordinator coordinator2 || { row "$name" - - FAIL "the coordinator did not restart"; teardown; return; }
      note="coordinator killed at $before/$total done; restarted on its journal"
      ;;
    client)
      kill9 "$client"
      client client2 "$what"
      client=$LAST
      note="client killed at $before/$total done; the same command run again"
      ;;
  esac
  finish "$client" "$WAIT"
  verdict "$name" "$what" "$STATUS" "$note"
  teardown
}

# The client killed, and started again only once the run has finished without it.
late_client_case() {
  local what=$1 name total
  name="$what-client-back-after-end"
  [[ $name =~ $CASES ]] || return 0
  new_case "$name"
  if [ "$what" = sweep ]; then total=$POINTS; else total=$RUNGS; fi
  coordinator coordinator || { row "$name" - - FAIL "the coordinator did not start"; teardown; return; }
  worker worker1
  worker worker2
  client client "$what"
  local client=$LAST
  if ! wait_done $(((total + 1) / 2)) "$total" "$client"; then row "$name" - - FAIL "could not place the fault"; teardown; return; fi
  local before
  before=$(done_tasks)
  kill9 "$client"
  if [ "$what" = sweep ]; then
    # The run goes on without its client; wait until it has finished.
    local deadline=$((SECONDS + WAIT))
    until [ "$(status_json | jq -r '.runs[0].phase // ""')" = completed ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
  else
    # A search's rungs are submitted by the client: wait until those in flight are done.
    local deadline=$((SECONDS + WAIT))
    until [ "$(status_json | jq '[.runs[]? | select(.phase != "completed")] | length')" = 0 ] ||
      [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
  fi
  client client2 "$what"
  finish "$LAST" "$WAIT"
  verdict "$name" "$what" "$STATUS" "client killed at $before/$total done; run again after the coordinator finished its runs"
  teardown
}

# --- The partition (root, own namespaces) -----------------------------------------------

partition_case() {
  local name="sweep-worker-partitioned"
  [[ $name =~ $CASES ]] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
    row "$name" - - SKIP "needs root and iproute2 (network namespaces)"
    FAILED=$((FAILED - 1))
    return
  fi
  new_case "$name"
  local tag="dfm$$" ns_c ns_w
  ns_c="$tag-c"
  ns_w="$tag-w"
  if ! ip netns add "$ns_c" 2>"$CASE/netns.err"; then
    row "$name" - - SKIP "cannot create a network namespace: $(tr -d '\n' <"$CASE/netns.err")"
    FAILED=$((FAILED - 1))
    return
  fi
  NAMESPACES+=("$ns_c")
  ip netns add "$ns_w"
  NAMESPACES+=("$ns_w")
  if ! ip link add eth0 netns "$ns_c" type veth peer name eth0 netns "$ns_w" 2>"$CASE/netns.err"; then
    row "$name" - - SKIP "cannot create a veth pair: $(tr -d '\n' <"$CASE/netns.err")"
    FAILED=$((FAILED - 1))
    return
  fi
  ip -n "$ns_c" addr add 10.201.0.1/24 dev eth0
  ip -n "$ns_w" addr add 10.201.0.2/24 dev eth0
  local ns
  for ns in "$ns_c" "$ns_w"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
  BIND="tcp://10.201.0.1:5555"
  ENDPOINT=$BIND
  INSECURE=(--insecure)
  coordinator coordinator ip netns exec "$ns_c" || { row "$name" - - FAIL "the coordinator did not start"; teardown; return; }
  # worker1 across the link, worker2 beside the coordinator; the client beside it too.
  worker worker1 ip netns exec "$ns_w"
  local far=$LAST
  worker worker2 ip netns exec "$ns_c"
  NETNS=(ip netns exec "$ns_c")
  client client sweep ip netns exec "$ns_c"
  local client=$LAST
  if ! wait_done $(((POINTS + 3) / 4)) "$POINTS" "$client"; then row "$name" - - FAIL "could not place the fault"; teardown; return; fi
  # Cut the link while the far worker holds a task, for 4 s (its lease: 3 x 250 ms).
  local deadline=$((SECONDS + 60))
  until status_json | jq -e '[.workers[]? | select((.running | length) > 0)] | length == 2' >/dev/null ||
    [ "$SECONDS" -ge "$deadline" ]; do sleep 0.05; done
  local before
  before=$(done_tasks)
  ip -n "$ns_w" link set eth0 down
  sleep 4
  local lost_workers
  lost_workers=$(status_json | jq '.counters.lostWorkers')
  ip -n "$ns_w" link set eth0 up
  # It comes back: both workers are registered again (bounded wait).
  local back=no
  deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(status_json | jq '.workers | length' 2>/dev/null || echo 0)" = 2 ]; then back=yes; break; fi
    sleep 0.2
  done
  local alive=yes
  finish "$client" "$WAIT"
  kill -0 "$far" 2>/dev/null || alive=no
  [ "$back" = yes ] && [ "$alive" = yes ] || STATUS=98
  local rejoined
  rejoined=$(grep -cw 'connected' "$CASE/worker1.err" || true)
  verdict "$name" sweep "$STATUS" "worker cut off for 4 s at $before/$POINTS done (lost workers: $lost_workers), then back (registered again: $back; connected $rejoined times; still running: $alive)"
  teardown
}

# --- The matrix -----------------------------------------------------------------------

for victim in worker coordinator client; do
  for percent in 10 50 90; do fault_case sweep "$victim" "$percent"; done
done
late_client_case sweep
for victim in worker coordinator client; do
  for percent in 0 50; do fault_case search "$victim" "$percent"; done
done
late_client_case search
partition_case

printf '\n| case | lost | duplicated | result | what happened |\n|---|---|---|---|---|\n'
printf '%s\n' "${ROWS[@]}"
if [ "$FAILED" -ne 0 ]; then
  printf '\n%d case(s) FAILED\n' "$FAILED"
  exit 1
fi
printf '\nevery case PASSED\n'
