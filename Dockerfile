# Statement Monitor daemon. Build: docker build -t statement-monitor .
# Run:   docker run -v $PWD/config:/config:ro -v monitor-data:/data statement-monitor
# The config mounted at /config/monitor.toml must set database = "/data/monitor.db".
# Pin the Debian release: it fixes the SQLite version.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN groupadd --system --gid 10001 monitor \
 && useradd --system --uid 10001 --gid monitor --no-create-home --shell /usr/sbin/nologin monitor \
 && mkdir -p /data /config && chown monitor:monitor /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY models ./models
COPY config/monitor.toml /config/monitor.toml
# The same install as `make run`: the package's dependencies with torch pinned in the same
# command (the CPU build: a plain torch would be a multi-GB CUDA build). A failure fails the build.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" . \
 && sed -i 's|^database = .*|database = "/data/monitor.db"|' /config/monitor.toml
USER monitor
VOLUME ["/data", "/config"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=180s --retries=3 \
  CMD ["monitor", "--config", "/config/monitor.toml", "status"]
CMD ["monitor", "--config", "/config/monitor.toml", "run"]
