#!/usr/bin/env bash
# golive soak: concurrent runs and writers on the same targets and files, counting what is
# lost. Loopback only; every server it starts is stopped when it exits.
#
# What it does:
#   1. builds the release binary (unless GOLIVE names one);
#   2. starts one HTTP server (python3 -m http.server) and one TCP listener on 127.0.0.1;
#   3. writes a checklist of ITEMS items (default 2,000: half http, half tcp, all against
#      those two) plus MANUAL manual items (default 20);
#   4. RUNS times (default 3), at once: RUNNERS `golive run` (default 5) at
#      --concurrency 1000, all writing the same -o json=, -o junit= and -o markdown= paths,
#      while MANUAL `golive attest` (one per manual item) append to the same attestations
#      file;
#   5. counts, after each round: runs that did not end with exit 0, shared report files that
#      are not complete (JSON that does not parse or does not hold every item, JUnit without
#      every test case, Markdown cut short), items missing from a run's own JSON report (each
#      run also writes one), and attestations missing from the attestations file. It also
#      prints `not_pass`: automated items that did not pass (an overloaded target's timeout
#      shows there, with the first reasons on stderr), for information.
#
# Every count but not_pass must be 0; the script prints them and exits 1 when one is not.
#
# Usage:
#   bench/soak.sh                          # 2,000 items, 5 runners, 3 rounds
#   ITEMS=500 RUNNERS=8 RUNS=1 bench/soak.sh
#   GOLIVE=/path/to/golive bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

items=${ITEMS:-2000}
runners=${RUNNERS:-5}
rounds=${RUNS:-3}
manual=${MANUAL:-20}
golive=${GOLIVE:-$PWD/target/release/golive}
if [ -z "${GOLIVE:-}" ]; then
  cargo build --release --quiet --bin golive
fi

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

http_port=$(free_port)
python3 - "$http_port" >/dev/null 2>&1 <<'EOF' &
import http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4096
    daemon_threads = True
class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
Server(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
EOF
pids+=($!)
tcp_port=$(free_port)
python3 - "$tcp_port" >/dev/null 2>&1 <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()
EOF
pids+=($!)
for _ in $(seq 50); do
  (echo >/dev/tcp/127.0.0.1/"$http_port") 2>/dev/null && (echo >/dev/tcp/127.0.0.1/"$tcp_port") 2>/dev/null && break
  sleep 0.1
done

cd "$dir"
{
  printf '[checklist]\nname = "soak"\n\n'
  for i in $(seq 0 $((items - 1))); do
    if ((i % 2 == 0)); then
      printf '[[item]]\nid = "http.%d"\ntimeout = "30s"\nprobe = "http"\nurl = "http://127.0.0.1:%d/health"\nexpect = { status = 200 }\n\n' "$i" "$http_port"
    else
      printf '[[item]]\nid = "tcp.%d"\nprobe = "tcp"\naddress = "127.0.0.1:%d"\nexpect = { open = true }\n\n' "$i" "$tcp_port"
    fi
  done
  for m in $(seq 1 "$manual"); do
    printf '[[item]]\nid = "manual.%d"\nprobe = "manual"\nseverity = "low"\n\n' "$m"
  done
} > golive.toml

total=$((items + manual))
failures=0
echo "golive soak: $items items + $manual manual, $runners concurrent runs and $manual concurrent attests, $rounds rounds"
printf '%-6s %-10s %-16s %-16s %-10s %-18s %-10s\n' round bad_exit bad_shared_files missing_results not_pass missing_attests wall_ms
for round in $(seq 1 "$rounds"); do
  rm -f golive.attestations.toml shared.json shared.xml shared.md own.*.json
  start=$(date +%s%N)
  jobs_=()
  for r in $(seq 1 "$runners"); do
    "$golive" run golive.toml --concurrency 1000 --fail-on critical -o json=shared.json -o junit=shared.xml \
      -o markdown=shared.md -o json="own.$r.json" >"out.$r" 2>&1 &
    jobs_+=($!)
  done
  for m in $(seq 1 "$manual"); do
    "$golive" attest "manual.$m" --by "soak $m" --evidence "round $round" --file golive.toml >"attest.$m" 2>&1 &
    jobs_+=($!)
  done
  bad_exit=0
  for j in "${jobs_[@]}"; do wait "$j" || bad_exit=$((bad_exit + 1)); done
  wall=$(( ($(date +%s%N) - start) / 1000000 ))
  counts=$(python3 - "$total" "$runners" "$manual" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
total, runners, manual = map(int, sys.argv[1:])
bad_files = 0
try:
    if len(json.load(open("shared.json"))["items"]) != total:
        bad_files += 1
except Exception:
    bad_files += 1
try:
    if len(ET.parse("shared.xml").getroot().findall(".//testcase")) != total:
        bad_files += 1
except Exception:
    bad_files += 1
try:
    if "Go-live report" not in open("shared.md").read():
        bad_files += 1
except Exception:
    bad_files += 1
missing = 0
errors = 0
for r in range(1, runners + 1):
    try:
        report = json.load(open(f"own.{r}.json"))
        ids = {i["id"] for i in report["items"] if i["outcome"] in ("pass", "fail", "error", "manual")}
        missing += total - len(ids)
        bad = [i for i in report["items"] if i["probe"] != "manual" and i["outcome"] != "pass"]
        errors += len(bad)
        for i in bad[:2]:
            print(f"  run {r}: {i['id']}: {i['outcome']}: {i.get('reason')}", file=sys.stderr)
    except Exception as e:
        print(f"  run {r}: no report: {e}", file=sys.stderr)
        missing += total
text = open("golive.attestations.toml").read() if __import__("os").path.exists("golive.attestations.toml") else ""
attests = sum(1 for m in range(1, manual + 1) if f'item = "manual.{m}"' in text)
print(bad_files, missing, errors, manual - attests)
EOF
)
  read -r bad_files missing errors missing_attests <<<"$counts"
  printf '%-6s %-10s %-16s %-16s %-10s %-18s %-10s\n' "$round" "$bad_exit" "$bad_files" "$missing" "$errors" "$missing_attests" "$wall"
  failures=$((failures + bad_exit + bad_files + missing + missing_attests))
done
if ((failures > 0)); then
  echo "FAIL: $failures lost or missing results (see $dir while it exists)" >&2
  exit 1
fi
echo "OK: nothing lost"
