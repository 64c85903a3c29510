# ddb-bot: `python -m bot` (HTTP on PORT by default; Socket Mode if SLACK_APP_TOKEN is set).
#   docker build -t ddb-bot:0.1.0 .          # the tag is pyproject's version, never latest
#   docker run --env-file bot.env -p 3000:3000 ddb-bot:0.1.0
# Runtime dependencies only, from requirements.lock (pinned, hashed): moto, pytest and the
# other test/demo tools are never in the image.
# Closed by default: set DDB_BOT_READERS and DDB_BOT_APPROVERS (Slack user or user-group
# ids); serve and socket stop at start while either is empty, unless
# DDB_BOT_OPEN_ACCESS=true says the whole workspace is meant.

# Base image: pin it by digest for a reproducible build. The digest could not be looked up
# where this file was written (no registry access), so the default is the tag; resolve it
# with `docker buildx imagetools inspect python:3.11-slim` and build with
#   --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest>
# or write that digest here (README, Deployment, Containers).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# dependencies first, in a layer of their own: a code change does not reinstall them
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
  && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title=ddb-bot org.opencontainers.image.version=${VERSION}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=3000 \
    PYTHONPATH=/app
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ddbbot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# the source last: only these layers change with the code (run from /app, not installed)
COPY dynamo ./dynamo
COPY commands ./commands
COPY bot ./bot
USER 10001:10001
EXPOSE 3000
# GET /healthz on PORT in both modes (Socket Mode serves it too: 200 while connected);
# python's urllib, so the image needs no curl
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=2)"]
# SIGTERM: stop accepting, finish acknowledged work, exit 0
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
