#!/usr/bin/env bash
# Runs the test suites that go through OpenBLAS once per CPU kernel family that
# OpenBLAS can pick, so that a test which holds only on this machine's CPU fails
# here, not on CI's next machine. OpenBLAS chooses its kernels (and so its rounding)
# by CPU; OPENBLAS_CORETYPE makes it use another family's, on any x86-64 CPU that
# has the instructions that family needs (families this CPU lacks are reported, not
# run).
#
#   scripts/blas-kernels.sh                      # after swift build --build-tests
#   KERNELS="Haswell Zen" scripts/blas-kernels.sh
#   FILTER="SurrogateTests" scripts/blas-kernels.sh
#
# A developer's check, not part of make test: CI runs on whatever CPU it gets, with
# the environment it has.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

KERNELS=${KERNELS:-"Prescott Nehalem Sandybridge Haswell Zen SkylakeX Cooperlake"}
FILTER=${FILTER:-"SurrogateTests|SearchesTests|PipelineTests|duetTests.SurrogateCLITests|duetTests.SearchCLITests"}
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)

# The instructions each family's kernels use, to skip those this CPU cannot run.
needs() {
  case "$1" in
    Prescott) echo pni ;;  # SSE3, as /proc/cpuinfo names it
    Nehalem) echo sse4_2 ;;
    Sandybridge) echo avx ;;
    Haswell | Zen) echo avx2 ;;
    SkylakeX) echo avx512f ;;
    Cooperlake) echo avx512_bf16 ;;
    *) echo "" ;;
  esac
}

failed=0
printf '%-12s %s\n' kernel result
for kernel in $KERNELS; do
  need=$(needs "$kernel")
  if [ -n "$need" ] && ! grep -qw "$need" <<<"$flags"; then
    printf '%-12s %s\n' "$kernel" "not run: this CPU lacks $need"
    continue
  fi
  log=$(mktemp)
  if OPENBLAS_CORETYPE=$kernel swift test --skip-build --filter "$FILTER" >"$log" 2>&1; then
    printf '%-12s %s\n' "$kernel" "$(grep -E 'Test run with' "$log" | tail -n 1 | sed 's/^[^T]*//')"
  else
    failed=1
    printf '%-12s %s\n' "$kernel" "FAILED:"
    grep -E 'recorded an issue|error:' "$log" | head -n 10 | sed 's/^/    /'
  fi
  rm -f "$log"
done
exit "$failed"
