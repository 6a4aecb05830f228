#!/usr/bin/env bash
# Counts the instructions a server runs for a GET and a PATCH, with
# valgrind's callgrind: the same count for the same requests whatever
# else the machine is doing, where a timed run moves with the day. On a
# fresh PostgreSQL database, over one keep-alive connection, after a
# warm-up: rounds of a GET and a PATCH that lands, then rounds of a GET
# and a PATCH with an old version (a 409), each counted alone.
#
#   bench/instructions.sh                     # the API
#   RUST_LOG=warn bench/instructions.sh       # the API without its request log
#   BENCH_SERVER=bare bench/instructions.sh   # the bare server, async client
#   BENCH_ROUNDS=100 bench/instructions.sh    # rounds of each (300)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${BENCH_ROUNDS:-300}
which=${BENCH_SERVER:-api}
case $which in
  api | bare) ;;
  *) echo "instructions: BENCH_SERVER is api or bare, not $which" >&2; exit 1 ;;
esac
check=instructions
server=target/release/inventory-api
bare=target/release/inventory-bare

cargo build --release --locked -p inventory-api
[ "$which" = api ] || CARGO_TARGET_DIR=target cargo build --release --locked --manifest-path bench/bare/Cargo.toml
# shellcheck source=../.ci/live-server.sh
. .ci/live-server.sh
command -v valgrind >/dev/null || apt_install valgrind
ensure_postgresql

database_url=$(fresh_database postgresql)
# Made with the API's own command, which migrates the database too; the
# bare server checks no token.
INVENTORY_TOKEN=$("$server" token create --role manager --name "$check" \
  --database-url "$database_url" 2>>"$scratch/server.log")
port=$(free_port)
counted=(valgrind --tool=callgrind "--callgrind-out-file=$scratch/callgrind.%p")
if [ "$which" = api ]; then
  NO_COLOR=1 "${counted[@]}" "$server" serve --database-url "$database_url" \
    --bind "127.0.0.1:$port" --rate-limit 0 --auth-failure-limit 0 >>"$scratch/server.log" 2>&1 &
  ready=/readyz
else
  DATABASE_URL=$database_url BIND="127.0.0.1:$port" CLIENT=async \
    "${counted[@]}" "$bare" >>"$scratch/server.log" 2>&1 &
  ready=/
fi
server_pid=$!
# Under valgrind a server starts in seconds, not milliseconds.
await_server "http://127.0.0.1:$port$ready" 60
python3 bench/instructions.py "http://127.0.0.1:$port" "$INVENTORY_TOKEN" "$rounds" \
  "$server_pid" "$scratch"
