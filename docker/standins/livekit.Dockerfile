# Stand-in for livekit/livekit-server: the binary at /livekit-server as the entrypoint; wget for the health check.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/*
COPY livekit-server /livekit-server
ENTRYPOINT ["/livekit-server"]
