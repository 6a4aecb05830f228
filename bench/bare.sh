#!/usr/bin/env bash
# The `hot` scenario on PostgreSQL, in rounds: the API, then the bare
# server (bench/bare: the API's statements behind HTTP, nothing else) on
# an async client and then on the API's blocking one, each on a fresh
# database and each followed by pgbench's hot on that database. What the
# bare server keeps of pgbench's speed is about the most an HTTP layer
# doing this work keeps on this machine; beside it, the API's ratio shows
# what the API's own work costs, and the bare server's on the blocking
# client how much of that is the client.
# With BENCH_SCENARIO=cas, the same rounds of `cas` at full speed (16
# clients over 10,000 products), each followed by pgbench's cas.sql with
# 16 clients. With BENCH_RATE, rounds of `cas` at that fixed rate
# instead, each followed by pgbench's cas.sql at the same rate: their
# latencies.
#
#   bench/bare.sh                      # 5 rounds, about 12 minutes
#   BENCH_ROUNDS=1 bench/bare.sh
#   BENCH_SCENARIO=cas bench/bare.sh   # cas at full speed
#   BENCH_RATE=1686 bench/bare.sh      # cas at 1,686 pairs a second
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${BENCH_ROUNDS:-5}
seconds=${BENCH_SECONDS:-10}
rate=${BENCH_RATE:-}
scenario=${BENCH_SCENARIO:-hot}
case $scenario in
  hot | cas) ;;
  *) echo "bare: BENCH_SCENARIO is hot or cas, not $scenario" >&2; exit 1 ;;
esac
products=${BENCH_PRODUCTS:-10000}
out=target/bench
check=bare
server=target/release/inventory-api
load=target/release/inventory-load
bare=target/release/inventory-bare

command -v pgbench >/dev/null || NEED_PGBENCH=1
cargo build --release --locked -p inventory-api -p inventory-load
CARGO_TARGET_DIR=target cargo build --release --locked --manifest-path bench/bare/Cargo.toml
# shellcheck source=../.ci/live-server.sh
. .ci/live-server.sh
[ -z "${NEED_PGBENCH:-}" ] || apt_install postgresql-client
ensure_postgresql
mkdir -p "$out"
: >"$out/bare.jsonl"

# Serves database $1, migrated first, with the bare server on client $2
# ("async" or "blocking"); sets INVENTORY_URL and server_pid as
# start_server does. The token is made only to migrate the database (and
# for the load generator's flag); the bare server checks none.
start_bare_server() {
  local port
  INVENTORY_TOKEN=$("$server" token create --role manager --name "$check" \
    --database-url "$1" 2>>"$scratch/server.log")
  port=$(free_port)
  INVENTORY_URL="http://127.0.0.1:$port"
  export INVENTORY_URL INVENTORY_TOKEN
  DATABASE_URL=$1 BIND="127.0.0.1:$port" CLIENT=$2 "$bare" >>"$scratch/server.log" 2>&1 &
  server_pid=$!
  await_server "$INVENTORY_URL/" 10
}

# Starts server $1 ("api", or the bare server's client: "async" or
# "blocking") on database $2.
start_one() {
  if [ "$1" = api ]; then start_server "$2" manager; else start_bare_server "$2" "$1"; fi
}

# Numbers the products of database $1 from 1, for pgbench's scripts.
number_products() {
  psql "$1" -qc "CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM products;
    ALTER TABLE bench_ids ADD PRIMARY KEY (n);"
}

# The versions the products of database $1 hold in all.
versions() {
  psql "$1" -tAc "SELECT sum(version) FROM products"
}

