#!/bin/sh
# Export the mail configuration of a Linux POP3 host (Postfix + Dovecot) for auditor.
#
#   sh export-linux.sh [-c POSTFIX_CONFIG_DIR] [-d DOVECOT_CONF] [-o FOLDER | -t]
#
#   -c DIR    Postfix configuration folder (postconf -c DIR; default: Postfix's own)
#   -d FILE   Dovecot configuration file (doveconf -c FILE; default: Dovecot's own)
#   -o FOLDER write the export folder there (default ./export-HOSTNAME); it is built in a
#             temporary folder beside it and renamed into place, so a reader never sees half of it
#   -t        write the export as a tar stream on standard output instead (what auditor's SSH
#             fetch asks for: ssh HOST sh -s -- -t < export-linux.sh)
#
# Files (all optional; see auditor's README, "A Linux POP3 host"): postconf-x.txt, postconf-n.txt,
# postconf-M.txt, postconf-Px.txt, maps/INDEX.tsv and maps/*, doveconf-n.txt, dovecot-ext/*,
# doveadm-users.txt, EXPORT-INFO.txt (export time in UTC, for max_age).
#
# Secrets never leave the host: bind_pw / password lines of ldap:, mysql:, pgsql: table configs,
# every value of smtp_sasl_password_maps, dnpass and SQL connect passwords of Dovecot's 2.3 args
# files become <redacted>; doveconf -n already hides passwords; passwd-file databases are never
# copied. Run it as root (or a user who can read the Postfix and Dovecot configuration).
set -eu

postfix_dir=""
dovecot_conf=""
out=""
tar_mode=""
usage() { echo "usage: export-linux.sh [-c POSTFIX_CONFIG_DIR] [-d DOVECOT_CONF] [-o FOLDER | -t]" >&2; exit 2; }
while getopts c:d:o:t opt; do
    case $opt in
        c) postfix_dir=$OPTARG ;;
        d) dovecot_conf=$OPTARG ;;
        o) out=$OPTARG ;;
        t) tar_mode=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
[ -z "$out" ] || [ -z "$tar_mode" ] || usage

umask 077
PATH=$PATH:/usr/sbin:/sbin
export PATH LC_ALL=C

host=$(hostname -f 2>/dev/null || hostname 2>/dev/null || uname -n)
if [ -z "$tar_mode" ]; then
    [ -n "$out" ] || out="./export-$host"
    parent=$(dirname "$out")
    [ -d "$parent" ] || { echo "export-linux.sh: folder $parent does not exist" >&2; exit 1; }
    work="$out.tmp.$$"
    rm -rf "$work"
    mkdir "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/auditor-export.XXXXXX")
