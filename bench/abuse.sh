#!/usr/bin/env bash
# What abusive clients cost everyone else, on PostgreSQL and SQLite:
#
# 1. Writes beside open event streams: stock adjustments at a fixed rate,
#    first with no stream open, then with BENCH_STREAMS (3,000) streams
#    open and reading every change. Each change is read from the database
#    once per server and shared, so the writes' latency should hardly move.
# 2. The server's memory while 4 clients send the heaviest 1 MiB stock
#    syncs they can (349,518 empty items) for BENCH_SECONDS: its resident
#    size before, and its peak.
#
# Prints p50 and p99 of each write run with their ratio (with streams /
# without), and the memory figures.
#
#   bench/abuse.sh                    # about 3 minutes
#   BENCH_STREAMS=500 BENCH_RATE=100 bench/abuse.sh
set -euo pipefail
cd "$(dirname "$0")/.."

streams=${BENCH_STREAMS:-3000}
rate=${BENCH_RATE:-200}
seconds=${BENCH_SECONDS:-10}
out=target/bench
check=abuse
server=target/release/inventory-api
load=target/release/inventory-load

cargo build --release --locked -p inventory-api -p inventory-load
# shellcheck source=../.ci/live-server.sh
. .ci/live-server.sh
ensure_postgresql
mkdir -p "$out"
: >"$out/abuse.jsonl"
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
  echo "${line%\}},\"kind\":\"writes\",\"backend\":\"$1\",\"streams\":$2}" | tee -a "$out/abuse.jsonl"
}

# The server's resident and peak resident size, in KiB.
memory() {
  awk '/^VmRSS/ {rss = $2} /^VmHWM/ {peak = $2} END {print rss, peak}' "/proc/$server_pid/status"
}

for backend in postgresql sqlite; do
  echo "== $backend: writes beside $streams streams"
  start_server "$(fresh_database "$backend")" manager
  writes "$backend" 0
  python3 bench/hold_streams.py "$INVENTORY_URL" "$INVENTORY_TOKEN" "$streams" >"$scratch/holder.out" &
  holder=$!
  for _ in $(seq 1 600); do
    grep -q "^open" "$scratch/holder.out" && break
    kill -0 "$holder" || { echo "abuse: the holder failed" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "^open" "$scratch/holder.out" || { echo "abuse: not all streams opened" >&2; exit 1; }
  writes "$backend" "$streams"
  kill -TERM "$holder"
  wait "$holder" || true
  cat "$scratch/holder.out"
  stop_server

  echo "== $backend: memory under 4 clients of 1 MiB stock syncs"
  start_server "$(fresh_database "$backend")" manager
  "$load" --url "$INVENTORY_URL" --scenario read --clients 4 --seconds 2 --products 100 >/dev/null
  read -r before _ <<<"$(memory)"
  sent=$(python3 bench/huge_bodies.py "$INVENTORY_URL" "$INVENTORY_TOKEN" 4 "$seconds")
  read -r after peak <<<"$(memory)"
  echo "${sent%\}}, \"kind\": \"memory\", \"backend\": \"$backend\", \"rss_before_kib\": $before, \"rss_after_kib\": $after, \"peak_kib\": $peak}" \
    | tee -a "$out/abuse.jsonl"
  stop_server
done

python3 - "$out/abuse.jsonl" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
writes = [r for r in runs if r["kind"] == "writes"]
print(f"{'writes':<11} {'streams':>7} {'rate':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
for run in writes:
    print(f"{run['backend']:<11} {run['streams']:>7} {run['per_second']:>6.0f} {run['p50_ms']:>7.2f} "
          f"{run['p99_ms']:>7.2f} {run['server_errors'] + run['other_errors']:>6}")
for backend in ("postgresql", "sqlite"):
    none, some = [r for r in writes if r["backend"] == backend]
    print(f"{backend}: with streams / without: p50 {some['p50_ms'] / none['p50_ms']:.2f}x, "
          f"p99 {some['p99_ms'] / none['p99_ms']:.2f}x")
print()
print(f"{'memory':<11} {'sent':>5} {'statuses':<14} {'largest answer':>14} {'RSS before':>10} {'peak':>9}")
for run in (r for r in runs if r["kind"] == "memory"):
    statuses = ",".join(f"{k}x{v}" for k, v in run["statuses"].items())
    print(f"{run['backend']:<11} {run['sent']:>5} {statuses:<14} {run['largest_answer_bytes']:>12} B "
          f"{run['rss_before_kib'] / 1024:>7.1f} MiB {run['peak_kib'] / 1024:>5.1f} MiB")
PY
