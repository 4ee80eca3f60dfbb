# Sourced by serve-schemathesis.sh and serve-bench.sh: makes "$work" (removed on exit),
# starts `"$DUET" serve "$MODEL"` on a free loopback port and sets "$port"; a server
# that does not start stops the caller with status 1. The server gets SIGTERM on exit.
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  "$DUET" serve "$MODEL" --bind 127.0.0.1:0 2>"$work/server.log" &
  server_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/server.log" | head -n 1)
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/server.log" >&2
  echo "FAILED: duet serve did not start (or did not say where it listens)"
  exit 1
}