# One round of $scenario at full speed on server $1, then pgbench's on
# the same database: in hot, 8 clients on the same 10 rows, counting the
# swaps that landed (the versions the rows gained); in cas, 16 clients
# over all the products, counting its transactions. Appends both, and
# the ratio, as one JSON line.
speed_round() {
  local database_url api before after pgbench
  database_url=$(fresh_database postgresql)
  start_one "$1" "$database_url"
  if [ "$scenario" = hot ]; then
    api=$("$load" --url "$INVENTORY_URL" --scenario hot --seconds "$seconds" --json \
      --cpu-of "server=$server_pid" | tail -n 1)
  else
    api=$("$load" --url "$INVENTORY_URL" --scenario cas --clients 16 --seconds "$seconds" \
      --products "$products" --json --cpu-of "server=$server_pid" | tail -n 1)
  fi
  stop_server
  number_products "$database_url"
  if [ "$scenario" = hot ]; then
    before=$(versions "$database_url")
    pgbench -n -M prepared -c 8 -j 2 -T "$seconds" -D products=10 -f bench/pgbench/cas.sql \
      "$database_url" >"$out/bare-pgbench.txt" 2>&1
    after=$(versions "$database_url")
    pgbench=$(python3 -c "print(($after - $before) / $seconds)")
  else
    pgbench -n -M prepared -c 16 -j 2 -T "$seconds" -D products="$products" \
      -f bench/pgbench/cas.sql "$database_url" >"$out/bare-pgbench.txt" 2>&1
    pgbench=$(awk '/^tps = / {print $3}' "$out/bare-pgbench.txt")
  fi
  python3 - "$1" "$api" "$pgbench" <<'PY' | tee -a "$out/bare.jsonl"
import json, sys
server, api, pgbench = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
cores = api["cores"]["server"]
print(json.dumps({
    "server": server, "per_second": round(api["per_second"]), "pgbench": round(pgbench),
    "ratio": round(api["per_second"] / pgbench, 3), "server_cores": round(cores, 2),
    "server_us_per_swap": round(cores / api["per_second"] * 1e6),
    "conflict_share": round(api["conflict_share"], 3), "server_errors": api["server_errors"],
    "invariants_hold": api["invariants_hold"]}))
PY
}

# One round of cas at $rate on server $1 (over $products products), then
# pgbench's cas.sql at the same rate on the same database. Appends both
# latencies as one JSON line.
cas_round() {
  local database_url api pgbench
  database_url=$(fresh_database postgresql)
  start_one "$1" "$database_url"
  api=$("$load" --url "$INVENTORY_URL" --scenario cas --clients 16 --seconds "$seconds" \
    --rate "$rate" --products "$products" --json | tail -n 1)
  stop_server
  number_products "$database_url"
  rm -f "$out"/bare-pgbench-log.*
  pgbench -n -M prepared -c 16 -j 2 -T "$seconds" -R "$rate" -l --log-prefix="$out/bare-pgbench-log" \
    -D products="$products" -f bench/pgbench/cas.sql "$database_url" >/dev/null 2>&1
  pgbench=$(python3 bench/pgbench_latency.py cas "$rate" "$out"/bare-pgbench-log.*)
  python3 - "$1" "$api" "$pgbench" <<'PY' | tee -a "$out/bare.jsonl"
import json, sys
server, api, pgbench = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(json.dumps({
    "server": server, "rate": api["rate"], "p50_ms": api["p50_ms"], "p99_ms": api["p99_ms"],
    "pgbench_p50_ms": pgbench["p50_ms"], "pgbench_p99_ms": pgbench["p99_ms"],
    "server_errors": api["server_errors"], "invariants_hold": api["invariants_hold"]}))
PY
}

servers=${BENCH_SERVERS:-api async blocking}
for _ in $(seq 1 "$rounds"); do
  for name in $servers; do
    if [ -n "$rate" ]; then cas_round "$name"; else speed_round "$name"; fi
  done
done

python3 - "$out/bare.jsonl" "$scenario" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
latency = "p99_ms" in runs[0]
if latency:
    print(f"{'server':<22}{'p50':>8}{'p99':>8}{'pgbench p99':>13}   (medians, ms; then each round's p99 and pgbench's)")
else:
    print(f"{'server':<22}{sys.argv[2] + '/s':>8}{'pgbench/s':>11}{'ratio':>8}{'server µs per swap':>20}")
names = {"api": "the API", "async": "bare", "blocking": "bare, blocking client"}
for server in names:
    mine = [r for r in runs if r["server"] == server]
    if not mine:
        continue
    median = lambda key: statistics.median(r[key] for r in mine)
    if latency:
        rounds = ", ".join(f"{r['p99_ms']:.2f}/{r['pgbench_p99_ms']:.2f}" for r in mine)
        print(f"{names[server]:<22}{median('p50_ms'):>8.2f}{median('p99_ms'):>8.2f}"
              f"{median('pgbench_p99_ms'):>13.2f}   {rounds}")
    else:
        ratios = ", ".join(f"{r['ratio']:.3f}" for r in mine)
        print(f"{names[server]:<22}{median('per_second'):>8.0f}{median('pgbench'):>11.0f}{median('ratio'):>8.3f}"
              f"{median('server_us_per_swap'):>20.0f}   ratios: {ratios}")
PY
