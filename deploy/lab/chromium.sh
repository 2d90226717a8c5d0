#!/bin/sh
# Install Debian's headless-capable Chromium if it is not there yet (used by the report
# rendering tests and scripts/screenshot-report.sh). Idempotent; needs root for apt.
set -eu

if command -v chromium >/dev/null 2>&1; then
    chromium --version 2>/dev/null || true
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Keep package maintainer scripts from starting services during install.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
fi
cleanup() { [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT

if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -q
fi
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
chromium --version
