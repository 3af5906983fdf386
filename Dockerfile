# The highwater container image: a build stage with the Rust toolchain, then a small Debian
# runtime holding only the binary, its example config and curl for the health check.
#
#   docker build -t highwater .
#   docker run -d -e DISCORD_TOKEN=... -v highwater-data:/data highwater

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && cp target/release/highwater /usr/local/bin/highwater

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin highwater \
    && mkdir -p /data /etc/highwater \
    && chown highwater:highwater /data
COPY --from=build /usr/local/bin/highwater /usr/local/bin/highwater
COPY config/highwater.toml /etc/highwater/highwater.toml
ENV HIGHWATER_CONFIG=/etc/highwater/highwater.toml \
    HIGHWATER__STORE__PATH=/data/highwater.db \
    HIGHWATER__HTTP__LISTEN=0.0.0.0:9464
VOLUME ["/data"]
WORKDIR /data
USER highwater
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "--fail", "--silent", "--max-time", "4", "http://127.0.0.1:9464/healthz"]
# SIGTERM lets the message in flight finish and be recorded before the container stops.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/highwater"]
CMD ["run"]
