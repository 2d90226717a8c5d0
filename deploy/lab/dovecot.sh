#!/bin/sh
# A throw-away Dovecot on this machine, for the Linux family's tests: the SASL backend of the lab
# Postfix and the source of `doveadm user '*'`. It serves no mail protocol (protocols = none).
#
#   deploy/lab/dovecot.sh start CONF   # CONF is a dovecot.conf whose base_dir, state_dir and log_path are the caller's
#   deploy/lab/dovecot.sh stop CONF    # stop the Dovecot started with CONF
set -eu

die() { echo "dovecot.sh: $*" >&2; exit 1; }

base_dir() { doveconf -c "$1" -h base_dir; }

start() {
    conf=$1
    [ -f "$conf" ] || die "no such file: $conf"
    command -v dovecot >/dev/null 2>&1 || die "dovecot is not installed (deploy/lab/install-test-deps.sh)"
    dovecot -c "$conf" </dev/null >/dev/null 2>&1 || die "dovecot failed to start: $(tail -n 3 "$(doveconf -c "$conf" -h log_path)" 2>/dev/null)"
    tries=0
    until [ -S "$(base_dir "$conf")/auth-userdb" ]; do
        tries=$((tries + 1))
        [ $tries -le 100 ] || die "dovecot did not start"
        sleep 0.05
    done
}

stop() {
    conf=$1
    pidfile="$(base_dir "$conf")/master.pid"
    [ -s "$pidfile" ] || exit 0
    pid=$(tr -d ' \n' <"$pidfile")
    kill "$pid" 2>/dev/null || exit 0
    tries=0
    while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
        sleep 0.05
    done
}

case "${1:-}" in
    start) [ $# -eq 2 ] || die "usage: dovecot.sh start CONF"; start "$2" ;;
    stop) [ $# -eq 2 ] || die "usage: dovecot.sh stop CONF"; stop "$2" ;;
    *) die "usage: dovecot.sh start CONF | stop CONF" ;;
esac
