#!/bin/sh
# `minio server /data` of the official image: an S3 endpoint on :9000 (moto; objects kept in memory).
[ "$1" = server ] || { echo "stand-in minio knows only: minio server <dir>" >&2; exit 2; }
exec /opt/moto/bin/moto_server -H 0.0.0.0 -p 9000
