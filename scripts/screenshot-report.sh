#!/bin/sh
# Render the drift report of the bundled sample organization and save a screenshot of it as
# docs/report.png (headless Chromium; deploy/lab/chromium.sh installs it when missing).
#
#   scripts/screenshot-report.sh [OUTPUT.png]
#
# Runs one pass over the sample (`auditor check --once --sample`) in a scratch folder, renders
# `auditor report --sample --format html`, and screenshots it at 1200x2000 with networking off.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
output=${1:-"$repo/docs/report.png"}
auditor=${AUDITOR:-"$repo/.venv/bin/auditor"}
[ -x "$auditor" ] || auditor=auditor

command -v chromium >/dev/null 2>&1 || sh "$repo/deploy/lab/chromium.sh" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# Exit 1 means "findings at or above fail_on": the sample has them on purpose.
status=0
"$auditor" check --once --sample --format json --output check.json 2>check.log || status=$?
if [ "$status" -gt 1 ]; then
    cat check.log >&2
    echo "screenshot-report: auditor check failed (exit $status)" >&2
    exit 1
fi
"$auditor" report --sample --format html --output report.html 2>report.log || {
    cat report.log >&2
    echo "screenshot-report: auditor report failed" >&2
    exit 1
}

mkdir -p "$(dirname "$output")"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --window-size=1200,2000 \
    --screenshot="$work/report.png" "file://$work/report.html" >/dev/null 2>"$work/chromium.log" || {
    cat "$work/chromium.log" >&2
    exit 1
}
cp "$work/report.png" "$output"
echo "wrote $output"
