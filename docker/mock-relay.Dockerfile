# The mock relay (tools/mock-relay) as a small image, for docker-compose.yml.
# Build context: the repository root (the workspace manifest names every member).
#   docker build -f docker/mock-relay.Dockerfile -t bluegreen-relay/mock-relay:dev .
# With BuildKit (docker compose v2, docker buildx), mock-relay.Dockerfile.dockerignore next to
# this file keeps target/ and .venv/ out of the build context.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY tools tools
RUN cargo build --locked --release -p mock-relay \
 && install -D -m 0755 target/release/mock-relay /out/mock-relay

# glibc and libgcc for a Rust binary, nothing else. The :debug variant adds a static busybox
# under /busybox, used only by the compose healthcheck (/busybox/wget).
FROM gcr.io/distroless/cc-debian12:debug-nonroot
COPY --from=build /out/mock-relay /usr/local/bin/mock-relay
USER nonroot
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/mock-relay"]
CMD ["--name", "relay", "--listen", "0.0.0.0:8080", "--admin", "0.0.0.0:8081"]
