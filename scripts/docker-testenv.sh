#!/usr/bin/env bash
# A Docker engine for the compose tests (tests/deploy), built and cached on this machine.
#   scripts/docker-testenv.sh tools   compose plugin + Caddy built from the Go module proxy (cached)
#   scripts/docker-testenv.sh start   dockerd on its own socket (unless one answers there), base image imported
#   scripts/docker-testenv.sh stop    stops the dockerd that `start` started (its data stays cached)
#   scripts/docker-testenv.sh standins  the stand-ins' build context: docker/standins + binaries (prints its path)
#   scripts/docker-testenv.sh env     prints the variables a shell needs to use it (eval "$(... env)")
#
# Nothing comes from a container registry (none is reachable here):
# - the engine is Debian's docker.io (installed by scripts/setup.sh), with its data root in the
#   user's cache so image layers survive between runs: a warm run rebuilds nothing;
# - the base image is a debootstrap of Debian bookworm, imported once, with the host's CA bundle
#   (containers trust what the host trusts: package mirrors, PyPI, the Go proxy);
# - the third-party services of docker/compose.yaml are stand-ins built FROM that base by
#   docker/compose.test.yaml: PostgreSQL, Redis, Python and Node from Debian's packages; Caddy,
#   MinIO and livekit-server built from the Go module proxy by this script and setup.sh;
# - the compose v2 plugin is built from its module on the Go module proxy (`go install` refuses
#   it because its go.mod has exclude directives, so it is built with `go build` in the module dir).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[docker-testenv]\033[0m %s\n' "$*" >&2; }

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/streamus
DOCKER_CACHE=$CACHE/docker
RUN_DIR=/run/streamus-docker
SOCK=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/dockerd.pid
STARTED_MARK=$RUN_DIR/started-by-testenv
COMPOSE_VERSION=v5.6.0            # newest that builds with this machine's Go
# The S3 stand-in is moto's server (the same one the Python tests use), not a MinIO build: MinIO
# takes 6-12 minutes of a 2-core machine to compile and plays no part in what the test proves.
MOTO_VERSION=$(sed -n 's/^moto\[s3,server\]==//p' requirements/dev.txt)
CADDY_VERSION=v2.11.9             # the official image compose.yaml names is caddy:2.11
LIVEKIT_VERSION=$(sed -n 's/^LIVEKIT_VERSION=//p' scripts/setup.sh)
BASE_IMAGE=streamus-test/bookworm:base
DOCKER=/usr/bin/docker            # Debian's client, matching its engine
export DOCKER_HOST=unix://$SOCK
export DOCKER_CONFIG=$DOCKER_CACHE/config

tools() {
  mkdir -p "$CACHE" "$DOCKER_CONFIG/cli-plugins"
  local compose=$CACHE/docker-compose-$COMPOSE_VERSION
  if [ ! -x "$compose" ]; then
    say "compose: building docker compose $COMPOSE_VERSION from the Go module proxy (once)"
    local dir
    dir=$(cd /tmp && go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    (cd "$dir" && go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
      -o "$compose.tmp" ./cmd)
    mv "$compose.tmp" "$compose"
  fi
  ln -sf "$compose" "$DOCKER_CONFIG/cli-plugins/docker-compose"
  local caddy=$CACHE/caddy-$CADDY_VERSION
  if [ ! -x "$caddy" ]; then
    say "caddy: building Caddy $CADDY_VERSION from the Go module proxy (once)"
    local bin
    bin=$(mktemp -d)
    (cd /tmp && CGO_ENABLED=0 GOBIN=$bin go install -trimpath -ldflags "-s -w" "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION")
    mv "$bin/caddy" "$caddy"; rmdir "$bin"
  fi
}

engine_up() { "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  mkdir -p "$RUN_DIR" "$DOCKER_CACHE/data"
  if engine_up; then
    say "dockerd: already answering on $SOCK"
  else
    say "dockerd: starting (data root $DOCKER_CACHE/data)"
    # Container networks from the documentation ranges (never a private or public range), and
    # the default bridge too; iptables on so builds reach the package registries through NAT.
    setsid /usr/sbin/dockerd \
      --host "$DOCKER_HOST" --pidfile "$PIDFILE" \
      --data-root "$DOCKER_CACHE/data" --exec-root "$RUN_DIR/exec" \
      --bip 192.0.2.129/26 --default-address-pool base=198.51.100.128/25,size=28 \
      --storage-driver overlay2 --log-driver local \
      >"$RUN_DIR/dockerd.log" 2>&1 < /dev/null &
    echo $! > "$STARTED_MARK"
    for _ in $(seq 150); do engine_up && break; sleep 0.2; done
    engine_up || { tail -30 "$RUN_DIR/dockerd.log" >&2; say "dockerd did not start"; exit 1; }
  fi
  base
}

base() {
  if "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    return
  fi
  local tarball=$DOCKER_CACHE/bookworm-base.tar
  if [ ! -s "$tarball" ]; then
    say "base: debootstrap of Debian bookworm (once, a few minutes)"
    local root
    root=$(mktemp -d /tmp/streamus-bookworm.XXXXXX)
    debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian >"$DOCKER_CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$DOCKER_CACHE/debootstrap.log" >&2; exit 1; }
    # The same mirrors and trust as the host: its CA bundle (package mirrors and registries are
    # reached through this machine's network, whose TLS the host's bundle vouches for).
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
      > "$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  say "base: importing $BASE_IMAGE"
  "$DOCKER" import "$tarball" "$BASE_IMAGE" >/dev/null
}

standins() {
  tools >&2
  # One small build context per stand-in (the classic builder sends the whole context every time).
  local dir=$DOCKER_CACHE/standins
  local name
  rm -rf "$dir"
  for name in python node caddy livekit minio postgres redis; do
    mkdir -p "$dir/$name"
    cp -f "docker/standins/$name.Dockerfile" "$dir/$name/Dockerfile"
  done
  cp -f docker/standins/postgres-entrypoint.sh "$dir/postgres/"
  cp -f docker/standins/redis-entrypoint.sh "$dir/redis/"
  cp -f docker/standins/mc-ready.sh docker/standins/minio-server.sh "$dir/minio/"
  # Hard links: the binaries are large and the cache is on one filesystem.
  ln -f "$CACHE/caddy-$CADDY_VERSION" "$dir/caddy/caddy"
  ln -f "$CACHE/livekit-server-$LIVEKIT_VERSION" "$dir/livekit/livekit-server"
  echo "$dir"
}

stop() {
  if [ -f "$STARTED_MARK" ]; then
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null || cat "$STARTED_MARK")
    say "dockerd: stopping ($pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$STARTED_MARK"
  fi
}

case "${1:-}" in
  tools) tools ;;
  start) start ;;
  stop) stop ;;
  standins) standins ;;
  env) printf 'export DOCKER_HOST=%q DOCKER_CONFIG=%q BASE_IMAGE=%q MOTO_VERSION=%q\n' "$DOCKER_HOST" "$DOCKER_CONFIG" "$BASE_IMAGE" "$MOTO_VERSION" ;;
  *) echo "usage: $0 tools|start|stop|standins|env" >&2; exit 2 ;;
esac
