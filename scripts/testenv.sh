#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback for the test suite.
#   scripts/testenv.sh start   -> prints nothing else; servers up on PG_PORT / REDIS_PORT
#   scripts/testenv.sh stop    -> stops the servers this script started and deletes their data
# A server already running from an earlier `start` is reused (and left running by `stop --keep`).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[testenv]\033[0m %s\n' "$*"; }

PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
DIR=$PWD/var/test
# PostgreSQL runs as the `postgres` user when we are root, and that user may not be able to
# enter the checkout (a clone under /root, say): its data lives under /tmp instead.
PGDIR=${TMPDIR:-/tmp}/streamus-test-pg-$PG_PORT
PGDATA=$PGDIR/data
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
redis_running() { redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; }

start() {
  mkdir -p "$DIR"
  if pg_running; then
    say "postgres: already running on 127.0.0.1:$PG_PORT"
  else
    rm -rf "$PGDIR"; mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PGDIR"
    say "postgres: initdb + start on 127.0.0.1:$PG_PORT (data in $PGDATA)"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
    # Throwaway data: durability off makes the suite much faster.
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -l "$PGDIR/pg.log" -o \
      "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGDATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  fi
  if redis_running; then
    say "redis: already running on 127.0.0.1:$REDIS_PORT"
  else
    say "redis: start on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
      --daemonize yes --pidfile "$DIR/redis-$REDIS_PORT.pid" --logfile "$DIR/redis-$REDIS_PORT.log" --dir "$DIR"
    for _ in $(seq 50); do redis_running && break; sleep 0.1; done
  fi
}

stop() {
  if pg_running; then say "postgres: stop"; as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null || true; fi
  if redis_running; then say "redis: stop"; redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  rm -rf "$PGDIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
