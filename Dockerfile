# strexforce: a multi-stage build. The builder compiles the release binaries; the runtime
# images hold one binary each, run as an unprivileged user, and nothing else. Migrations are
# compiled into the binary; the shipped mappings are copied next to it.
#
#   docker build -t strexforce .                         # the service (target runtime)
#   docker build --target emulator -t sf-emulator .      # the local Salesforce emulator

FROM rust:1-bookworm AS builder
WORKDIR /build
# The whole workspace (see .dockerignore): the demo embeds the sample forwards, and Cargo
# reads every target of the manifest.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --workspace --bins \
    && mkdir -p /out \
    && cp target/release/strexforce target/release/sf-emulator /out/

FROM debian:bookworm-slim AS base
# TLS to Salesforce and Target365 verifies against the system's CA certificates.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin strexforce
USER 10001:10001

FROM base AS emulator
COPY --from=builder /out/sf-emulator /usr/local/bin/sf-emulator
ENV SF_EMULATOR_LISTEN=0.0.0.0:8081
EXPOSE 8081
ENTRYPOINT ["sf-emulator"]

FROM base AS runtime
COPY --from=builder /out/strexforce /usr/local/bin/strexforce
COPY mappings /etc/strexforce/mappings
# Listen on every interface inside the container; the platform decides what reaches it.
ENV STREXFORCE_LISTEN=0.0.0.0:8080 \
    STREXFORCE_MAPPINGS_DIR=/etc/strexforce/mappings \
    STREXFORCE_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["strexforce"]
CMD ["serve"]
