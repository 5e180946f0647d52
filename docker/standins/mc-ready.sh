#!/bin/sh
# `mc ready local` of the official image, for the health check: the S3 stand-in answers.
[ "$1" = ready ] || { echo "stand-in mc knows only: mc ready local" >&2; exit 2; }
exec curl -fsS -o /dev/null http://127.0.0.1:9000/moto-api/
