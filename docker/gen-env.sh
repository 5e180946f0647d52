#!/usr/bin/env bash
# Write docker/.env for docker/compose.yaml, with fresh secrets.
#   docker/gen-env.sh DOMAIN PUBLIC_IP TURN_IP [ACME_EMAIL|internal] > docker/.env
# DOMAIN serves the studio; livekit.DOMAIN (LiveKit signalling) points at PUBLIC_IP too, and
# turn.DOMAIN at TURN_IP, a second address of the server, whose port 443 is TURN over TLS.
# Without an e-mail address Caddy uses its internal CA (browsers must trust it: testing only).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DOMAIN PUBLIC_IP TURN_IP [ACME_EMAIL|internal]" >&2
  exit 2
fi
domain=$1 public_ip=$2 turn_ip=$3 tls=${4:-internal}
secret() { python3 -c "import secrets; print(secrets.token_urlsafe($1))"; }
fernet=$(python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())")
issuer=acme-v02.api.letsencrypt.org-directory
[ "$tls" = internal ] && issuer=local
cat <<ENV
# docker/.env for docker/compose.yaml, written by docker/gen-env.sh on $(date -u +%Y-%m-%d).
# Keep it secret; back it up with the data (the Fernet key decrypts stored stream keys).
DOMAIN=$domain
LIVEKIT_DOMAIN=livekit.$domain
TURN_DOMAIN=turn.$domain
PUBLIC_IP=$public_ip
TURN_IP=$turn_ip
# Certificates: an e-mail address (ACME, Let's Encrypt) or internal (Caddy's own CA).
CADDY_TLS=$tls
TURN_CERT_ISSUER=$issuer

SECRET_KEY=$(secret 48)
STREAM_KEY_ENCRYPTION_KEYS=$fernet
LIVEKIT_API_KEY=API$(secret 9 | tr -dc 'A-Za-z0-9')
LIVEKIT_API_SECRET=$(secret 36)
POSTGRES_PASSWORD=$(secret 24)
MINIO_ROOT_PASSWORD=$(secret 24)
# Prometheus reads web's /metrics with this token; Grafana's admin logs in with this password
# (both on the server's loopback: docker compose --profile monitoring up -d).
METRICS_TOKEN=$(secret 36)
GRAFANA_ADMIN_PASSWORD=$(secret 18)

# Everything else in .env.example may be added here (e-mail, platform apps, Sentry).
EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend
ENV