fi
cleanup() { if [ -n "${work:-}" ] && [ -d "$work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

pc() { if [ -n "$postfix_dir" ]; then postconf -c "$postfix_dir" "$@"; else postconf "$@"; fi; }
pm() { if [ -n "$postfix_dir" ]; then postmap -c "$postfix_dir" "$@"; else postmap "$@"; fi; }
dc() { if [ -n "$dovecot_conf" ]; then doveconf -c "$dovecot_conf" "$@"; else doveconf "$@"; fi; }
da() { if [ -n "$dovecot_conf" ]; then doveadm -c "$dovecot_conf" "$@"; else doveadm "$@"; fi; }

# Run "$@" into FILE; on failure leave no FILE (a missing file is "not exported", never "empty").
capture() {
    file=$1
    shift
    if "$@" >"$work/$file.part" 2>/dev/null; then
        mv "$work/$file.part" "$work/$file"
    else
        rm -f "$work/$file.part"
        echo "export-linux.sh: '$*' failed; $file not exported" >&2
    fi
}

# A map's file name inside maps/: type_path with / and other odd characters as _.
map_file() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.@+,=-' '_'; }

redact_config() {
    # ldap_table(5) / mysql_table(5) / pgsql_table(5): a secret line and its continuation lines.
    awk '
        /^[ \t]/ { if (secret) next; print; next }
        { secret = 0 }
        /^[ \t]*(bind_pw|password|dnpass)[ \t]*=/ { sub(/=.*/, "= <redacted>"); secret = 1 }
        { print }
    ' "$1" | sed -e "s/password='[^']*'/password=<redacted>/g" -e 's/password=[^ '"'"'][^ ]*/password=<redacted>/g'
}

index_line() { printf '%s\t%s\n' "$1" "$2" >>"$work/maps/INDEX.tsv"; }

export_map() {
    ref=$1 secret_values=$2
    grep -F -x -q -e "$ref" "$work/maps/.seen" 2>/dev/null && return 0
    printf '%s\n' "$ref" >>"$work/maps/.seen"
    case $ref in
        /*)
            name="file$(map_file "$ref").list"
            if [ -f "$ref" ] && cp "$ref" "$work/maps/$name"; then index_line "$ref" "$name"; else index_line "$ref" -; fi
            return 0 ;;
    esac
    table=${ref#proxy:}
    type=${table%%:*}
    path=${table#*:}
    case $type in
        hash | btree | lmdb | cdb | dbm | sdbm | texthash)
            name="$(map_file "${type}_$path").txt"
            if pm -s "$type:$path" >"$work/maps/$name.part" 2>/dev/null; then
                if [ "$secret_values" = 1 ]; then
                    awk -F '\t' '{ print $1 "\t<redacted>" }' "$work/maps/$name.part" >"$work/maps/$name"
                    rm -f "$work/maps/$name.part"
                else
                    mv "$work/maps/$name.part" "$work/maps/$name"
                fi
                index_line "$ref" "$name"
            else
                rm -f "$work/maps/$name.part"
                index_line "$ref" -
            fi ;;
        cidr | regexp | pcre)
            name="$(map_file "${type}_$path").src"
            if [ "$secret_values" = 0 ] && [ -f "$path" ] && cp "$path" "$work/maps/$name"; then
                index_line "$ref" "$name"
            else
                index_line "$ref" -
            fi ;;
        ldap | mysql | pgsql | sqlite | memcache)
            name="$(map_file "${type}_$path").cf"
            if [ -f "$path" ] && redact_config "$path" >"$work/maps/$name"; then
                index_line "$ref" "$name"
            else
                rm -f "$work/maps/$name"
                index_line "$ref" -
            fi ;;
        inline | static) ;;
        *) index_line "$ref" - ;;
    esac
}

# Table references (type:name, /file) in the values of the parameters auditor evaluates.
references() {
    tr ',\t' '  ' | tr -s ' ' '\n' | awk '
        {
            opened = gsub(/\{/, "{"); closed = gsub(/\}/, "}")
            outside = (depth == 0 && opened == 0)
            depth += opened - closed
            if (!outside) next
        }
        /^static:/ { next }
        /^\/[^ ]/ { print; next }
        /^[a-z0-9_]+:[^ ]/ { print }
    '
}

# The values of the named parameters, from postconf -x and from the per-service overrides.
values_of() {
    awk -v wanted="$1" '
        BEGIN { n = split(wanted, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
        {
            name = $1
            if (FILENAME ~ /postconf-Px[.]txt$/) sub(/^.*\//, "", name)
            if (name in want) { sub(/^[^=]*= ?/, ""); print }
        }
    ' "$work/postconf-x.txt" ${2:+"$2"}
}

postfix_maps() {
    params="transport_maps relay_domains mydestination virtual_alias_maps virtual_alias_domains
virtual_mailbox_maps virtual_mailbox_domains relay_recipient_maps local_recipient_maps mynetworks
sender_dependent_relayhost_maps sender_dependent_default_transport_maps smtp_tls_policy_maps
smtpd_client_restrictions smtpd_helo_restrictions smtpd_sender_restrictions smtpd_relay_restrictions
smtpd_recipient_restrictions"
    [ -f "$work/postconf-x.txt" ] || return 0
    overrides=""
    [ -f "$work/postconf-Px.txt" ] && overrides="$work/postconf-Px.txt"
    mkdir "$work/maps"
    : >"$work/maps/INDEX.tsv"
    # Password maps first: a table named there too is exported with its values redacted.
    values_of smtp_sasl_password_maps "$overrides" | references | while read -r ref; do export_map "$ref" 1; done
    values_of "$params" "$overrides" | references | while read -r ref; do
        case $ref in unix:*) index_line "$ref" - ;; *) export_map "$ref" 0 ;; esac
    done
    rm -f "$work/maps/.seen"
    [ -s "$work/maps/INDEX.tsv" ] || rm -rf "$work/maps"
}

# A -c folder without main.cf has no Postfix: say so at once (postconf's fatal error waits a second).
if [ -n "$postfix_dir" ] && [ ! -f "$postfix_dir/main.cf" ]; then
    echo "export-linux.sh: no main.cf in $postfix_dir; Postfix files not exported" >&2
elif command -v postconf >/dev/null 2>&1 && pc -h mail_version >/dev/null 2>&1; then
    capture postconf-x.txt pc -x
    capture postconf-n.txt pc -n
    capture postconf-M.txt pc -M
    capture postconf-Px.txt pc -P -x
    postfix_maps
else
    echo "export-linux.sh: no usable postconf${postfix_dir:+ for $postfix_dir}; Postfix files not exported" >&2
fi

# 2.3 passdb/userdb args files of ldap and sql drivers (a passwd-file is never copied).
dovecot_ext() {
    awk '
        /\{$/ { depth++; if (depth == 1) { block = $1; driver = ""; args = "" }; next }
        /^[ \t]*\}$/ { if (depth == 1 && (block == "passdb" || block == "userdb")) print driver "\t" args; depth--; next }
        depth == 1 && /^  driver = / { driver = $0; sub(/^  driver = /, "", driver) }
        depth == 1 && /^  args = / { args = $0; sub(/^  args = /, "", args) }
    ' "$work/doveconf-n.txt" | while IFS="$(printf '\t')" read -r driver args; do
        case $driver in ldap | sql) ;; *) continue ;; esac
        case $args in /*) ;; *) continue ;; esac
        base=$(basename "$args")
        [ -f "$args" ] || continue
        mkdir -p "$work/dovecot-ext"
        [ -e "$work/dovecot-ext/$base" ] && continue
        redact_config "$args" >"$work/dovecot-ext/$base"
    done
}

if command -v doveconf >/dev/null 2>&1 && dc -n >/dev/null 2>&1; then
    capture doveconf-n.txt dc -n
    [ -f "$work/doveconf-n.txt" ] && dovecot_ext
    capture doveadm-users.txt da user '*'
else
    echo "export-linux.sh: no usable doveconf${dovecot_conf:+ for $dovecot_conf}; Dovecot files not exported" >&2
fi

{
    echo "# written by auditor's deploy/linux/export-linux.sh"
    echo "exported_at = $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host = $host"
} >"$work/EXPORT-INFO.txt"

if [ -n "$tar_mode" ]; then
    (cd "$work" && tar -cf - .)
    exit 0
fi
if [ -e "$out" ]; then
    old="$out.old.$$"
    mv "$out" "$old"
    mv "$work" "$out"
    rm -rf "$old"
else
    mv "$work" "$out"
fi
work=""
echo "export-linux.sh: wrote $out" >&2
