#!/bin/sh
# A throw-away OpenSSH server on loopback, for the Linux family's SSH fetch tests.
#
#   deploy/lab/sshd.sh start DIR PORT [COMMAND]   # own host key, own client key, own authorized_keys
#   deploy/lab/sshd.sh stop DIR
#
# DIR gets: host_ed25519_key(.pub), client_ed25519(.pub) (the key a test logs in with),
# authorized_keys (the client key; with COMMAND as its forced command when given), known_hosts
# ("[127.0.0.1]:PORT" with the host key), sshd_config, sshd.pid, sshd.log. Key authentication only,
# loopback only, the current user only. Needs root to run sshd as a real server.
set -eu

die() { echo "sshd.sh: $*" >&2; exit 1; }

start() {
    dir=$1 port=$2 command=${3:-}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -x /usr/sbin/sshd ] || die "openssh-server is not installed (deploy/lab/install-test-deps.sh)"
    [ -f "$dir/host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519_key" >/dev/null
    [ -f "$dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_ed25519" >/dev/null
    if [ -n "$command" ]; then
        printf 'command="%s",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding %s\n' \
            "$command" "$(cat "$dir/client_ed25519.pub")" >"$dir/authorized_keys"
    else
        cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
    fi
    printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_ed25519_key.pub")" >"$dir/known_hosts"
    user=$(id -un)
    cat >"$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
StrictModes no
UsePAM no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
LogLevel VERBOSE
CONFIG
    mkdir -p /run/sshd
    chmod 755 /run/sshd
    /usr/sbin/sshd -t -f "$dir/sshd_config" || die "sshd refuses the configuration"
    /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >/dev/null 2>&1 || die "sshd failed to start: $(tail -n 3 "$dir/sshd.log")"
    tries=0
    until [ -s "$dir/sshd.pid" ]; do
        tries=$((tries + 1))
        [ $tries -le 100 ] || die "sshd did not start: $(tail -n 3 "$dir/sshd.log")"
        sleep 0.05
    done
}

stop() {
    dir=$1
    [ -s "$dir/sshd.pid" ] || exit 0
    pid=$(tr -d ' \n' <"$dir/sshd.pid")
    kill "$pid" 2>/dev/null || exit 0
    tries=0
    while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
        sleep 0.05
    done
    rm -f "$dir/sshd.pid"
}

case "${1:-}" in
    start)
        if [ $# -lt 3 ] || [ $# -gt 4 ]; then die "usage: sshd.sh start DIR PORT [COMMAND]"; fi
        shift
        start "$@" ;;
    stop) [ $# -eq 2 ] || die "usage: sshd.sh stop DIR"; stop "$2" ;;
    *) die "usage: sshd.sh start DIR PORT [COMMAND] | stop DIR" ;;
esac
