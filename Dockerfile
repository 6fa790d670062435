# syntax=docker/dockerfile:1
# vsa_stream as a container: the wheel is built in a first stage (Rust, maturin), the runtime
# stage is a slim Python image with the wheel and its dependencies only (no compiler, no Rust).
#
#   docker build -t vsa-stream .
#   docker run --rm vsa-stream demo --fast
#   docker run -d --name vsa -v vsa-state:/var/lib/vsa \
#       -v "$PWD/vsa.yaml:/etc/vsa/vsa.yaml:ro" -e GATE_PASSWORD=... -p 8080:8080 vsa-stream
#
# Configuration: the file mounted at /etc/vsa/vsa.yaml, its ${VAR} taken from the environment
# (-e / --env-file). State (outbox, audit log, evidence): the volume at /var/lib/vsa.
# docs/operations.md describes build, run, upgrade and backup.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the abi3 manylinux wheel, as `make wheel` builds it --------------------------------
FROM rust:1.95.0-slim-bookworm AS build
# Debian bookworm's python3 is 3.11, the oldest CPython the abi3 wheel supports; unpinned so
# that a rebuild takes the distribution's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        make python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build
# The build environment first on PATH, as an activated one is: maturin finds zig through it.
ENV PATH=/opt/build/bin:$PATH
WORKDIR /src
COPY . .
# The wheel as CI builds it (maturin, linked by zig against glibc 2.17: manylinux_2_17).
RUN PIP_NO_CACHE_DIR=1 make wheel \
    && mkdir /dist && cp dist/vsa_stream-*.whl /dist/

# --- runtime: the wheel on a slim Python, run by an unprivileged user -------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 vsa \
    && useradd --system --uid 10001 --gid vsa --home-dir /var/lib/vsa --no-create-home \
        --shell /usr/sbin/nologin vsa \
    && install -d -o vsa -g vsa -m 0700 /var/lib/vsa \
    && install -d -m 0755 /etc/vsa
COPY --from=build /dist/ /tmp/dist/
# --only-binary: every dependency comes as a wheel; nothing is compiled in this stage.
RUN pip install --no-cache-dir --only-binary=:all: /tmp/dist/vsa_stream-*.whl \
    && rm -rf /tmp/dist
ENV PYTHONUNBUFFERED=1
WORKDIR /var/lib/vsa
VOLUME ["/var/lib/vsa"]
# Numeric, so that a runtime checking `runAsNonRoot` (Kubernetes) can tell it is not root.
USER 10001:10001
EXPOSE 8080
# /healthz answers while the daemon's event loop runs; it needs `server: {enabled: true}` in
# the configuration (set VSA_HEALTH_URL when the port or the scheme differs).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ.get('VSA_HEALTH_URL', 'http://127.0.0.1:8080/healthz'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["vsa-stream"]
CMD ["run", "/etc/vsa/vsa.yaml"]
