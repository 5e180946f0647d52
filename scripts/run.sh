#!/usr/bin/env bash
# `make run`: migrate, create the demo login, start every process on loopback.
#
# Ports and the data directory come from the environment, so a second instance can run beside
# the first (the smoke test in tests/smoke/ does): STREAMUS_PORT (web, 8000), REDIS_PORT (6379),
# LIVEKIT_PORT (7880; its RTC ports are the next two, its metrics the third), STREAMUS_METRICS_PORT
# (9540: beat's metrics; the default workers' are the next two, the media workers' the two after),
# STREAMUS_VAR_DIR (var/: SQLite database, media, spool, rendered LiveKit config, beat schedule).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[run]\033[0m %s\n' "$*"; }
export PATH=$PWD/.cache/bin:$PWD/.venv/bin:$PATH
export STREAMUS_ENV=${STREAMUS_ENV:-development}
export PYTHONUNBUFFERED=1

export STREAMUS_PORT=${STREAMUS_PORT:-8000}
export REDIS_PORT=${REDIS_PORT:-6379}
export LIVEKIT_PORT=${LIVEKIT_PORT:-7880}
export STREAMUS_METRICS_PORT=${STREAMUS_METRICS_PORT:-9540}
export STREAMUS_VAR_DIR=${STREAMUS_VAR_DIR:-$PWD/var}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
export LIVEKIT_URL=${LIVEKIT_URL:-ws://127.0.0.1:$LIVEKIT_PORT}
export SITE_URL=${SITE_URL:-http://127.0.0.1:$STREAMUS_PORT}
export CSRF_TRUSTED_ORIGINS=${CSRF_TRUSTED_ORIGINS:-http://127.0.0.1:$STREAMUS_PORT,http://localhost:$STREAMUS_PORT}
mkdir -p "$STREAMUS_VAR_DIR/media"

# Every process in the Procfile, less redis when one already answers on that port.
processes=(redis livekit web worker media beat)
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  say "redis already answers on 127.0.0.1:$REDIS_PORT: using it"
  processes=("${processes[@]:1}")
fi

say "database: migrate"
python manage.py migrate --noinput -v 0
say "demo account"
python manage.py create_demo

cat <<TXT

  StreamUs is starting on http://127.0.0.1:$STREAMUS_PORT/
  Log in with  demo@streamus.local  /  streamus-demo   (admin at /admin/, API docs at /api/v1/docs/)
  Ctrl-C stops every process.

TXT
exec honcho start -f Procfile "${processes[@]}"
