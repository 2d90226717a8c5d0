#!/usr/bin/env bash
# The Samba AD DC lab directory for auditor's LDAP tests and benchmark.
#
# A real Active Directory over LDAP (paged results, objectGUID, AD error strings, referrals,
# StartTLS/LDAPS) on loopback, with the Exchange 2003 attributes and classes auditor reads added
# to its schema. See docs/lab-notes (team notebook) for why each option is here.
#
#   samba.sh install                 apt packages (no system service is started)
#   samba.sh provision DIR           a fresh DC for CONTOSO.COM (DC=contoso,DC=com) in DIR
#   samba.sh start DIR               run it in the background; wait until 636 answers
#   samba.sh stop DIR                stop it (SIGTERM, then SIGKILL)
#   samba.sh schema DIR              add the Exchange 2003 schema (DC must be running)
#   samba.sh load DIR LDIF...        add the entries of ldifde-style exports (DC must be running)
#   samba.sh relocate DIR            rewrite paths in DIR/etc/smb.conf after `cp -a` of a DC folder
#   samba.sh env DIR                 print the connection facts (URL, bind DN, password, CA file)
#
# Root is required (Samba refuses to run unprivileged). The LDAP ports are fixed (389/636/3268/3269):
# if something else listens there, `start` fails saying so; `unshare --net` isolates a DC if needed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REALM="CONTOSO.COM"
DOMAIN="CONTOSO"
ADMIN_PASSWORD="${LAB_ADMIN_PASSWORD:-Lab-Adm1n-Passw0rd}"
PYTHON="${LAB_PYTHON:-$HERE/../../.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="python3"
PACKAGES=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind python3-samba
          ldb-tools ldap-utils)

