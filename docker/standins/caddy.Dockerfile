# Stand-in for caddy:2.11-alpine: the same binary path, data/config dirs and command.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY caddy /usr/bin/caddy
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
RUN mkdir -p /config /data /etc/caddy
EXPOSE 80 443
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
