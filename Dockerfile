# gatehouse in a container (README, "Container"). Multi-stage: Debian 12 builds it with `make`,
# debian:12-slim runs it with only the runtime libraries, as a non-root user, on a read-only root
# filesystem; its one writable place is the volume /var/lib/gatehouse (the SQLite store, and
# SQLite's temporary files). `make check-examples` checks that the runtime packages below provide
# every library the built binary needs.
#
#   docker build -t gatehouse --build-arg GIT_REV=$(git rev-parse --short HEAD) .
#   docker run --read-only -p 8080:8080 -v gatehouse-data:/var/lib/gatehouse \
#     --env-file gatehouse.env gatehouse
#
# gatehouse.env holds the settings and secrets (examples/systemd/gatehouse.env; without
# GATEHOUSE_DB and GATEHOUSE_LISTEN, which are set below). With PostgreSQL (GATEHOUSE_DB=
# postgresql://..., as in examples/kubernetes/) the store is not on the volume.

FROM debian:12 AS build
ARG GIT_REV=unknown
WORKDIR /src
# `make deps` installs the Debian build packages the Makefile names (DEB_BUILD).
COPY Makefile ./
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make \
 && make deps \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" GIT_REV="$GIT_REV" && build/gatehouse --version

FROM debian:12-slim
# The libraries build/gatehouse links (libmicrohttpd, libcurl, cJSON, SQLite, OpenSSL, libpq),
# CA certificates for Entra's discovery and JWKS, and curl for the health check.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libcurl4 libcjson1 libsqlite3-0 libssl3 libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 gatehouse \
 && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/gatehouse --no-create-home \
      --shell /usr/sbin/nologin gatehouse \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/gatehouse
COPY --from=build /src/build/gatehouse /usr/local/bin/gatehouse
ENV GATEHOUSE_LISTEN=0.0.0.0:8080 \
    GATEHOUSE_DB=/var/lib/gatehouse/gatehouse.db \
    SQLITE_TMPDIR=/var/lib/gatehouse
VOLUME /var/lib/gatehouse
WORKDIR /var/lib/gatehouse
# the same uid as examples/kubernetes/deployment.yaml's runAsUser
USER 65532:65532
EXPOSE 8080
# /healthz answers 200 while the process serves (it never depends on the store or Entra).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
# SIGTERM: stop accepting, finish requests in flight (GATEHOUSE_SHUTDOWN_GRACE), exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gatehouse"]
