# Stand-in for python:3.11-slim-bookworm: python and pip on PATH, apt available.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* && python3 -m venv /usr/local/python
ENV PATH=/usr/local/python/bin:$PATH
