#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (PostgreSQL and Redis already started by testenv.sh).
#
# Two lines of work, one after the other (run side by side on 2 cores, the Docker builds and browsers of
# the side line made real-time media tests of the main line miss frames):
#   main  pytest over everything but the deployment tests and the app's web build test
#   side  the mobile app's checks (schema drift, tsc, ESLint, Jest) and its web build, then pytest
#         over tests/deploy (the Compose stack, across-NAT, Kubernetes) and tests/e2e/test_mobile_web.py
# The side line has PostgreSQL and Redis servers of its own (ports +100; the fault tests stop and start
# the main line's PostgreSQL). Its output is also kept in var/test/side.log;
# the run fails if either line does.
#
#   scripts/test.sh                 both lines (MOBILE=0 leaves the app's checks and build out)
#   scripts/test.sh ARGS...         only `pytest ARGS...`, in the foreground (what PYTEST_ARGS gives)
set -uo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }

PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
PY=.venv/bin/python
export STREAMUS_ENV=test ALLOW_PRIVATE_DESTINATIONS=1 PG_PORT REDIS_PORT
SIDE_PG_PORT=$((PG_PORT + 100))
SIDE_REDIS_PORT=$((REDIS_PORT + 100))
MAIN_DB=postgres://postgres@127.0.0.1:$PG_PORT/streamus
SIDE_DB=postgres://postgres@127.0.0.1:$SIDE_PG_PORT/streamus

if [ $# -gt 0 ]; then
  DATABASE_URL=$MAIN_DB REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 exec $PY -m pytest "$@"
fi

SIDE_TESTS=(tests/deploy tests/e2e/test_mobile_web.py)
mkdir -p var/test
SIDE_LOG=var/test/side.log
side() {
  local start=$SECONDS status=0
  if [ "${MOBILE:-1}" = 1 ]; then
    scripts/mobile.sh test && scripts/mobile.sh web || status=$?
  fi
  # The mobile web test needs the build; without MOBILE its fixture builds it (or finds it built).
  if PG_PORT=$SIDE_PG_PORT REDIS_PORT=$SIDE_REDIS_PORT scripts/testenv.sh start; then
    PG_PORT=$SIDE_PG_PORT REDIS_PORT=$SIDE_REDIS_PORT DATABASE_URL=$SIDE_DB \
      REDIS_URL=redis://127.0.0.1:$SIDE_REDIS_PORT/0 $PY -m pytest -p no:randomly "${SIDE_TESTS[@]}" \
      || status=$((status ? status : $?))
  else
    status=1
  fi
  PG_PORT=$SIDE_PG_PORT REDIS_PORT=$SIDE_REDIS_PORT scripts/testenv.sh stop
  echo "side line: $((SECONDS - start)) s, exit $status"
  return $status
}

start=$SECONDS
ignores=()
for t in "${SIDE_TESTS[@]}"; do ignores+=("--ignore=$t"); done
DATABASE_URL=$MAIN_DB REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 $PY -m pytest "${ignores[@]}"
main_status=$?
say "main line done in $((SECONDS - start)) s (exit $main_status); now the side line: $SIDE_LOG"
side 2>&1 | tee "$SIDE_LOG"
side_status=${PIPESTATUS[0]}
say "whole suite: $((SECONDS - start)) s (main exit $main_status, side exit $side_status)"
[ $main_status = 0 ] && [ $side_status = 0 ]
