#!/bin/sh
# Install, in one apt transaction, every Debian package the test suite's real servers need:
# Samba AD DC (the directory), PostgreSQL (the large-estate store), Chromium (report rendering),
# Postfix, Dovecot and OpenSSH (the Linux POP3 host family: real postconf/postmap/doveconf output,
# the open-relay cross-check, the SSH fetch), shellcheck (the export script is linted by a test).
# Idempotent: installs only what is missing. Needs root (CI runs as root). Services are not
# started by the packages (policy-rc.d); the tests start their own throwaway servers.
set -eu

packages="samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind python3-samba
ldb-tools ldap-utils postgresql chromium fonts-dejavu-core
postfix dovecot-core dovecot-pop3d dovecot-imapd dovecot-ldap openssh-server openssh-client shellcheck"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
if [ -z "$missing" ]; then
    echo "lab packages: all installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "lab packages missing:$missing (run as root to install them)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "lab packages: installing$missing"
# Postfix asks how to configure itself: "No configuration" leaves /etc/postfix alone (tests use
# their own config folders). policy-rc.d above keeps every installed service from starting.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "lab packages: installed"
