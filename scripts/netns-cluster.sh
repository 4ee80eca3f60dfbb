#!/usr/bin/env bash
# A Duet cluster across separate network stacks: the coordinator, two workers and
# the client each in their own Linux network namespace, joined by a bridge that lives
# in a fifth namespace, with addresses in 10.200.0.0/24 inside the namespaces only.
# Every process has its own CURVE key pair and the coordinator admits them through
# its allow-list, as on real hosts. A small sweep runs through the cluster and must
# equal the in-process sweep byte for byte. Everything is removed on exit.
#
#   scripts/netns-cluster.sh            # needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)
#   DUET=.build/release/duet scripts/netns-cluster.sh
#
# Without the privileges to create namespaces it prints "SKIPPED: ..." and exits 0.
# It sends traffic only to the namespaces it creates.
set -euo pipefail

cd "$(dirname "$0")/.."
POINTS=${POINTS:-12}
SPEC=${SPEC:-examples/small-sweep.yaml}
PORT=5555
COORD_IP=10.200.0.1

say() { printf 'netns-cluster: %s\n' "$*" >&2; }
skip() { printf 'SKIPPED: %s\n' "$*"; exit 0; }
fail() { printf 'FAILED: %s\n' "$*"; exit 1; }

# --- Can we? ------------------------------------------------------------------------
[ "$(uname -s)" = Linux ] || skip "network namespaces need Linux (this is $(uname -s))"
command -v ip >/dev/null 2>&1 || skip "the ip command (iproute2) is not installed"
[ "$(id -u)" = 0 ] || skip "creating network namespaces needs root (run with sudo, or as root in CI)"

DUET=${DUET:-}
if [ -z "$DUET" ]; then
  for candidate in .build/debug/duet .build/release/duet; do
    if [ -x "$candidate" ]; then DUET=$candidate; break; fi
  done
fi
if [ -z "$DUET" ] || [ ! -x "$DUET" ]; then fail "no duet binary: build first (swift build) or set DUET=/path/to/duet"; fi
DUET=$(cd "$(dirname "$DUET")" && pwd)/$(basename "$DUET")

