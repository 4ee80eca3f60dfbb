#!/usr/bin/env bash
# Renders an HTML report to a PNG screenshot in headless Chromium:
#   scripts/render-report.sh REPORT.html OUT.png [WIDTH [HEIGHT]]
# Needs the Debian package `chromium` (`make test` installs it). The page must be
# self-contained: the browser runs without network access to anything but the file.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 4 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH [HEIGHT]]" >&2
  exit 64
fi
report="$1"
out="$2"
width="${3:-1280}"
height="${4:-6000}"

if [ ! -f "$report" ]; then
  echo "render-report: no such file: $report" >&2
  exit 66
fi
browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
done
if [ -z "$browser" ]; then
  echo "render-report: chromium is not installed (Debian: apt-get install chromium; make test installs it)" >&2
  exit 69
fi

abs_report="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
mkdir -p "$(dirname "$out")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
rm -f "$abs_out"
# A throwaway profile, so that runs in parallel do not share (or lock) one.
profile="$(mktemp -d "${TMPDIR:-/tmp}/render-report.XXXXXX")"
trap 'rm -rf "$profile"' EXIT

log="$profile/chromium.log"
if ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --hide-scrollbars --no-first-run --no-default-browser-check --disable-extensions \
    --user-data-dir="$profile" --window-size="$width,$height" \
    --screenshot="$abs_out" "file://$abs_report" >"$log" 2>&1; then
  echo "render-report: $browser failed on $report:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
if [ ! -s "$abs_out" ]; then
  echo "render-report: $browser wrote no screenshot to $out:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
echo "render-report: wrote $out (${width}x${height})"
