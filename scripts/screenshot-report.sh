#!/bin/sh
# Render the drift report of the bundled sample organization and save a screenshot of it as
# docs/report.png (headless Chromium; deploy/lab/chromium.sh installs it when missing).
#
#   scripts/screenshot-report.sh [OUTPUT.png]
#
# Builds twelve weeks of history over a scratch copy of the sample (weekly passes through the
# pipeline, dated in the past, so the report's 12-week trend has something to show), then runs two
# passes with the CLI (the second after a few edits), renders `auditor report --format html`, and
# screenshots it at 1200x2000 with networking off.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
output=${1:-"$repo/docs/report.png"}
auditor=${AUDITOR:-"$repo/.venv/bin/auditor"}
[ -x "$auditor" ] || auditor=auditor

command -v chromium >/dev/null 2>&1 || sh "$repo/deploy/lab/chromium.sh" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# A week of drift, so the picture shows what the report is for: the sample as shipped, then a
# copy with a handful of admin edits (a targetAddress fixed, a connector deleted, a user renamed).
python=$(dirname "$auditor")/python
[ -x "$python" ] || python=python3
"$python" - "$work/org" <<'PY'
import shutil, sys
from importlib import resources
from pathlib import Path

org = Path(sys.argv[1])
sample = Path(str(resources.files("auditor.sample")))
shutil.copytree(sample, org, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md"))
config = org / "auditor.toml"
config.write_text(config.read_text(encoding="utf-8") + '\n[store]\nurl = "sqlite:///history.db"\n', encoding="utf-8")
PY

run() {
    status=0
    "$auditor" "$@" 2>"$work/auditor.log" || status=$?
    if [ "$status" -gt 1 ]; then  # exit 1 means "findings": the sample has them on purpose
        cat "$work/auditor.log" >&2
        echo "screenshot-report: auditor $1 failed (exit $status)" >&2
        exit 1
    fi
}

# Twelve earlier weeks: Dave's targetAddress was right until six weeks ago, then broke (the
# sample as shipped), so the trend shows a regression. Passes go through the pipeline itself
# (auditor.run.run_pass), dated in the past; the CLI has no way to date a pass and should not.
"$python" - "$work/org" <<'PY'
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.config import load_config
from auditor.run import run_pass

org = Path(sys.argv[1])
domain = org / "contoso-domain.ldf"
shipped = domain.read_bytes()
fixed = shipped.replace(b"targetAddress: SMTP:dave@contoso.com", b"targetAddress: SMTP:dave@pop.contoso.com")
assert fixed != shipped
now = datetime.now(UTC)
for weeks_ago in range(12, 0, -1):
    domain.write_bytes(fixed if weeks_ago > 6 else shipped)
    run_pass(load_config(org / "auditor.toml"), now=now - timedelta(weeks=weeks_ago, hours=1), with_diff=False)
domain.write_bytes(shipped)
PY
run check --once -c "$work/org/auditor.toml" --format json --output "$work/week1.json"
"$python" - "$work/org" <<'PY'
import sys
from pathlib import Path

org = Path(sys.argv[1])

def edit(name, change):
    path = org / name
    with path.open(encoding="utf-8", newline="") as handle:
        entries = handle.read().split("\r\n\r\n")
    kept = []
    for entry in entries:
        lines = []
        for line in entry.split("\r\n"):
            if line.startswith(" ") and lines:
                lines[-1] += line[1:]
            else:
                lines.append(line)
        changed = change(lines) if entry.strip() else lines
        if changed is not None:
            kept.append("\r\n".join(changed))
    path.write_text("\r\n\r\n".join(kept), encoding="utf-8", newline="")

def domain(lines):
    if lines[0] == "dn: CN=Dave Dunn,OU=POP3,DC=contoso,DC=com":
        return ["targetAddress: SMTP:dave@pop.contoso.com" if l.startswith("targetAddress:") else l for l in lines]
    if lines[0] == "dn: CN=Bob Brown,OU=POP3,DC=contoso,DC=com":
        return [l.replace("Bob Brown", "Robert Brown") if l.startswith(("dn:", "cn:")) else l for l in lines]
    return lines

def configuration(lines):
    return None if lines[0].startswith("dn: CN=To POP01,CN=Connections,") else lines

edit("contoso-domain.ldf", domain)
edit("contoso-configuration.ldf", configuration)
PY
run check --once -c "$work/org/auditor.toml" --format json --output "$work/week2.json"
run report -c "$work/org/auditor.toml" --format html --output "$work/report.html"

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
