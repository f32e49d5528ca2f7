#!/usr/bin/env bash
# Installs, once, the offline tools deploy/tests needs, under <repo>/.cache:
#   .cache/bin/kustomize     sigs.k8s.io/kustomize/kustomize/v5 (Go module proxy)
#   .cache/bin/deploycheck   deploy/tests/tools/deploycheck: BuildKit's Dockerfile parser and
#                            build checks, compose-go's loader, Docker's .dockerignore matcher
#   .cache/deploy-tools/site kubernetes-validate (Kubernetes JSON schemas, every minor version)
#                            and check-jsonschema (for the compose-spec schema it vendors),
#                            installed --no-deps next to the project's own jsonschema/pyyaml
# Run again after changing a version below; prints the tool directories when done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${CACHE_DIR:-$ROOT/.cache}"
BIN="$CACHE/bin"
SITE="$CACHE/deploy-tools/site"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

# v5.8.3 needs Go >= 1.27; this machine has 1.26.
KUSTOMIZE_VERSION=v5.8.2
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
IMPORTLIB_RESOURCES_VERSION=6.5.2   # kubernetes-validate imports it; not in requirements.lock

mkdir -p "$BIN" "$SITE"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

if ! "$BIN/kustomize" version 2>/dev/null | grep -qx "$KUSTOMIZE_VERSION"; then
  echo "==> kustomize $KUSTOMIZE_VERSION" >&2
  GOBIN="$BIN" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi

# Rebuilt whenever its source changes (the stamp is the hash of the source files).
stamp="$BIN/.deploycheck.sha256"
want="$(cat "$ROOT"/deploy/tests/tools/deploycheck/{go.mod,go.sum,main.go} | sha256sum | cut -d' ' -f1)"
if [ ! -x "$BIN/deploycheck" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> deploycheck" >&2
  (cd "$ROOT/deploy/tests/tools/deploycheck" && GOBIN="$BIN" go install .)
  echo "$want" > "$stamp"
fi

stamp="$SITE/.versions"
want="$KUBERNETES_VALIDATE_VERSION $CHECK_JSONSCHEMA_VERSION $IMPORTLIB_RESOURCES_VERSION"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> kubernetes-validate $KUBERNETES_VALIDATE_VERSION, check-jsonschema $CHECK_JSONSCHEMA_VERSION" >&2
  rm -rf "$SITE" && mkdir -p "$SITE"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --target "$SITE" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
    "importlib-resources==$IMPORTLIB_RESOURCES_VERSION"
  echo "$want" > "$stamp"
fi

echo "BIN=$BIN"
echo "SITE=$SITE"
