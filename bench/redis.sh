#!/usr/bin/env bash
# Benchmark: 100 redis items against a local redis-server, as the test harness starts it
# (127.0.0.1, a free port, a temporary directory, a password). Prints the wall time of
# each run and the connections the server accepted during it (INFO stats
# total_connections_received, before and after; redis-cli's own connection subtracted).
#
#     bench/redis.sh                 # builds target/release/golive if needed
#     GOLIVE=target/debug/golive ITEMS=100 RUNS=5 bench/redis.sh
#
# Needs redis-server and redis-cli (Debian: apt-get install redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

items=${ITEMS:-100}
runs=${RUNS:-3}
golive=${GOLIVE:-target/release/golive}
password="bench-$RANDOM-$RANDOM"

for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install redis-server" >&2; exit 2; }
done
if [ -z "${GOLIVE:-}" ] && [ ! -x "$golive" ]; then
  cargo build --release --quiet
fi

dir=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

# A free port: one nothing answers on. The server's start is checked below anyway.
port=
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free port found" >&2; exit 2; }

redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
  --daemonize no --logfile "$dir/redis.log" --requirepass "$password" \
  --maxmemory 64mb --maxmemory-policy allkeys-lru &
server_pid=$!

cli() { REDISCLI_AUTH="$password" redis-cli -h 127.0.0.1 -p "$port" "$@"; }
for _ in $(seq 100); do
  [ "$(cli PING 2>/dev/null)" = "PONG" ] && break
  sleep 0.05
done
[ "$(cli PING 2>/dev/null)" = "PONG" ] || { echo "redis-server did not start:" >&2; cat "$dir/redis.log" >&2; exit 2; }

# The checklist: $items items, cycling through the probe's facts.
facts=(
  'reachable = true'
  'version = ">= 6"'
  'auth_required = true'
  'role = "master", connected_replicas = 0'
  'maxmemory = "64MiB", maxmemory_policy = "allkeys-lru"'
  'aof_enabled = false, aof_last_write_ok = true, rdb_last_bgsave_ok = true'
  'used_memory = "< 1GiB", keys = 0'
  'protected_mode = true'
  '"config.maxclients" = ">= 1000"'
  '"info.clients.connected_clients" = ">= 1"'
)
{
  printf '[checklist]\nname = "redis benchmark"\n\n[vars]\nredis = "${env:BENCH_REDIS_URL}"\n\n'
  for i in $(seq 0 $((items - 1))); do
    printf '[[item]]\nid = "redis-%03d"\nprobe = "redis"\nurl = "${redis}"\nexpect = { %s }\n\n' \
      "$i" "${facts[$((i % ${#facts[@]}))]}"
  done
} >"$dir/bench.toml"

connections() { cli INFO stats | tr -d '\r' | sed -n 's/^total_connections_received://p'; }

echo "golive: $golive; redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port; $items items, $runs runs"
export BENCH_REDIS_URL="redis://:$password@127.0.0.1:$port/0"
for run in $(seq "$runs"); do
  before=$(connections)
  start=$(date +%s%N)
  status=0
  "$golive" run "$dir/bench.toml" --quiet --output "json=$dir/report.json" >/dev/null 2>"$dir/stderr" || status=$?
  end=$(date +%s%N)
  after=$(connections)
  # The `after` redis-cli connection is counted before it reads the counter.
  opened=$((after - before - 1))
  printf 'run %d: %d items, wall %d ms, server connections opened %d, exit %d\n' \
    "$run" "$items" $(((end - start) / 1000000)) "$opened" "$status"
  if [ "$status" -ne 0 ]; then cat "$dir/stderr" >&2; exit 1; fi
done
