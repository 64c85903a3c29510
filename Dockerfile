# ddb-bot: `python -m bot` (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT).
#   docker build -t ddb-bot .
#   docker run --env-file bot.env -p 3000:3000 ddb-bot
# Runtime dependencies only (`pip install .`, no extras): moto, pytest and the other
# test/demo tools are never in the image.
# Closed by default: set DDB_BOT_READERS and DDB_BOT_APPROVERS (Slack user or user-group
# ids); serve and socket stop at start while either is empty, unless
# DDB_BOT_OPEN_ACCESS=true says the whole workspace is meant.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY dynamo ./dynamo
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=3000
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ddbbot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 3000
# GET /healthz on PORT in both modes (Socket Mode serves it too: 200 while connected);
# python's urllib, so the image needs no curl
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=2)"]
# SIGTERM: stop accepting, finish acknowledged work, exit 0
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
