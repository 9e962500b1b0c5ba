#!/usr/bin/env bash
# Regenerate docs/data-docs.png, the README's picture of the data docs: load the bundled sample
# into a throw-away embedded PostgreSQL, build the site, and photograph its index page with
# headless Chromium (Debian's `chromium`). Usage: scripts/docs_screenshot.sh [path/to/venv]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(cd "${1:-.venv}/bin" && pwd)"
out="$(pwd)/docs/data-docs.png"
work="$(mktemp -d)"
trap '(cd "$work" && PLAYSTUDIO_HOME="$work/home" "$bin/playstudio-luigi" db stop >/dev/null 2>&1 || true); rm -rf "$work"' EXIT

cd "$work"
export PLAYSTUDIO_HOME="$work/home"
unset PLAYSTUDIO_DSN
"$bin/playstudio-luigi" demo --workers 2 >/dev/null
"$bin/playstudio-luigi" docs --out "$work/site"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --window-size=1280,880 \
    --screenshot="$out" "file://$work/site/index.html" 2>/dev/null
echo "wrote $out"
