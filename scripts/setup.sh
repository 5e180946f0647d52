#!/usr/bin/env bash
# Install everything StreamUs needs on a Debian machine; quick when nothing changed.
#   scripts/setup.sh            runtime + dev dependencies
# Caches: .venv/ (Python), node_modules/, .cache/bin (livekit-server); pip, npm and the
# livekit build also keep copies in the user's cache (~/.cache) so fresh clones are quick.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

LIVEKIT_VERSION=v1.13.5
APT_PACKAGES=(redis-server postgresql ffmpeg nginx libnginx-mod-rtmp libnginx-mod-stream chromium chromium-driver
              fonts-dejavu-core procps
              # tests/observability: a real Prometheus and promtool
              prometheus
              # tests/deploy: a Docker engine and a locally made base image, network namespaces
              docker.io debootstrap iptables iproute2 util-linux
              # tests/deploy/test_across_nat.py: the test CA into Chromium's NSS database
              libnss3-tools)

# 1. System packages (apt), only the missing ones.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "apt: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these as system services on install; we run our own on loopback.
  # The tests start their own dockerd (scripts/docker-testenv.sh), with its own data root.
  for svc in redis-server nginx postgresql prometheus docker containerd; do $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
else
  say "apt: all ${#APT_PACKAGES[@]} packages present"
fi

# 2. Python virtualenv with pinned requirements; reinstall only when they change.
if [ ! -x .venv/bin/python ]; then
  say "python: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements/*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "python: installing requirements/dev.txt"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements/dev.txt
  echo "$want" > "$stamp"
else
  say "python: requirements up to date"
fi

# 3. Front-end bundle (npm, esbuild): static/dist/. Nothing comes from a CDN at run time.
if [ -f package.json ]; then
  lockhash=$( (cat package.json package-lock.json 2>/dev/null) | sha256sum | cut -d' ' -f1)
  if [ "$(cat node_modules/.streamus.sha 2>/dev/null)" != "$lockhash" ]; then
    say "npm: installing front-end packages"
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
    echo "$lockhash" > node_modules/.streamus.sha
  else
    say "npm: packages up to date"
  fi
  say "npm: building static/dist"
  npm run --silent build
fi

# 4. LiveKit server, built from its release tag with Go; rebuilt only when the pin changes.
#    The build is kept in the user's cache so fresh clones on the same machine reuse it.
LK=.cache/bin/livekit-server
USER_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/streamus
CACHED=$USER_CACHE/livekit-server-$LIVEKIT_VERSION
if [ "$("$LK" --version 2>/dev/null | awk '{print $3}')" != "${LIVEKIT_VERSION#v}" ]; then
  mkdir -p .cache/bin "$USER_CACHE"
  if [ ! -x "$CACHED" ]; then
    say "livekit: building livekit-server $LIVEKIT_VERSION with go install (a few minutes, once)"
    tmpbin=$(mktemp -d)
    (cd /tmp && GOBIN=$tmpbin go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION")
    mv "$tmpbin/server" "$CACHED"; rmdir "$tmpbin"
  fi
  cp "$CACHED" "$LK"
  say "livekit: livekit-server $LIVEKIT_VERSION installed"
else
  say "livekit: livekit-server $LIVEKIT_VERSION present"
fi
# 5. Tools for the deployment tests (tests/deploy), built from the Go module proxy and kept in the
#    user's cache: the compose v2 plugin, Caddy and MinIO (scripts/docker-testenv.sh tools).
scripts/docker-testenv.sh tools
say "done"
