#!/usr/bin/env bash
# golive history benchmark: does `golive history` and `golive diff` answer within 100 ms
# with a store of 10,000 runs of a 200-item checklist, and how large is a stored run?
#
# What it does:
#   1. builds the release binary (`cargo build --release`), unless GOLIVE_BIN names one;
#   2. writes a 200-item checklist of `env` items (no network: the store is what is
#      measured) and records two real runs with `golive run --store sqlite://…` (different
#      variables set, so the runs differ);
#   3. fills the store up to RUNS_IN_STORE runs (default 10,000) by copying those two
#      recorded runs (every row: run, files, items, the report JSON) under new run ids and
#      start times, in one transaction, with Python's sqlite3;
#   4. times each command REPEAT times (default 5; spawn to exit, the whole process):
#      `history`, `history --item`, `history --checklist --since 7d`, `diff`,
#      `diff --against last-pass`, and prints the median and the slowest;
#   5. prints the store's size on disk and the size per run.
#
# Usage:
#   bench/history.sh
#   RUNS_IN_STORE=50000 REPEAT=9 bench/history.sh
#   GOLIVE_BIN=target/debug/golive bench/history.sh   # another binary (figures not comparable)
#   KEEP_STORE=1 bench/history.sh                     # keep the store, print its directory
#
# Exit status: 0 when every command answered within 100 ms (median), 1 when one did not,
# 2 when the bench could not be set up.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS_IN_STORE=${RUNS_IN_STORE:-10000}
REPEAT=${REPEAT:-5}
if [[ -z "${GOLIVE_BIN:-}" ]]; then
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --quiet || exit 2
    GOLIVE_BIN=$PWD/target/release/golive
fi
GOLIVE_BIN=$(realpath "$GOLIVE_BIN")
work=$(mktemp -d)
if [[ -n "${KEEP_STORE:-}" ]]; then echo "store kept in $work"; else trap 'rm -rf "$work"' EXIT; fi

python3 - "$GOLIVE_BIN" "$work" "$RUNS_IN_STORE" "$REPEAT" <<'PY'
import gzip, json, os, sqlite3, statistics, subprocess, sys, time, uuid

golive, work, runs_in_store, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
items = 200
store = os.path.join(work, "history.db")
checklist = os.path.join(work, "golive.toml")
with open(checklist, "w") as f:
    f.write('[checklist]\nname = "bench history"\nversion = "1.0"\n')
    for i in range(items):
        f.write(f'\n[[item]]\nid = "env.var-{i:03}"\nprobe = "env"\nname = "BENCH_VAR_{i:03}"\nsecret = false\n')

def record(set_vars):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_VAR_")}
    env.update({f"BENCH_VAR_{i:03}": f"value-{i}" for i in set_vars})
    env.pop("GOLIVE_STORE", None)
    subprocess.run([golive, "run", checklist, "--quiet", "--store", f"sqlite://{store}", "-o", "json=" + os.path.join(work, "r.json")],
                   env=env, stdout=subprocess.DEVNULL, check=False)

record(range(items))            # every item passes
record(range(0, items, 2))      # half of them fail

db = sqlite3.connect(store)
seeds = [r[0] for r in db.execute("SELECT run_id FROM golive_runs ORDER BY started_ms")]
if len(seeds) != 2:
    sys.exit(f"expected 2 recorded runs, found {len(seeds)}")
run_cols = [r[1] for r in db.execute("PRAGMA table_info(golive_runs)")]
item_cols = [r[1] for r in db.execute("PRAGMA table_info(golive_items)")]
file_cols = [r[1] for r in db.execute("PRAGMA table_info(golive_run_files)")]
def rows(table, cols, run_id):
    return db.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ?", (run_id,)).fetchall()
seed_rows = {s: (rows("golive_runs", run_cols, s)[0], rows("golive_items", item_cols, s), rows("golive_run_files", file_cols, s)) for s in seeds}
now_ms = int(time.time() * 1000)
start_ms = now_ms - 3 * 86400 * 1000
ins = lambda table, cols: f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
with db:
    db.execute("DELETE FROM golive_items"); db.execute("DELETE FROM golive_run_files"); db.execute("DELETE FROM golive_runs")
    for n in range(runs_in_store):
        seed = seeds[n % 2 if n % 7 else 0]
        run, its, files = seed_rows[seed]
        new_id = str(uuid.uuid4())
        run = list(run)
        run[run_cols.index("run_id")] = new_id
        run[run_cols.index("started_ms")] = start_ms + n * 20_000
        run[run_cols.index("recorded_ms")] = start_ms + n * 20_000 + 100
        gz = run_cols.index("report_gz")
        run[gz] = gzip.compress(gzip.decompress(run[gz]).replace(seed.encode(), new_id.encode()))
        db.execute(ins("golive_runs", run_cols), run)
        db.executemany(ins("golive_items", item_cols), [(new_id,) + tuple(r[1:]) for r in its])
        db.executemany(ins("golive_run_files", file_cols), [(new_id,) + tuple(r[1:]) for r in files])
db.execute("VACUUM")
db.close()

size = sum(os.path.getsize(os.path.join(work, f)) for f in os.listdir(work) if f.startswith("history.db"))
commands = [
    ("history", ["history"]),
    ("history --item", ["history", "--item", "env.var-101"]),
    ("history --checklist --since 7d --format json", ["history", "--checklist", "bench history", "--since", "7d", "--format", "json"]),
    ("diff", ["diff"]),
    ("diff --against last-pass", ["diff", "--against", "last-pass"]),
]
env = dict(os.environ, GOLIVE_STORE=f"sqlite://{store}")
slow = False
print(f"store: {runs_in_store} runs of {items} items, {size / 1e6:.1f} MB on disk, {size / runs_in_store / 1024:.1f} KiB per run")
for name, args in commands:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run([golive] + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
        times.append((time.perf_counter() - t) * 1000)
        if out.returncode not in (0, 1):
            sys.exit(f"golive {' '.join(args)} failed ({out.returncode}): {out.stderr.decode()}")
    median = statistics.median(times)
    slow |= median > 100
    print(f"{name:48} median {median:6.1f} ms  max {max(times):6.1f} ms")
sys.exit(1 if slow else 0)
PY
