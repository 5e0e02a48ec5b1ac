#!/usr/bin/env bash
# golive benchmark, PostgreSQL part: how long do 200 `postgres` items take against a local
# server, and how many server connections do they open?
#
# What it does:
#   1. builds the release binary (unless GOLIVE names one);
#   2. starts a throwaway PostgreSQL as the test harness does (tests/it/support/pg.rs): initdb
#      and postgres from the system's binaries (initdb on PATH or /usr/lib/postgresql/*/bin),
#      in a directory under /tmp, on 127.0.0.1 and a free port, with log_connections = on,
#      SCRAM passwords, pgcrypto, a small table; as the `postgres` user when run as root;
#   3. writes a checklist of ITEMS items (default 200) that all use one connection URL and
#      cycle through ten kinds of facts (version, settings, extensions, role flags, connection
#      headroom, table existence, database size, superuser count, recovery, a query);
#   4. runs `golive run CHECKLIST --output json=REPORT --quiet` RUNS times (default 3) and
#      reports, for each run, the wall time (spawn to exit), the server connections opened
#      (the `connection authorized` lines the run added to the server log) and whether every
#      item passed; then the median wall time.
#   5. stops the server and removes its directory, also on failure or Ctrl-C.
#
# Expectations (2-core machine): well under 2 s wall for 200 items; at most 4 connections
# opened per run (items with the same connection settings share one pool of at most 4).
# Measured 2026-11 (2 cores, release build, PostgreSQL 15.18, other builds running): 200
# items in 0.052 s median wall (5 runs, 0.052–0.065 s), 1,000 items in 0.19 s; 4 server
# connections opened per run in every case.
#
# Usage:
#   bench/postgres.sh                       # 200 items, 3 runs
#   ITEMS=500 RUNS=5 bench/postgres.sh
#   GOLIVE=target/debug/golive bench/postgres.sh
#   bench/postgres.sh --strict              # exit 1 when a target above is missed
#
# Exit status: 0 when every run passed every item (and, with --strict, met the targets),
# 1 otherwise, 2 when the benchmark could not be set up.
set -euo pipefail
cd "$(dirname "$0")/.."

items="${ITEMS:-200}"
runs="${RUNS:-3}"
strict=false
[ "${1:-}" = "--strict" ] && strict=true

if [ -z "${GOLIVE:-}" ]; then
    echo "== building (cargo build --release --bin golive)" >&2
    cargo build --release --bin golive >&2
    GOLIVE=target/release/golive
fi
GOLIVE="$(realpath "$GOLIVE")"

# The PostgreSQL binaries: initdb on PATH (following a link into the versioned directory),
# else the newest /usr/lib/postgresql/*/bin.
bin=""
if command -v initdb >/dev/null 2>&1; then
    bin="$(dirname "$(realpath "$(command -v initdb)")")"
else
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do bin="$dir"; done
fi
if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
    echo "PostgreSQL binaries not found: apt-get install postgresql" >&2
    exit 2
fi

# PostgreSQL refuses to run as root: run it as the `postgres` user then.
as_server() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

dir="$(mktemp -d /tmp/golive-pg-bench-XXXXXX)"
work="$(mktemp -d /tmp/golive-bench-work-XXXXXX)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$dir" "$work"
}
trap cleanup EXIT INT TERM
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "$password" > "$dir/pwfile"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
as_server "$bin/initdb" -D "$dir/data" -U golive_super --pwfile "$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >/dev/null

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000)))"
as_server "$bin/postgres" -D "$dir/data" -c port="$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$dir" -c log_connections=on -c fsync=off -c max_connections=100 \
    >"$dir/postgres.log" 2>&1 &
pid=$!
psql_super() { as_server "$bin/psql" -h "$dir" -p "$port" -U golive_super -d "$1" -qAt -v ON_ERROR_STOP=1 -c "$2"; }
for _ in $(seq 300); do
    psql_super postgres "select 1" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "postgres did not start:" >&2; cat "$dir/postgres.log" >&2; exit 2; }
    sleep 0.1
done
# The postmaster runs as a child of runuser when root: remember the postmaster itself.
pid="$(head -1 "$dir/data/postmaster.pid")"

psql_super postgres "create role bench login password '$password'" >/dev/null
psql_super postgres "create database bench owner bench" >/dev/null
psql_super bench "create extension pgcrypto" >/dev/null
psql_super bench "set role bench; create table users (id serial primary key, email text);
    insert into users (email) select 'user' || g || '@company.invalid' from generate_series(1, 1000) g" >/dev/null

url="postgres://bench:$password@127.0.0.1:$port/bench"
expects=(
    'server_version = ">= 14"'
    'setting.max_connections = 100'
    'extensions = { includes = ["pgcrypto"] }'
    'role_superuser = false, role_createrole = false'
    'connections_headroom_percent = "> 10"'
    'table_exists.users = true'
    'database_size = "> 1MB"'
    'superuser_count = 1'
    'in_recovery = false'
    'value = 0'
)
{
    printf '[checklist]\nname = "postgres bench"\n\n[vars]\ndb = "%s"\n\n[defaults]\ntimeout = "10s"\n\n' "$url"
    for i in $(seq 0 $((items - 1))); do
        expect="${expects[$((i % ${#expects[@]}))]}"
        printf '[[item]]\nid = "pg-%d"\nprobe = "postgres"\nurl = "${db}"\n' "$i"
        case "$expect" in value*) printf 'query = "select count(*) from users where email like $1"\nparams = ["%%@example.test"]\n' ;; esac
        printf 'expect = { %s }\n\n' "$expect"
    done
} >"$work/golive.toml"

echo "== $items postgres items, one connection URL, PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, golive: $GOLIVE" >&2
ok=true
walls=()
for run in $(seq "$runs"); do
    mark="$(stat -c %s "$dir/postgres.log")"
    start="$(date +%s.%N)"
    status=0
    (cd "$work" && "$GOLIVE" run golive.toml --output json=report.json --quiet) || status=$?
    end="$(date +%s.%N)"
    sleep 0.2 # let the server write its last log lines
    opened="$(tail -c +"$((mark + 1))" "$dir/postgres.log" | grep -c 'connection authorized: user=bench' || true)"
    passed="$(grep -o '"outcome": *"pass"' "$work/report.json" | wc -l)" # one per item
    wall="$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')"
    walls+=("$wall")
    printf 'run %d: wall %.3f s, %d items passed of %d, server connections opened: %d, exit %d\n' \
        "$run" "$wall" "$passed" "$items" "$opened" "$status"
    if [ "$status" -ne 0 ] || [ "$passed" -ne "$items" ]; then ok=false; fi
    if $strict && { [ "$opened" -gt 4 ] || awk -v w="$wall" 'BEGIN {exit !(w >= 2)}'; }; then ok=false; fi
done
median="$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
awk -v m="$median" -v n="$items" 'BEGIN {printf "median wall %.3f s for %d items (%.0f items/s)\n", m, n, n / m}'
$ok
