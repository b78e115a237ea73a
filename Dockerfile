# LGSP Gateway: the image a province runs (issue 19). Two stages: the locked runtime
# dependencies and the gateway built into a virtualenv, then copied onto a clean slim base
# that holds no compiler, no pip cache and no test tools, and runs as a user of its own.
#
#   docker build -t lgsp-gateway .
#   docker run --rm -e LGSP_DATABASE_URL=... lgsp-gateway serve --host 0.0.0.0 --no-workers
#   docker run --rm -e ... lgsp-gateway worker
#   docker run --rm -e ... lgsp-gateway db upgrade

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# the pinned runtime dependencies first: their layer is rebuilt only when the lock changes
COPY requirements-runtime.lock ./
RUN python -m venv /opt/lgsp \
    && /opt/lgsp/bin/pip install --no-cache-dir --no-deps -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY connectors ./connectors
COPY schemas ./schemas
RUN /opt/lgsp/bin/pip install --no-cache-dir --no-deps . \
    && /opt/lgsp/bin/lgsp --version

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="LGSP Gateway" \
      org.opencontainers.image.description="Integration gateway between a province's one-stop case system and the national platforms"
RUN groupadd --system --gid 10001 lgsp \
    && useradd --system --uid 10001 --gid lgsp --home-dir /var/lib/lgsp --create-home \
       --shell /usr/sbin/nologin lgsp
COPY --from=build /opt/lgsp /opt/lgsp
ENV PATH=/opt/lgsp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LGSP_LOG_JSON=true
USER 10001:10001
WORKDIR /var/lib/lgsp
EXPOSE 8000 9100
# the API's liveness; a worker's image runs the same check against its metrics port instead
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["lgsp"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--no-workers"]