TAG="duet$$"
NS_SWITCH="$TAG-sw"
NS_COORD="$TAG-coord"
NS_W1="$TAG-w1"
NS_W2="$TAG-w2"
NS_CLIENT="$TAG-client"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/duet-netns.XXXXXX")
PIDS=()
CREATED=()

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for ns in "${CREATED[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] && [ -d "$WORK" ]; then
    for log in "$WORK"/*.log; do [ -f "$log" ] && { say "--- $(basename "$log")"; tail -n 20 "$log" >&2; }; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! ip netns add "$NS_SWITCH" 2>"$WORK/netns.err"; then
  skip "cannot create a network namespace: $(tr -d '\n' <"$WORK/netns.err") (needs CAP_SYS_ADMIN and CAP_NET_ADMIN; containers usually lack them)"
fi
CREATED+=("$NS_SWITCH")

# --- The network: a bridge in its own namespace, one veth pair per host ---------------
if ! ip -n "$NS_SWITCH" link add br0 type bridge 2>"$WORK/netns.err"; then
  skip "cannot create a bridge in a network namespace: $(tr -d '\n' <"$WORK/netns.err")"
fi
ip -n "$NS_SWITCH" link set br0 up
ip -n "$NS_SWITCH" link set lo up
host_ip=1
for ns in "$NS_COORD" "$NS_W1" "$NS_W2" "$NS_CLIENT"; do
  ip netns add "$ns"
  CREATED+=("$ns")
  if ! ip link add eth0 netns "$ns" type veth peer name "p$host_ip" netns "$NS_SWITCH" 2>"$WORK/netns.err"; then
    skip "cannot create a veth pair: $(tr -d '\n' <"$WORK/netns.err")"
  fi
  ip -n "$NS_SWITCH" link set "p$host_ip" master br0
  ip -n "$NS_SWITCH" link set "p$host_ip" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.200.0.$host_ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  host_ip=$((host_ip + 1))
done
say "namespaces: $NS_COORD (10.200.0.1), $NS_W1 (10.200.0.2), $NS_W2 (10.200.0.3), $NS_CLIENT (10.200.0.4), bridged in $NS_SWITCH"
for _ in $(seq 50); do
  ip netns exec "$NS_CLIENT" ping -c1 -W1 "$COORD_IP" >/dev/null 2>&1 && break
  sleep 0.1
done

# --- Keys: one pair per process; the coordinator admits the workers and the client ---
KEYS="$WORK/keys"
mkdir -p "$KEYS/coordinator/allowed"
"$DUET" keys generate --out "$KEYS/coordinator" --name coordinator >/dev/null
for name in worker1 worker2 client; do
  "$DUET" keys generate --out "$KEYS/$name" --name "$name" >/dev/null
  cp "$KEYS/coordinator/coordinator.pub" "$KEYS/$name/"
  cp "$KEYS/$name/$name.pub" "$KEYS/coordinator/allowed/"
done

# --- The cluster ----------------------------------------------------------------------
ENDPOINT="tcp://$COORD_IP:$PORT"
ip netns exec "$NS_COORD" "$DUET" coordinator --bind "$ENDPOINT" --journal "$WORK/journal.sqlite" \
  --keys "$KEYS/coordinator" >"$WORK/coordinator.out" 2>"$WORK/coordinator.log" &
PIDS+=($!)
for _ in $(seq 150); do
  grep -q '^listening on' "$WORK/coordinator.out" 2>/dev/null && break
  kill -0 "${PIDS[0]}" 2>/dev/null || fail "the coordinator exited: $(tail -n 5 "$WORK/coordinator.log")"
  sleep 0.1
done
grep -q '^listening on' "$WORK/coordinator.out" || fail "the coordinator did not start listening"
say "$(head -n1 "$WORK/coordinator.out") in $NS_COORD"
for w in 1 2; do
  ns_var="NS_W$w"
  ip netns exec "${!ns_var}" "$DUET" worker --coordinator "$ENDPOINT" --slots 1 --keys "$KEYS/worker$w" --verbose \
    2>"$WORK/worker$w.log" &
  PIDS+=($!)
done

# The two workers join over the bridge.
joined=0
for _ in $(seq 100); do
  joined=$(ip netns exec "$NS_CLIENT" "$DUET" status --coordinator "$ENDPOINT" --keys "$KEYS/client" --json 2>/dev/null |
    grep -o '"host":' | wc -l || true)
  [ "$joined" -ge 2 ] && break
  sleep 0.1
done
[ "$joined" -ge 2 ] || fail "the workers did not join (saw $joined)"
say "2 workers joined"

# --- The sweep, through the cluster and in-process ------------------------------------
ip netns exec "$NS_CLIENT" timeout 300 "$DUET" sweep "$SPEC" --points "$POINTS" --out "$WORK/cluster.csv" \
  --coordinator "$ENDPOINT" --keys "$KEYS/client" 2>"$WORK/client.log" >"$WORK/client.out" ||
  fail "the cluster sweep failed: $(tail -n 5 "$WORK/client.log")"
"$DUET" sweep "$SPEC" --points "$POINTS" --out "$WORK/local.csv" >/dev/null 2>"$WORK/local.log" ||
  fail "the in-process sweep failed"
cmp -s "$WORK/cluster.csv" "$WORK/local.csv" || fail "the cluster's dataset differs from the in-process one"

say "$(grep -c '' "$WORK/cluster.csv") lines in the dataset, identical to the in-process sweep"
# Both workers did some of the work.
for w in 1 2; do
  ran=$(grep -c 'task started' "$WORK/worker$w.log" || true)
  [ "$ran" -ge 1 ] || fail "worker $w ran no task"
  say "worker $w ran $ran tasks"
done
ip netns exec "$NS_CLIENT" "$DUET" status --coordinator "$ENDPOINT" --keys "$KEYS/client" 2>/dev/null | sed 's/^/  /' >&2

# A key that is not on the allow-list gets nowhere.
"$DUET" keys generate --out "$KEYS/stranger" --name stranger >/dev/null
cp "$KEYS/coordinator/coordinator.pub" "$KEYS/stranger/"
if ip netns exec "$NS_CLIENT" "$DUET" status --coordinator "$ENDPOINT" --keys "$KEYS/stranger" --timeout 2 >/dev/null 2>&1; then
  fail "a key that is not on the allow-list got an answer"
fi
say "a key not on the allow-list is refused"
echo "PASSED: coordinator, 2 workers and a client in separate network namespaces with CURVE; $POINTS points identical to the in-process sweep"
