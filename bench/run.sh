#!/usr/bin/env bash
# The load benchmark: every scenario against a release server on
# PostgreSQL and on SQLite, each beside the database's own limit measured
# in the same run, on the same machine, at the same concurrency (pgbench
# running the API's statements; on SQLite the store's functions in a
# loop). Then latency at half the peak rate (with, for reads, GET /healthz
# at the same rate: the floor of any request), the server's memory over a
# long run, a concurrency sweep plotted to docs/benchmark.svg, and the
# 1000-item stock sync against 1000 single PATCHes. Prints one table;
# everything measured is kept in target/bench/.
#
#   bench/run.sh              # about 25 minutes
#   BENCH_QUICK=1 bench/run.sh  # every step, briefly (checks the script)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${BENCH_QUICK:-}
seconds=${BENCH_SECONDS:-$([ -n "$quick" ] && echo 2 || echo 10)}
clients=${BENCH_CLIENTS:-16}
memory_seconds=${BENCH_MEMORY_SECONDS:-$([ -n "$quick" ] && echo 5 || echo 300)}
sweep_seconds=${BENCH_SWEEP_SECONDS:-$([ -n "$quick" ] && echo 1 || echo 5)}
sweep_clients=${BENCH_SWEEP_CLIENTS:-$([ -n "$quick" ] && echo "1 16" || echo "1 2 4 8 16 32 64")}
products=${BENCH_PRODUCTS:-$([ -n "$quick" ] && echo 500 || echo 10000)}
half_peak_rounds=${BENCH_HALF_PEAK_ROUNDS:-$([ -n "$quick" ] && echo 1 || echo 3)}
out=target/bench
plot=${BENCH_PLOT:-$([ -n "$quick" ] && echo "$out/benchmark.svg" || echo docs/benchmark.svg)}

check=bench
server=target/release/inventory-api
load=target/release/inventory-load
sqlite_limit=target/release/inventory-sqlite-limit

command -v pgbench >/dev/null || NEED_PGBENCH=1
cargo build --release --locked -p inventory-api -p inventory-load
# shellcheck source=../.ci/live-server.sh
. .ci/live-server.sh
[ -z "${NEED_PGBENCH:-}" ] || apt_install postgresql-client
ensure_postgresql
mkdir -p "$out"
# A command prefix that runs the load (or pgbench) on chosen cores; none by default.
on_core=()
# PostgreSQL's first process: it and its children, the backends, are the
# database whose CPU each run reports.
postmaster=$(head -n 1 "$(psql "$pg_admin_url" -tAc 'SHOW data_directory')/postmaster.pid")
: >"$out/results.jsonl"
: >"$out/sweep.jsonl"

# Prints the server's resident memory now, its peak so far, and of the
# memory now its heap (anonymous) and its mapped files (SQLite's shared
# WAL index among them), in KiB.
memory_of_server() {
  awk '/^VmRSS/ {now = $2} /^VmHWM/ {peak = $2} /^RssAnon/ {heap = $2}
       /^Rss(File|Shmem)/ {files += $2} END {print now, peak, heap, files}' "/proc/$server_pid/status"
}

# CPU ticks so far of process $1 and its children, living and exited (a
# postmaster's backends among them).
cpu_ticks() {
  local stats=("/proc/$1/stat") child
  for child in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
    stats+=("/proc/$child/stat")
  done
  # Past "pid (name) ", utime, stime, cutime and cstime are fields 12 to 15.
  cat "${stats[@]}" 2>/dev/null | awk '{sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15} END {print t + 0}'
}

# Runs the load generator; appends its JSON line (with the backend and the
# server's peak memory so far) to file $1. It reports the cores the server,
# PostgreSQL (on that backend) and itself used while the load ran.
run_load() {
  local file=$1 backend=$2
  shift 2
  local line watched=(--cpu-of "server=$server_pid")
  [[ $backend != postgresql* ]] || watched+=(--cpu-of "database=$postmaster")
  # A broken invariant fails the tool; its JSON line still says so, for the table.
  line=$("${on_core[@]}" "$load" --url "$INVENTORY_URL" --products "$products" --json "${watched[@]}" "$@" |
    tail -n 1) || true
  read -r _ peak _ <<<"$(memory_of_server)"
  echo "${line%\}},\"backend\":\"$backend\",\"server_peak_kib\":$peak}" | tee -a "$file"
}

