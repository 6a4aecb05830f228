#!/usr/bin/env bash
# The `hot` scenario on PostgreSQL, in rounds: the API, then the bare
# server (bench/bare: the API's statements behind HTTP, nothing else) on
# an async client and then on the API's blocking one, each on a fresh
# database and each followed by pgbench's hot on that database. What the
# bare server keeps of pgbench's speed is about the most an HTTP layer
# doing this work keeps on this machine; beside it, the API's ratio shows
# what the API's own work costs, and the bare server's on the blocking
# client how much of that is the client.
#
#   bench/bare.sh             # 5 rounds, about 12 minutes
#   BENCH_ROUNDS=1 bench/bare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${BENCH_ROUNDS:-5}
seconds=${BENCH_SECONDS:-10}
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
# ("async" or "blocking"); sets
# INVENTORY_URL and server_pid as start_server does (the token it needs
# only to migrate the database; the bare server checks none).
start_bare_server() {
  local port
  INVENTORY_TOKEN=$("$server" token create --role manager --name "$check" \
    --database-url "$1" 2>>"$scratch/server.log")
  port=$(free_port)
  INVENTORY_URL="http://127.0.0.1:$port"
  export INVENTORY_URL INVENTORY_TOKEN
  DATABASE_URL=$1 BIND="127.0.0.1:$port" CLIENT=$2 "$bare" >>"$scratch/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$INVENTORY_URL/" && return
    sleep 0.1
  done
  echo "$check: the bare server was not ready after 10 s" >&2
  exit 1
}

# The versions the 10 products of database $1 hold in all.
versions() {
  psql "$1" -tAc "SELECT sum(version) FROM products"
}

# One round on server $1 ("api", or the bare server's client: "async" or
# "blocking"): its hot, then pgbench's on
# the same 10 rows. Appends both, and the ratio, as one JSON line.
round() {
  local database_url api before after
  database_url=$(fresh_database postgresql)
  if [ "$1" = api ]; then start_server "$database_url" manager; else start_bare_server "$database_url" "$1"; fi
  api=$("$load" --url "$INVENTORY_URL" --scenario hot --seconds "$seconds" --json \
    --cpu-of "server=$server_pid" | tail -n 1)
  stop_server
  psql "$database_url" -qc "CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM products;
    ALTER TABLE bench_ids ADD PRIMARY KEY (n);"
  before=$(versions "$database_url")
  pgbench -n -M prepared -c 8 -j 2 -T "$seconds" -D products=10 -f bench/pgbench/cas.sql \
    "$database_url" >"$out/bare-pgbench.txt" 2>&1
  after=$(versions "$database_url")
  python3 - "$1" "$api" "$before" "$after" "$seconds" <<'PY' | tee -a "$out/bare.jsonl"
import json, sys
server, api, before, after, seconds = sys.argv[1], json.loads(sys.argv[2]), *map(float, sys.argv[3:])
pgbench = (after - before) / seconds
cores = api["cores"]["server"]
print(json.dumps({
    "server": server, "per_second": round(api["per_second"]), "pgbench": round(pgbench),
    "ratio": round(api["per_second"] / pgbench, 3), "server_cores": round(cores, 2),
    "server_us_per_swap": round(cores / api["per_second"] * 1e6),
    "conflict_share": round(api["conflict_share"], 3), "server_errors": api["server_errors"],
    "invariants_hold": api["invariants_hold"]}))
PY
}

servers=${BENCH_SERVERS:-api async blocking}
for _ in $(seq 1 "$rounds"); do
  for name in $servers; do
    round "$name"
  done
done

python3 - "$out/bare.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print(f"{'server':<22}{'hot/s':>8}{'pgbench/s':>11}{'ratio':>8}{'server µs per swap':>20}")
names = {"api": "the API", "async": "bare", "blocking": "bare, blocking client"}
for server in names:
    mine = [r for r in runs if r["server"] == server]
    if not mine:
        continue
    median = lambda key: statistics.median(r[key] for r in mine)
    ratios = ", ".join(f"{r['ratio']:.2f}" for r in mine)
    print(f"{names[server]:<22}{median('per_second'):>8.0f}{median('pgbench'):>11.0f}{median('ratio'):>8.2f}"
          f"{median('server_us_per_swap'):>20.0f}   ratios: {ratios}")
PY
