# pmbot: one image for the api, worker and ui services (see docker-compose.yml).
# No secrets are baked in: the token comes from .env at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git keeps the optional local mirrors under /data/repos (PMBOT_MIRRORS).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

# Install the package (runtime deps only: bottle and waitress); pyproject.toml
# maps migrations/ and static/ into the wheel, so the sources can go.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY pmbot ./pmbot
COPY migrations ./migrations
COPY static ./static
RUN pip install . && rm -rf /build

# A non-root user; compose overrides the uid:gid with the operator's own so the
# mounted ./data stays owned by them. /app is an empty working directory (pmbot
# reads a .env from its working directory; compose passes env_file instead).
RUN groupadd --system --gid 1000 pmbot \
    && useradd --system --uid 1000 --gid pmbot --no-create-home pmbot \
    && mkdir -p /data /app \
    && chown pmbot:pmbot /data
WORKDIR /app
USER pmbot

ENV PMBOT_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PMBOT_PORT', '8000'), timeout=4)"]

CMD ["python", "-m", "pmbot", "serve", "--host", "0.0.0.0"]
