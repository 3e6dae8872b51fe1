# syntax=docker/dockerfile:1
# `modeltrail serve` for a team: the Slack bot, /healthz, /metrics, the monitoring API, the
# digest schedule and the outbox dispatcher in one process. See README, "Run it for your team".

# Build stage: the wheel, installed with every runtime extra into a virtual environment that
# the final image copies whole, so no build tool or pip cache is left in it.
FROM python:3.12-slim AS build
WORKDIR /src
COPY . .
RUN python -m venv /opt/modeltrail \
 && /opt/modeltrail/bin/pip install --no-cache-dir --quiet --upgrade pip \
 && /opt/modeltrail/bin/pip wheel --no-cache-dir --quiet --no-deps --wheel-dir /tmp/dist . \
 && /opt/modeltrail/bin/pip install --no-cache-dir --quiet "$(ls /tmp/dist/modeltrail-*.whl)[all]"

FROM python:3.12-slim
# A fixed numeric user, so `runAsNonRoot` can check it; its home is where the default SQLite
# registry would live (mount a volume there), though compose.yaml uses PostgreSQL.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/modeltrail modeltrail
COPY --from=build /opt/modeltrail /opt/modeltrail
# git itself is not in the image (versions are registered where the code is); GitPython is
# told not to look for it at import.
ENV PATH=/opt/modeltrail/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GIT_PYTHON_REFRESH=quiet \
    MODELTRAIL_HTTP_HOST=0.0.0.0 \
    MODELTRAIL_HTTP_PORT=3000 \
    MODELTRAIL_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/modeltrail
EXPOSE 3000
# The image has no curl: the healthcheck is Python's urllib, exit 0 on 200, 1 otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MODELTRAIL_HTTP_PORT', '3000') + '/healthz', timeout=4)"]
# serve stops cleanly on SIGTERM (docker stop): it finishes in-flight requests and exits 0.
ENTRYPOINT ["modeltrail", "serve"]
