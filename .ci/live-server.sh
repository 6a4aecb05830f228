# Sourced by .ci/clients, .ci/contract and bench/run.sh: start the built server on a fresh
# SQLite or PostgreSQL database with a fresh token, and clean up after it.
# The caller sets `set -euo pipefail`, `cd`s to the repository and names
# itself in $check (for messages).

server="${server:-target/debug/inventory-api}"
# The database PostgreSQL runs start from; each run makes its own and drops it.
pg_admin_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

apt_install() {
  echo "installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[ -x "$server" ] || { echo "$check: $server is missing; run cargo build --locked first" >&2; exit 1; }
command -v curl >/dev/null || apt_install curl

scratch=$(mktemp -d)
server_pid=""
# The PostgreSQL databases made here, one name a line, dropped at exit. A
# file, not a variable: callers take the URL with $(fresh_database ...),
# a subshell whose variables are lost when it ends.
pg_databases="$scratch/pg-databases"

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    # SIGTERM stops it gracefully (event streams end at once); one that
    # has not exited after 5 s is killed: these checks need the port.
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

cleanup() {
  local status=$?
  stop_server
  # A failing run shows what the server saw.
  if [ "$status" -ne 0 ] && [ -s "$scratch/server.log" ]; then
    echo "$check: last lines of the server's log:" >&2
    tail -n 30 "$scratch/server.log" >&2
  fi
  if [ -f "$pg_databases" ]; then
    while read -r database; do
      psql "$pg_admin_url" -qc "DROP DATABASE IF EXISTS $database" </dev/null >/dev/null || true
    done <"$pg_databases"
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# PostgreSQL: install it if absent, start it if down (as .ci/run does).
ensure_postgresql() {
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    sleep 1
  done
  echo "$check: PostgreSQL did not start" >&2
  exit 1
}

# The URL of a new, empty database for one backend ("sqlite" or "postgresql").
fresh_database() {
  case "$1" in
    sqlite) echo "sqlite://$scratch/$check-$RANDOM.db" ;;
    postgresql)
      local name="${check}_$(date +%s)_$RANDOM"
      psql "$pg_admin_url" -qc "CREATE DATABASE $name" >/dev/null
      echo "$name" >>"$pg_databases"
      echo "${pg_admin_url%/*}/$name"
      ;;
  esac
}

# A port nothing listens on, from a high range other runs are unlikely to use.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Serves database $1 with a new token of role $2; sets INVENTORY_URL and
# INVENTORY_TOKEN. No rate limits: the checks' pace must not be refused.
# Any further arguments are passed on to `serve`.
start_server() {
  local database_url=$1 role=$2 port
  shift 2
  INVENTORY_TOKEN=$("$server" token create --role "$role" --name "$check" \
    --database-url "$database_url" 2>>"$scratch/server.log")
  port=$(free_port)
  INVENTORY_URL="http://127.0.0.1:$port"
  export INVENTORY_URL INVENTORY_TOKEN
  NO_COLOR=1 "$server" serve --database-url "$database_url" --bind "127.0.0.1:$port" \
    --rate-limit 0 --auth-failure-limit 0 "$@" >>"$scratch/server.log" 2>&1 &
  server_pid=$!
  await_server "$INVENTORY_URL/readyz" 10
}

# Waits up to $2 seconds for the server started as $server_pid to answer
# $1 with anything but 503 (not ready yet); fails if it exits meanwhile.
await_server() {
  local status
  for _ in $(seq 1 $(($2 * 10))); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$1") || true
    [ "$status" = 000 ] || [ "$status" = 503 ] || return 0
    kill -0 "$server_pid" 2>/dev/null || { echo "$check: the server exited at start" >&2; exit 1; }
    sleep 0.1
  done
  echo "$check: the server was not ready after $2 s" >&2
  exit 1
}
