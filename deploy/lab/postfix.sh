#!/bin/sh
# A throw-away Postfix instance on loopback, for the Linux family's tests (the open-relay cross-check).
#
#   deploy/lab/postfix.sh start DIR   # DIR holds main.cf and master.cf; queue and data go under DIR
#   deploy/lab/postfix.sh stop DIR    # stop the instance started from DIR (DIR is left to the caller)
#
# main.cf must name DIR's queue_directory and data_directory, listen on loopback only and route
# nothing off the machine (default_transport = error): the caller writes it, this script only
# creates the queue folder and starts/stops Postfix's master with `postfix -c DIR`. Postfix logs to
# DIR/maillog (maillog_file), since a test machine has no syslog. Needs root, as Postfix does.
set -eu

die() { echo "postfix.sh: $*" >&2; exit 1; }

start() {
    dir=$(cd "$1" && pwd)
    if [ ! -f "$dir/main.cf" ] || [ ! -f "$dir/master.cf" ]; then die "$dir needs main.cf and master.cf"; fi
    command -v postfix >/dev/null 2>&1 || die "postfix is not installed (deploy/lab/install-test-deps.sh)"
    queue=$(postconf -c "$dir" -h queue_directory)
    case $queue in "$dir"/*) ;; *) die "queue_directory must be inside $dir, not $queue" ;; esac
    mkdir -p "$queue"
    chmod 755 "$dir" "$queue"
    postfix -c "$dir" start </dev/null >"$dir/start.log" 2>&1 || die "postfix start failed: $(tail -n 3 "$dir/maillog" 2>/dev/null)"
    pidfile="$queue/pid/master.pid"
    tries=0
    until [ -s "$pidfile" ]; do
        tries=$((tries + 1))
        [ $tries -le 100 ] || die "postfix did not start: $(tail -n 3 "$dir/maillog" 2>/dev/null)"
        sleep 0.1
    done
}

stop() {
    dir=$(cd "$1" && pwd)
    queue=$(postconf -c "$dir" -h queue_directory)
    pidfile="$queue/pid/master.pid"
    [ -s "$pidfile" ] || exit 0
    pid=$(tr -d ' \n' <"$pidfile")
    postfix -c "$dir" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    tries=0
    while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
        sleep 0.1
    done
}

case "${1:-}" in
    start) [ $# -eq 2 ] || die "usage: postfix.sh start DIR"; start "$2" ;;
    stop) [ $# -eq 2 ] || die "usage: postfix.sh stop DIR"; stop "$2" ;;
    *) die "usage: postfix.sh start DIR | stop DIR" ;;
esac
