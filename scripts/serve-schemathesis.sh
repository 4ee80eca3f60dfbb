#!/usr/bin/env bash
# Checks a running `duet serve` against its OpenAPI document, docs/openapi.yaml, with
# schemathesis (PyPI): it starts the server on a free loopback port with a small model
# from the repository, lets schemathesis generate requests for every route from the
# document (valid ones from the schemas and examples, and invalid ones), and fails
# when an answer is a server error (5xx), has a status, content type or body that the
# document does not describe, or when the server stops answering. A minute or two.
#
#   scripts/serve-schemathesis.sh                 # after `swift build`
#   DUET=.build/release/duet MAX_EXAMPLES=200 scripts/serve-schemathesis.sh
#
# When schemathesis is not installed it is installed with pip (`make test-deps`
# does that too); only when pip cannot reach PyPI does it print "SKIPPED: ..." and
# exit 0.
set -euo pipefail

cd "$(dirname "$0")/.."
DUET=${DUET:-.build/debug/duet}
MODEL=${MODEL:-Fuzz/corpus/model/small-model.json}
MAX_EXAMPLES=${MAX_EXAMPLES:-60}
SEED=${SEED:-1}

say() { printf 'serve-schemathesis: %s\n' "$*" >&2; }
skip() { printf 'SKIPPED: %s\n' "$*"; exit 0; }
fail() { printf 'FAILED: %s\n' "$*"; exit 1; }

[ -x "$DUET" ] || fail "$DUET is not built (swift build first, or set DUET)"

if ! python3 -c 'import schemathesis' 2>/dev/null; then
  say "schemathesis is not installed; installing it with pip"
  if ! python3 -m pip install --quiet schemathesis; then
    python3 -c 'import schemathesis' 2>/dev/null \
      || skip "schemathesis is not installed and pip could not install it (is PyPI reachable?)"
  fi
fi

# shellcheck source=scripts/serve-start.sh
. scripts/serve-start.sh

start_server
say "duet serve on 127.0.0.1:$port (model $MODEL); schemathesis, $MAX_EXAMPLES examples per operation, seed $SEED"

# Every check but positive_data_acceptance: the document's Configuration schema says
# what a configuration looks like, not every cross-key rule (a stable load, a batch
# mean the dist admits), so a schema-valid body may rightly get 400.
status=0
python3 -m schemathesis.cli run docs/openapi.yaml --url "http://127.0.0.1:$port" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" --no-color || status=$?

kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "duet serve died during the run"; }
[ "$status" -eq 0 ] || fail "schemathesis found answers that docs/openapi.yaml does not describe (above)"
echo "serve-schemathesis: OK, every answer matches docs/openapi.yaml"
