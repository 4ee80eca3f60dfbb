#!/usr/bin/env bash
# Installs what building (and, with --with-tests, testing) Duet needs on a Debian
# machine, and says so. Debian packages are listed one per line ('#' starts a
# comment): scripts/apt-packages.txt for building and running (the system libraries
# the package's system-library targets wrap go there), scripts/apt-packages-test.txt
# for what only the test suite uses; --with-tests also installs schemathesis with pip.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lists=("$here/apt-packages.txt")
case "${1:-}" in
  "") ;;
  --with-tests) lists+=("$here/apt-packages-test.txt") ;;
  *) echo "install-deps: unknown option '$1' (expected nothing or --with-tests)" >&2; exit 64 ;;
esac

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    echo "install-deps: no Swift toolchain found (need Swift 6; see https://www.swift.org/install/linux/)" >&2
    exit 1
  fi
fi

mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
else
  echo "install-deps: Debian packages present (${wanted[*]:-none needed})"
fi
if [ "${1:-}" = --with-tests ]; then
  # scripts/serve-schemathesis.sh checks `duet serve` against docs/openapi.yaml.
  if python3 -c 'import schemathesis' 2>/dev/null; then
    echo "install-deps: schemathesis present"
  elif python3 -m pip install --quiet schemathesis; then
    echo "install-deps: installed schemathesis (pip)"
  else
    echo "install-deps: could not install schemathesis with pip (PyPI unreachable?); serve-schemathesis.sh will skip" >&2
  fi
fi
echo "install-deps: $(swift --version 2>/dev/null | head -n 1)"