# Field $3 of the API's last run of scenario $1 on backend $2, as an integer.
api_figure() {
  python3 -c '
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
last = [r for r in runs if r.get("kind", "api") == "api"
        and r["scenario"] == sys.argv[2] and r["backend"] == sys.argv[3]][-1]
print(round(last[sys.argv[4]]))' "$out/results.jsonl" "$1" "$2" "$3"
}

# Appends a database-limit figure for scenario $1 on backend $2 (with,
# from pgbench, the cores used as JSON in $5).
limit() {
  echo "{\"kind\":\"database\",\"scenario\":\"$1\",\"backend\":\"$2\",\"clients\":$3,\"per_second\":$4${5:+,\"cores\":$5}}" \
    | tee -a "$out/results.jsonl"
}

# pgbench on script $1 with $2 clients, over the first $3 products
# (default: all). Prints its transactions per second, then as JSON the
# cores PostgreSQL and pgbench used, but for the first and last second
# (connecting and disconnecting); "{}" in runs too short to leave a middle.
pgbench_run() {
  local pgbench_pid before="" after cores="{}"
  "${on_core[@]}" pgbench -n -M prepared -c "$2" -j 2 -T "$seconds" -D products="${3:-$products}" \
    -f "bench/pgbench/$1.sql" "$database_url" >"$out/pgbench.txt" 2>&1 &
  pgbench_pid=$!
  if ((seconds >= 4)); then
    sleep 1
    before="$EPOCHREALTIME $(cpu_ticks "$postmaster") $(cpu_ticks "$pgbench_pid")"
    sleep $((seconds - 2))
    after="$EPOCHREALTIME $(cpu_ticks "$postmaster") $(cpu_ticks "$pgbench_pid")"
  fi
  wait "$pgbench_pid"
  [ -z "$before" ] || cores=$(awk -v hz="$(getconf CLK_TCK)" '
    NR == 1 {time = $1; database = $2; pgbench = $3}
    NR == 2 {ticks = ($1 - time) * hz
             printf "{\"database\":%.3f,\"pgbench\":%.3f}", ($2 - database) / ticks, ($3 - pgbench) / ticks}' \
    <<<"$before"$'\n'"$after")
  echo "$(awk '/^tps = / {print $3}' "$out/pgbench.txt")" "$cores"
}

# Appends pgbench's figure for scenario $1 (its script) on backend $2.
pgbench_limit() {
  local tps cores
  read -r tps cores <<<"$(pgbench_run "$1" "$clients")"
  limit "$1" "$2" "$clients" "$tps" "$cores"
}

# Numbers the load's products 1..N in bench_ids, for pgbench's scripts.
number_products() {
  psql "$database_url" -qc "
    CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM products
      WHERE deleted_at IS NULL AND sku LIKE 'LOAD-%' LIMIT $products;
    ALTER TABLE bench_ids ADD PRIMARY KEY (n);"
}

# Appends pgbench's hot figure for backend $1: cas.sql with 8 clients on
# 10 rows, counted as the versions those rows gained (a swap that lost
# its race changes nothing).
pgbench_hot() {
  local before cores
  before=$(hot_versions)
  read -r _ cores <<<"$(pgbench_run cas 8 10)"
  limit hot "$1" 8 "$(python3 -c "print(round(($(hot_versions) - $before) / $seconds, 1))")" "$cores"
}

# Sets the CPU affinity of every PostgreSQL process, the postmaster
# among them (the backends it starts later inherit it), to cores $1.
pin_postgresql() {
  local pid
  for pid in $(pgrep -x postgres); do
    taskset -a -cp "$1" "$pid" >/dev/null
  done
}

# Appends pgbench's latency for scenario $1 (its script) at rate $2.
pgbench_half_peak() {
  rm -f "$out"/pgbench-log.*
  pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -R "$2" -l \
    --log-prefix="$out/pgbench-log" -D products="$products" \
    -f "bench/pgbench/$1.sql" "$database_url" >/dev/null 2>&1
  python3 bench/pgbench_latency.py "$1-half-peak" "$2" "$out"/pgbench-log.* |
    tee -a "$out/results.jsonl"
}

# The versions the first 10 products (pgbench's hot rows) hold in all.
hot_versions() {
  psql "$database_url" -tAc "SELECT sum(p.version) FROM products p JOIN bench_ids b ON b.id = p.id WHERE b.n <= 10"
}

for backend in postgresql sqlite; do
  database_url=$(fresh_database "$backend")
  start_server "$database_url" manager
  echo "== $backend: the API"
  for scenario in read cas hot adjust sync; do
    run_load "$out/results.jsonl" "$backend" --scenario "$scenario" --clients "$clients" --seconds "$seconds"
  done
  # At half the peak rate, rounds of the API and, on PostgreSQL, pgbench
  # in turn, on the database as the API left it: at this rate one 10 s
  # run may or may not meet one of the database's stalls, so one round
  # each would say little.
  [ "$backend" != postgresql ] || number_products
  for scenario in read cas; do
    half=$(($(api_figure "$scenario" "$backend" per_second) / 2))
    for _ in $(seq 1 "$half_peak_rounds"); do
      run_load "$out/results.jsonl" "$backend" --scenario "$scenario" --clients "$clients" \
        --seconds "$seconds" --rate "$half"
      # Marked so the table tells it from the run at full speed.
      sed -i '$ s/"scenario":"'"$scenario"'"/"scenario":"'"$scenario"'-half-peak"/' "$out/results.jsonl"
      [ "$backend" != postgresql ] || pgbench_half_peak "$scenario" "$half"
    done
    if [ "$scenario" = read ]; then
      # The floor under that latency: a request that touches no database,
      # at the same rate, from the same generator.
      run_load "$out/results.jsonl" "$backend" --scenario healthz --clients "$clients" \
        --seconds "$seconds" --rate "$half"
    fi
  done
  for scenario in read cas; do
    for n in $sweep_clients; do
      run_load "$out/sweep.jsonl" "$backend" --scenario "$scenario" --clients "$n" --seconds "$sweep_seconds"
    done
  done
  # The heaviest scenario for memory: 1000-item batches, 16 at a time.
  echo "== $backend: memory over ${memory_seconds} s of sync with $clients clients"
  "$load" --url "$INVENTORY_URL" --token "$INVENTORY_TOKEN" \
    --scenario sync --clients "$clients" --seconds "$memory_seconds" >"$out/memory-$backend.txt" &
  load_pid=$!
  : >"$out/memory-$backend.tsv"
  while kill -0 "$load_pid" 2>/dev/null; do
    echo "$SECONDS $(memory_of_server)" >>"$out/memory-$backend.tsv"
    sleep 1
  done
  wait "$load_pid"
  stop_server

  echo "== $backend: the database's own limit"
  if [ "$backend" = postgresql ]; then
    pgbench_limit read postgresql
    pgbench_limit cas postgresql
    pgbench_hot postgresql
  else
    for scenario in read cas hot; do
      "$sqlite_limit" --database-url "$database_url" --scenario "$scenario" \
        --clients "$clients" --seconds "$seconds" | sed 's/^{/{"kind":"database",/' |
        tee -a "$out/results.jsonl"
    done
    # The database's own latency at the API's half-peak rates.
    for scenario in read cas; do
      rate=$(api_figure "$scenario-half-peak" sqlite rate)
      "$sqlite_limit" --database-url "$database_url" --scenario "$scenario" \
        --clients "$clients" --seconds "$seconds" --rate "$rate" |
        sed 's/^{/{"kind":"database",/; s/"scenario":"'"$scenario"'"/"scenario":"'"$scenario"'-half-peak"/' |
        tee -a "$out/results.jsonl"
    done
  fi
done

# PostgreSQL once more, with the database on core 0 and all else (the
# server and the load generator, or pgbench) on core 1. Above, pgbench
# leaves both cores to the database while the server takes a share of
# them; here the database has one core in both runs, so the ratio shows
# what the HTTP layer keeps of the database's speed, not how the machine
# shared its cores.
if [ "$(nproc)" -ge 2 ]; then
  echo "== postgresql with the database on a core of its own"
  all_cores="0-$(($(nproc) - 1))"
  trap 'pin_postgresql "$all_cores"; cleanup' EXIT
  pin_postgresql 0
  on_core=(taskset -c 1)
  database_url=$(fresh_database postgresql)
  start_server "$database_url" manager
  taskset -a -cp 1 "$server_pid" >/dev/null
  for scenario in read cas hot; do
    run_load "$out/results.jsonl" postgresql-pinned --scenario "$scenario" --clients "$clients" --seconds "$seconds"
  done
  stop_server
  number_products
  pgbench_limit read postgresql-pinned
  pgbench_limit cas postgresql-pinned
  pgbench_hot postgresql-pinned
  pin_postgresql "$all_cores"
  on_core=()
fi

echo "== stock sync against single PATCHes"
TEST_DATABASE_URL=$pg_admin_url cargo bench --locked --bench stock_sync 2>/dev/null |
  grep -E '^(SQLite|PostgreSQL):' | tee "$out/stock-sync.txt"

python3 bench/plot.py "$out/sweep.jsonl" "$plot"
python3 bench/table.py "$out"
