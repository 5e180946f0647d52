# Stand-in for minio/minio: an S3-protocol server (moto's, pinned like the Python tests' copy) behind
# the image's interface: `minio server /data` as the command, `mc ready local` for the health check.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG MOTO_VERSION
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv curl \
 && rm -rf /var/lib/apt/lists/* && python3 -m venv /opt/moto \
 && /opt/moto/bin/pip install --no-cache-dir "moto[s3,server]==${MOTO_VERSION}"
COPY minio-server.sh /usr/bin/minio
COPY mc-ready.sh /usr/bin/mc
ENTRYPOINT ["minio"]
