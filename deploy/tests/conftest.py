"""Fixtures for the deploy tests: the offline tools, rendered manifests, the compose file.

The tools are installed once by deploy/tests/tools.sh into .cache/ (kustomize and
deploycheck from the Go module proxy, kubernetes-validate and check-jsonschema from
PyPI). After that everything here runs offline. If the installation fails (no Go, no
registry), the tests that need a tool skip and say which tool and why.
"""

from __future__ import annotations

import fcntl
import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from deploy_support import K8S, ROOT, TOOLS_SH, run_tool


@dataclass(frozen=True)
class Tools:
    kustomize: Path
    deploycheck: Path
    site: Path


@functools.cache
def _install_tools() -> Tools | str:
    """Run tools.sh once per session (`make test` has already run it, so this only checks); a string is
    the reason it failed. Test workers take turns: two builds of the same tools at once would each
    take twice as long."""
    lock_path = ROOT / ".cache" / "deploy-tools.lock"
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            done = subprocess.run(
                ["bash", str(TOOLS_SH)], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
            )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"deploy/tests/tools.sh could not run: {exc}"
    if done.returncode != 0:
        return f"deploy/tests/tools.sh failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
    found = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    bin_dir, site = Path(found["BIN"]), Path(found["SITE"])
    if str(site) not in sys.path:
        sys.path.append(str(site))
    return Tools(kustomize=bin_dir / "kustomize", deploycheck=bin_dir / "deploycheck", site=site)


@pytest.fixture(scope="session")
def tools() -> Tools:
    installed = _install_tools()
    if isinstance(installed, str):
        pytest.skip(installed)
    return installed


# --- Kubernetes -----------------------------------------------------------------


@functools.cache
def _render(kustomize: Path, target: str) -> tuple[dict, ...]:
    done = run_tool([str(kustomize), "build", str(K8S / target)])
    assert done.returncode == 0, f"kustomize build {target} failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@pytest.fixture(scope="session")
def render(tools: Tools):
    """render("overlays/prod") -> the documents kustomize builds (cached)."""
    return lambda target: list(_render(tools.kustomize, target))


@pytest.fixture(scope="session")
def dev(render) -> list[dict]:
    return render("overlays/dev")


@pytest.fixture(scope="session")
def prod(render) -> list[dict]:
    return render("overlays/prod")


# --- Compose --------------------------------------------------------------------


@pytest.fixture(scope="session")
def compose() -> dict:
    with open(ROOT / "docker-compose.yml") as stream:
        return yaml.safe_load(stream)


@pytest.fixture(scope="session")
def compose_loaded(tools: Tools) -> dict:
    """The compose project as compose-go (what `docker compose` runs) resolves it."""
    done = run_tool([str(tools.deploycheck), "compose", str(ROOT / "docker-compose.yml")], cwd=ROOT)
    assert done.returncode == 0, f"compose-go rejected docker-compose.yml:\n{done.stderr}"
    return json.loads(done.stdout)
