#!/usr/bin/env bash
# Writes beside open event streams: stock adjustments at a fixed rate on
# PostgreSQL and SQLite, first with no stream open, then with
# BENCH_STREAMS (3,000) streams open and reading every change. Each
# change is read from the database once per server and shared, so the
# writes' latency should hardly move. Prints p50 and p99 of each run and
# their ratio (with streams / without).
#
#   bench/streams.sh                  # about 2 minutes
#   BENCH_STREAMS=500 BENCH_RATE=100 bench/streams.sh
set -euo pipefail
cd "$(dirname "$0")/.."

streams=${BENCH_STREAMS:-3000}
rate=${BENCH_RATE:-200}
seconds=${BENCH_SECONDS:-10}
out=target/bench
check=streams
server=target/release/inventory-api
load=target/release/inventory-load

cargo build --release --locked -p inventory-api -p inventory-load
# shellcheck source=../.ci/live-server.sh
. .ci/live-server.sh
ensure_postgresql
mkdir -p "$out"
: >"$out/streams.jsonl"
# Every stream is a connection, from this one address.
ulimit -n $((streams * 2 + 1024))
export INVENTORY_MAX_STREAMS=$((streams + 100)) INVENTORY_MAX_STREAMS_PER_TOKEN=$((streams + 100))
export INVENTORY_MAX_CONNECTIONS_PER_ADDRESS=$((streams + 1000))

# Adjustments at the fixed rate; appends the load generator's JSON line,
# marked with the backend and the number of open streams.
writes() {
  local line
  line=$("$load" --url "$INVENTORY_URL" --scenario adjust --clients 16 --rate "$rate" \
    --seconds "$seconds" --products 100 --json | tail -n 1)
  echo "${line%\}},\"backend\":\"$1\",\"streams\":$2}" | tee -a "$out/streams.jsonl"
}

for backend in postgresql sqlite; do
  echo "== $backend"
  start_server "$(fresh_database "$backend")" manager
  writes "$backend" 0
  python3 bench/hold_streams.py "$INVENTORY_URL" "$INVENTORY_TOKEN" "$streams" >"$scratch/holder.out" &
  holder=$!
  for _ in $(seq 1 600); do
    grep -q "^open" "$scratch/holder.out" && break
    kill -0 "$holder" || { echo "streams: the holder failed" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "^open" "$scratch/holder.out" || { echo "streams: not all streams opened" >&2; exit 1; }
  writes "$backend" "$streams"
  kill -TERM "$holder"
  wait "$holder" || true
  cat "$scratch/holder.out"
  stop_server
done

python3 - "$out/streams.jsonl" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"{'backend':<11} {'streams':>7} {'rate':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
for run in runs:
    print(f"{run['backend']:<11} {run['streams']:>7} {run['per_second']:>6.0f} {run['p50_ms']:>7.2f} "
          f"{run['p99_ms']:>7.2f} {run['server_errors'] + run['other_errors']:>6}")
for backend in ("postgresql", "sqlite"):
    none, some = [r for r in runs if r["backend"] == backend]
    print(f"{backend}: with streams / without: p50 {some['p50_ms'] / none['p50_ms']:.2f}x, "
          f"p99 {some['p99_ms'] / none['p99_ms']:.2f}x")
PY
