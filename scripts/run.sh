#!/usr/bin/env bash
# `make run`: migrate, create the demo login, start every process on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[run]\033[0m %s\n' "$*"; }
export PATH=$PWD/.cache/bin:$PWD/.venv/bin:$PATH
export STREAMUS_ENV=${STREAMUS_ENV:-development}
export PYTHONUNBUFFERED=1
mkdir -p var/media

# Every process in the Procfile, less redis when one already answers on that port.
processes=(redis livekit web worker media beat)
if redis-cli -p "${REDIS_PORT:-6379}" ping >/dev/null 2>&1; then
  say "redis already answers on 127.0.0.1:${REDIS_PORT:-6379}: using it"
  processes=("${processes[@]:1}")
fi

say "database: migrate"
python manage.py migrate --noinput -v 0
say "demo account"
python manage.py create_demo
python manage.py collectstatic --noinput -v 0

cat <<TXT

  StreamUs is starting on http://127.0.0.1:${STREAMUS_PORT:-8000}/
  Log in with  demo@streamus.local  /  streamus-demo   (admin at /admin/, API docs at /api/v1/docs/)
  Ctrl-C stops every process.

TXT
exec honcho start -f Procfile "${processes[@]}"
