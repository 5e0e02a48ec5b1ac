#!/usr/bin/env bash
# golive benchmark, loader part: how long does `golive validate` take on a very large
# checklist, and how much memory does it need? No server is involved: validate loads,
# interpolates and checks the file (schema, probe kinds, facts, matchers, ids,
# dependencies) and prints its diagnostics.
#
# What it does:
#   1. builds the release binary (unless GOLIVE names one);
#   2. for each size (default 5000 50000 100000 items) writes a checklist like a real one:
#      [vars] and [defaults], then items cycling through http (url, tags, status and
#      latency), tcp (address, open) and tls (address, days_remaining), each with an id, a
#      title and a section, every 50th with depends_on on the item before, every 7th with
#      its own severity (about 130 bytes of TOML per item);
#   3. runs `golive validate FILE` RUNS times (default 3) under /usr/bin/time and prints,
#      for each run, the wall time and the peak RSS (max resident set size) of golive, and
#      checks that validate accepted the file (exit 0); then the median of the runs.
#
# Targets (2-core machine, 50,000 items): <= 0.3 s wall, <= 100 MiB peak RSS.
# Figures measured are in docs/benchmarks.md ("validate").
#
# Usage:
#   bench/validate.sh                     # 5,000, 50,000 and 100,000 items, 3 runs each
#   RUNS=5 bench/validate.sh 50000        # one size, 5 runs
#   GOLIVE=/path/to/golive bench/validate.sh
#   KEEP=1 bench/validate.sh 5000         # keep the generated checklist (path printed)
#   bench/validate.sh --strict            # exit 1 when the 50,000-item target is missed
#
# Needs /usr/bin/time (Debian: apt-get install time) and awk.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
golive=${GOLIVE:-target/release/golive}
strict=0
sizes=()
for arg in "$@"; do
  case "$arg" in
    --strict) strict=1 ;;
    *[!0-9]* | '') echo "usage: bench/validate.sh [--strict] [ITEMS ...]" >&2; exit 2 ;;
    *) sizes+=("$arg") ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 50000 100000)

[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 2; }
if [ -z "${GOLIVE:-}" ]; then
  cargo build --release --quiet --bin golive
fi

dir=$(mktemp -d)
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$dir"; else echo "kept $dir" >&2; fi; }
trap cleanup EXIT

# The checklist of $1 items, on stdout.
generate() {
  awk -v n="$1" 'BEGIN {
    print "[checklist]\nname = \"validate benchmark\"\nversion = \"1.0.0\"\n"
    print "[vars]\nbase = \"https://api.example.test\"\nhost = \"db.example.test\"\n"
    print "[defaults]\ntimeout = \"5s\"\nseverity = \"high\"\n"
    split("infra db sec ops", sections, " ")
    for (i = 0; i < n; i++) {
      kind = i % 3
      section = sections[i % 4 + 1]
      printf "[[item]]\nid = \"%s.%d\"\nsection = \"%s\"\n", section, i, section
      if (kind == 0) {
        printf "title = \"API %d health\"\nprobe = \"http\"\nurl = \"${base}/h/%d\"\n", i, i
        printf "tags = [\"api\"]\nexpect = { status = 200, latency = \"< 1s\" }\n"
      } else if (kind == 1) {
        printf "title = \"Port %d open\"\nprobe = \"tcp\"\naddress = \"${host}:%d\"\n", i, 1024 + i % 60000
        printf "expect = { open = true }\n"
      } else {
        printf "title = \"Cert %d\"\nprobe = \"tls\"\naddress = \"${host}:443\"\n", i
        printf "expect = { days_remaining = \">= 30\" }\n"
      }
      if (i > 0 && i % 50 == 0) {
        printf "depends_on = [\"%s.%d\"]\n", sections[(i - 1) % 4 + 1], i - 1
      }
      if (i % 7 == 0) print "severity = \"medium\""
      print ""
    }
  }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "golive: $golive ($("$golive" --version 2>/dev/null || echo '?')); $runs runs per size"
printf '%-8s %-4s %9s %8s %12s %5s\n' items run toml_mb wall_s peak_rss_mib exit
missed=0
for items in "${sizes[@]}"; do
  file="$dir/validate-$items.toml"
  generate "$items" >"$file"
  bytes=$(wc -c <"$file")
  walls=()
  rsss=()
  for run in $(seq "$runs"); do
    status=0
    /usr/bin/time -f '%e %M' -o "$dir/time" "$golive" validate "$file" >/dev/null 2>"$dir/stderr" || status=$?
    read -r wall rss_kib <"$dir/time"
    rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '%-8s %-4s %9.1f %8s %12s %5s\n' "$items" "$run" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" \
      "$wall" "$rss_mib" "$status"
    if [ "$status" -ne 0 ]; then
      echo "golive validate did not accept the generated checklist:" >&2
      head -20 "$dir/stderr" >&2
      exit 1
    fi
    walls+=("$wall")
    rsss+=("$rss_mib")
  done
  wall_median=$(printf '%s\n' "${walls[@]}" | median)
  rss_median=$(printf '%s\n' "${rsss[@]}" | median)
  printf '%-8s %-4s %9s %8s %12s       (%d bytes/item)\n' "$items" median "" "$wall_median" "$rss_median" \
    $((bytes / items))
  if [ "$items" = 50000 ]; then
    if awk -v w="$wall_median" -v r="$rss_median" 'BEGIN { exit !(w > 0.3 || r > 100) }'; then
      echo "MISS: 50,000 items: target <= 0.3 s and <= 100 MiB"
      missed=1
    fi
  fi
done
if [ "$strict" = 1 ] && [ "$missed" = 1 ]; then exit 1; fi
