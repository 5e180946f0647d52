#!/usr/bin/env bash
# The mobile app (mobile/, Expo): install, generate the API client, test, build for the web.
#   scripts/mobile.sh install   npm ci in mobile/ when package-lock.json changed (npm cache: ~/.npm)
#   scripts/mobile.sh schema    dump the server's OpenAPI schema into mobile/openapi/schema.json
#                               and regenerate mobile/src/api/schema.d.ts from it
#   scripts/mobile.sh check-schema   the same into a temporary folder; fails on any difference
#   scripts/mobile.sh test      check-schema, tsc --noEmit, ESLint, Jest
#   scripts/mobile.sh web       expo export --platform web into mobile/dist (skipped when its sources
#                               are unchanged since the last export)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
APP=$ROOT/mobile
PY=$ROOT/.venv/bin/python
# ESLint's and Jest's caches live with the user's other caches, so warm runs are quick.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/streamus
say() { printf '\033[1;35m[mobile]\033[0m %s\n' "$*"; }
# Timings for the report: each step says how long it took.
timed() {
  local what=$1; shift
  local start=$SECONDS
  "$@"
  say "$what: $((SECONDS - start)) s"
}

install() {
  local want
  want=$( (cat "$APP/package.json" "$APP/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$APP/node_modules/.streamus.sha" 2>/dev/null)" != "$want" ]; then
    say "npm ci (mobile/)"
    (cd "$APP" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$APP/node_modules/.streamus.sha"
  fi
}

# The schema as Django generates it (no database needed), then the TypeScript types from it.
generate() {
  local out=$1
  mkdir -p "$out"
  STREAMUS_ENV=test "$PY" "$ROOT/manage.py" spectacular --format openapi-json --validate --fail-on-warn \
    --file "$out/schema.json"
  (cd "$APP" && npx --no-install openapi-typescript "$out/schema.json" --output "$out/schema.d.ts" --silent)
}

schema() {
  install
  local tmp
  tmp=$(mktemp -d)
  generate "$tmp"
  mkdir -p "$APP/openapi"
  cp "$tmp/schema.json" "$APP/openapi/schema.json"
  cp "$tmp/schema.d.ts" "$APP/src/api/schema.d.ts"
  rm -rf "$tmp"
  say "wrote mobile/openapi/schema.json and mobile/src/api/schema.d.ts"
}

check_schema() {
  local tmp status=0
  tmp=$(mktemp -d)
  generate "$tmp"
  diff -u "$APP/openapi/schema.json" "$tmp/schema.json" > "$tmp/schema.diff" || status=1
  diff -u "$APP/src/api/schema.d.ts" "$tmp/schema.d.ts" >> "$tmp/schema.diff" || status=1
  if [ $status != 0 ]; then
    head -n 80 "$tmp/schema.diff" >&2
    rm -rf "$tmp"
    echo "The API schema and the app's generated client differ: run 'make mobile-schema' and commit." >&2
    return 1
  fi
  rm -rf "$tmp"
  say "generated API client matches the server's schema"
}

run_tests() {
  install
  timed "schema check" check_schema
  timed "tsc --noEmit" bash -c "cd '$APP' && npx --no-install tsc --noEmit"
  timed "eslint" bash -c "cd '$APP' && npx --no-install eslint --max-warnings 0 --cache --cache-strategy content --cache-location '$CACHE/eslint/' ."
  # Two workers: the machine has two cores and the Python suite runs after this.
  timed "jest" bash -c "cd '$APP' && CI=true npx --no-install jest --maxWorkers=2 --cacheDirectory '$CACHE/jest' ${JEST_ARGS:-}"
}

web() {
  install
  local want stamp=$APP/dist/.streamus.sha
  want=$( (cd "$APP" && find app.json app.config.ts package-lock.json metro.config.js src assets \
    -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -f "$APP/dist/index.html" ]; then
    say "web build up to date (mobile/dist)"
    return
  fi
  say "expo export --platform web"
  (cd "$APP" && rm -rf dist && CI=1 EXPO_NO_TELEMETRY=1 npx --no-install expo export --platform web --output-dir dist >/dev/null)
  echo "$want" > "$stamp"
}

case "${1:-}" in
  install) install ;;
  schema) schema ;;
  check-schema) install; check_schema ;;
  test) run_tests ;;
  web) timed "web build" web ;;
  *) echo "usage: $0 install|schema|check-schema|test|web" >&2; exit 2 ;;
esac
