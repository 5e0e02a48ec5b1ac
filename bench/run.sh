#!/usr/bin/env bash
# golive benchmark: how fast and how lean is `golive run` on a large checklist, and do
# per-item timeouts really run concurrently?
#
# What it does:
#   1. builds the release binary and examples (`cargo build --release --bins --examples`);
#   2. runs target/release/examples/bench_targets (source: examples/bench_targets.rs), which
#      for each scenario starts local targets on 127.0.0.1 random ports (the integration
#      tests' support servers: hyper HTTP server, TLS server with a throwaway CA, a listener
#      that never answers), writes a generated checklist, runs
#      `target/release/golive run CHECKLIST --output json=REPORT --quiet --no-store` (no
#      history store: the run is measured, not its recording), and measures
#      wall time (spawn to exit), peak RSS and CPU time of the golive process (wait4), and
#      items per second. It then reads the JSON report and checks every outcome.
#
# Scenarios:
#   mixed1000  1,000 items: 500 http (GET /health, expect status = 200, latency < 2s),
#              200 tcp (150 open, 50 refused), 200 tls (valid cert from a test CA:
#              days_remaining >= 14, chain_trusted, hostname_valid), 100 file/env/host.
#              Every item must pass.
#   hung10     10 items (5 http, 5 tls) against a listener that accepts and never answers,
#              timeout = "2s" each. Every item must end `error: timed out after 2s`.
#   scale1k, scale10k, scale50k
#              1,000 / 10,000 / 50,000 http/tcp/tls items, JSON report and table written.
#   body50     50 http items with a `body` expectation against a 2 MiB page (read up to
#              max_body, 1 MiB): peak RSS and the report's size.
#   compare200 issue 15's 200 checks (100 http, 50 tcp, 20 tls, 20 postgres, 10 redis) on one
#              set of targets (adds PostgreSQL from initdb and a redis-server), run by golive
#              and by Prometheus blackbox_exporter (apt-get install
#              prometheus-blackbox-exporter; golive alone when it is absent), alternating,
#              $RUNS pairs; prints both sides' wall and CPU and the ratios.
#   startup1   one-item runs (one tcp, one http item), 30 each: median wall and CPU.
#
# Expectations (on a 2-core machine):
#   mixed1000  well under 2 s wall, < 60 MB peak RSS.
#   hung10     2.0 s wall + at most 50 ms (the ten 2 s timeouts run concurrently).
#   scale50k   at most 150 MiB peak RSS and 80 us of golive CPU per item.
#   compare200 blackbox_exporter takes at least 3x golive's wall and 6x its CPU.
#   startup1   at most 5 ms wall.
#
# Usage:
#   bench/run.sh                    # all scenarios, 3 runs each, median [min..max] summary
#   RUNS=5 bench/run.sh mixed1000   # one scenario, 5 runs
#   bench/run.sh --strict           # also exit non-zero when a target is missed
#   bench/run.sh --keep hung10      # keep the generated checklist and report
# Extra arguments go to bench_targets (see the top of examples/bench_targets.rs).
#
# Exit status: 0 when every outcome is as expected (wrong outcomes give 1; missed targets
# only give 1 with --strict), 2 when the bench could not be set up.
# Numbers depend on the machine and on what else runs: see bench/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."

echo "== building (cargo build --release --bins --examples)" >&2
cargo build --release --bins --examples

runs="${RUNS:-3}"
scenarios=()
for arg in "$@"; do
    case "$arg" in
        mixed1000 | hung10 | scale1k | scale10k | scale50k | body50 | compare200 | startup1 | all) scenarios+=("$arg") ;;
    esac
done
if [ "${#scenarios[@]}" -eq 0 ]; then
    set -- "$@" all
fi

echo "== running bench_targets --runs $runs $*" >&2
exec target/release/examples/bench_targets --golive target/release/golive --runs "$runs" "$@"