die() { echo "samba.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "root is required (Samba's AD DC does not run unprivileged)"; }
absdir() { mkdir -p "$1" && (cd "$1" && pwd); }

cmd_install() {
    need_root
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { echo "samba.sh: already installed"; return 0; }
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    trap '[ "$created" = 1 ] && rm -f "$policy"' RETURN
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
            || die "apt-get install ${missing[*]} failed"
    fi
    [ -d /usr/share/samba/setup ] || die "/usr/share/samba/setup missing (samba-ad-provision not installed?)"
    echo "samba.sh: installed ${missing[*]}"
}

write_conf() {
    # Keep only [global] and set the lab options; paths point into DIR.
    local dir="$1" conf="$1/etc/smb.conf"
    python3 - "$conf" "$dir" <<'PY'
import re, sys
conf, d = sys.argv[1], sys.argv[2]
text = open(conf).read()
glob = text.split("[global]", 1)[1]
glob = re.split(r"^\s*\[", glob, flags=re.M)[0]
drop = ("server services", "log file", "pid directory", "ntp signd socket directory", "winbindd socket directory",
        "ldap server require strong auth", "dsdb:schema update allowed", "disable netbios", "ldb:nosync",
        "tls enabled", "tls keyfile", "tls certfile", "tls cafile", "lock directory", "state directory",
        "cache directory", "private dir", "binddns dir", "interfaces", "bind interfaces only")
lines = [l for l in glob.splitlines() if l.strip() and l.split("=")[0].strip().lower() not in drop]
lines += [
    f"\tprivate dir = {d}/private", f"\tbinddns dir = {d}/bind-dns", f"\tlock directory = {d}",
    f"\tstate directory = {d}/state", f"\tcache directory = {d}/cache",
    "\tserver services = ldap", f"\tlog file = {d}/log.samba", f"\tpid directory = {d}/run",
    f"\tntp signd socket directory = {d}/run/ntp_signd", f"\twinbindd socket directory = {d}/run/winbindd",
    "\tldap server require strong auth = no", "\tdsdb:schema update allowed = true",
    "\tdisable netbios = yes", "\tldb:nosync = true", "\tinterfaces = lo", "\tbind interfaces only = yes",
    "\ttls enabled = yes", f"\ttls keyfile = {d}/tls/server.key", f"\ttls certfile = {d}/tls/server.pem",
    f"\ttls cafile = {d}/tls/ca.pem",
]
open(conf, "w").write("[global]\n" + "\n".join(lines) + "\n")
PY
}

make_tls() {
    # A lab CA and a server certificate valid for the names tests connect to (127.0.0.1, localhost,
    # dc1.contoso.com): Samba's self-signed one names only dc1.contoso.com, which a verifying client
    # connecting to 127.0.0.1 must reject.
    local tls="$1/tls"
    mkdir -p "$tls"
    [ -s "$tls/server.pem" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=auditor lab CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.contoso.com" \
        -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:dc1.contoso.com,DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' \
        >"$tls/ext.cnf"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 3650 -extfile "$tls/ext.cnf" -out "$tls/server.pem" 2>/dev/null
    chmod 600 "$tls/server.key" "$tls/ca.key"
}

cmd_provision() {
    need_root
    local dir; dir="$(absdir "$1")"
    [ -e "$dir/etc/smb.conf" ] && die "$dir already holds a provisioned DC"
    command -v samba-tool >/dev/null || die "samba-tool not found: run '$0 install' first"
    samba-tool domain provision --targetdir="$dir" --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
        --dns-backend=NONE --use-rfc2307 --adminpass="$ADMIN_PASSWORD" --host-name=dc1 \
        --option="netbios name=DC1" --host-ip=127.0.0.1 --option="interfaces=lo" \
        --option="bind interfaces only=yes" --backend-store=mdb >"$dir/provision.log" 2>&1 \
        || { tail -n 20 "$dir/provision.log" >&2; die "provision failed (see $dir/provision.log)"; }
    mkdir -p "$dir/run" "$dir/state" "$dir/cache"
    make_tls "$dir"
    write_conf "$dir"
    echo "samba.sh: provisioned $REALM in $dir"
}

cmd_relocate() {
    local dir; dir="$(absdir "$1")"
    [ -e "$dir/etc/smb.conf" ] || die "$dir holds no provisioned DC"
    rm -f "$dir/run/samba.pid" "$dir/samba.pid"
    write_conf "$dir"
}

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

pid_of() { [ -s "$1/samba.pid" ] && cat "$1/samba.pid"; }

running() { local pid; pid="$(pid_of "$1")" && kill -0 "$pid" 2>/dev/null; }

cmd_start() {
    need_root
    local dir; dir="$(absdir "$1")"
    [ -e "$dir/etc/smb.conf" ] || die "$dir holds no provisioned DC (run '$0 provision $dir')"
    running "$dir" && { echo "samba.sh: already running (pid $(pid_of "$dir"))"; return 0; }
    for port in 389 636 3268 3269; do
        port_in_use "$port" && die "port $port is already in use (Samba's LDAP ports are fixed; stop the other server or use 'unshare --net')"
    done
    # The conf may come from a copied folder: make sure its paths are this folder's.
    grep -q "private dir = $dir/private\$" "$dir/etc/smb.conf" || write_conf "$dir"
    rm -rf "$dir/run"; mkdir -p "$dir/run"
    setsid samba -s "$dir/etc/smb.conf" -i -M single --maximum-runtime=14400 >"$dir/samba.out" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/samba.pid"
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/samba.out" >&2; die "samba exited during start (see $dir/samba.out)"; }
        if (exec 3<>/dev/tcp/127.0.0.1/636) 2>/dev/null; then
            echo "samba.sh: running (pid $pid), ldaps://127.0.0.1:636"
            return 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    die "samba did not answer on 636 within 30 s (see $dir/samba.out)"
}

cmd_stop() {
    local dir; dir="$(absdir "$1")"
    local pid; pid="$(pid_of "$dir")" || { echo "samba.sh: not running"; return 0; }
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    rm -f "$dir/samba.pid"
    echo "samba.sh: stopped"
}

lab_args() {
    local dir="$1"
    echo --url ldaps://127.0.0.1:636 --bind-dn "CN=Administrator,CN=Users,DC=contoso,DC=com" --ca-file "$dir/tls/ca.pem"
}

cmd_schema() {
    local dir; dir="$(absdir "$1")"
    running "$dir" || die "the DC in $dir is not running (run '$0 start $dir')"
    LAB_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$PYTHON" "$HERE/exchange_schema.py" $(lab_args "$dir")
}

cmd_load() {
    local dir; dir="$(absdir "$1")"; shift
    [ $# -gt 0 ] || die "usage: $0 load DIR LDIF..."
    running "$dir" || die "the DC in $dir is not running (run '$0 start $dir')"
    LAB_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$PYTHON" "$HERE/load_org.py" $(lab_args "$dir") "$@"
}

cmd_env() {
    local dir; dir="$(absdir "$1")"
    echo "LAB_URL=ldaps://127.0.0.1:636"
    echo "LAB_BIND_DN=CN=Administrator,CN=Users,DC=contoso,DC=com"
    echo "LAB_ADMIN_PASSWORD=$ADMIN_PASSWORD"
    echo "LAB_CA_FILE=$dir/tls/ca.pem"
}

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
sub="$1"; shift
case "$sub" in
    install) cmd_install ;;
    provision|start|stop|schema|relocate|env) [ $# -ge 1 ] || usage; "cmd_$sub" "$1" ;;
    load) [ $# -ge 2 ] || usage; cmd_load "$@" ;;
    *) usage ;;
esac
