# Candor's container image: built in the Rust image, run from Debian's slim image as a non-root
# user with its data in a volume. docs/install.md says how to run it; CI lints this file with
# hadolint but builds no image (its machines have no container engine).
#
#   docker build --build-arg CANDOR_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t candor .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# .git is not in the build context (.dockerignore): the commit comes in as an argument.
ARG CANDOR_GIT_COMMIT=unknown
ENV CANDOR_GIT_COMMIT=${CANDOR_GIT_COMMIT}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p candor \
    && install -m 0755 target/release/candor /usr/local/bin/candor

FROM debian:bookworm-slim
# ca-certificates: TLS to PostgreSQL, Redis, other providers; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/candor \
        --shell /usr/sbin/nologin candor \
    && install -d -o candor -g candor -m 0750 /var/lib/candor
COPY --from=build /usr/local/bin/candor /usr/local/bin/candor
# The SQLite store, the call log and the master key, unless PostgreSQL and CANDOR_MASTER_KEY
# hold them.
VOLUME ["/var/lib/candor"]
WORKDIR /var/lib/candor
USER 10001:10001
ENV CANDOR_DATA=/var/lib/candor \
    CANDOR_SERVER_LISTEN=0.0.0.0:8080 \
    CANDOR_LOG_FORMAT=json
EXPOSE 8080
# Ready: listening, migrated, and the store accepts a write.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["candor"]
# Set CANDOR_SERVER_ISSUER (or mount a --config file): the URL clients reach this server by.
CMD ["serve"]
