"""services/*/Dockerfile and .dockerignore, checked without a Docker engine.

BuildKit's own parser and build checks read every Dockerfile (deploycheck); the
scripts the images carry (entrypoint, healthcheck) and the requirement selection
are run here for real; and the packages each service imports must be in its image.
"""

from __future__ import annotations

import ast
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from deploy_support import API_PORTS, BANKSIM_PORT, FACE_CACHE_DIR, IMAGES, ROOT, WORKER_PORTS, run_tool

DOCKERFILES = {svc: ROOT / "services" / svc / "Dockerfile" for svc in IMAGES}


@pytest.fixture(scope="module")
def parsed(tools) -> dict[str, dict]:
    done = run_tool([str(tools.deploycheck), "dockerfile", *map(str, DOCKERFILES.values())])
    assert done.returncode == 0, done.stderr
    return {Path(report["file"]).parent.name: report for report in json.loads(done.stdout)}


def commands(report: dict, stage: str) -> list[str]:
    return next(s for s in report["stages"] if s["name"] == stage)["commands"]


def heredoc(svc: str, target: str) -> str:
    """The body of `COPY <<'EOF' <target>` in a Dockerfile."""
    text = DOCKERFILES[svc].read_text()
    match = re.search(rf"COPY --chmod=0755 <<'EOF' {re.escape(target)}\n(.*?)\nEOF\n", text, re.S)
    assert match, f"{svc}: no heredoc for {target}"
    return match.group(1) + "\n"


def arg_default(svc: str, name: str) -> str:
    match = re.search(rf'^ARG {name}="([^"]*)"$', DOCKERFILES[svc].read_text(), re.M)
    assert match, f"{svc}: no ARG {name}"
    return match.group(1)


def test_buildkit_parses_every_dockerfile_without_a_warning(parsed):
    assert set(parsed) == set(IMAGES)
    for svc, report in parsed.items():
        assert report["warnings"] == [], f"{svc}: {report['warnings']}"


def test_the_build_checks_are_live(tools, tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11.14-slim-trixie as Build\nCOPY x $NOWHERE\nCMD python -m x\n")
    done = run_tool([str(tools.deploycheck), "dockerfile", str(bad)])
    rules = {w.split(":")[0] for w in json.loads(done.stdout)[0]["warnings"]}
    assert {"FromAsCasing", "StageNameCasing", "JSONArgsRecommended", "UndefinedVar"} <= rules


def test_multi_stage_from_one_pinned_slim_python_311(parsed):
    bases = set()
    for svc, report in parsed.items():
        assert [s["name"] for s in report["stages"]] == ["build", "runtime"], svc
        bases.add(arg_default_from(svc))
    assert len(bases) == 1, f"the images disagree on their base: {bases}"
    for svc, path in DOCKERFILES.items():
        text = path.read_text()
        # Versions come from requirements.lock, in the build and in the runtime install alike.
        assert "pip wheel --wheel-dir /wheels/deps -c requirements.lock -r /wheels/runtime.txt" in text, svc
        assert "--no-index --find-links /wheels/deps -c /wheels/requirements.lock -r /wheels/runtime.txt" in text, svc
        assert "--mount=type=bind,from=build,source=/wheels,target=/wheels" in text, svc
    (base,) = bases
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", base), base


def arg_default_from(svc: str) -> str:
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILES[svc].read_text(), re.M)
    assert match, svc
    return match.group(1)


def test_runtime_runs_as_a_non_root_user_with_health_and_entrypoint(parsed):
    for svc, report in parsed.items():
        runtime = commands(report, "runtime")
        users = [c for c in runtime if c.startswith("USER ")]
        assert users == ["USER 10001:10001"], svc
        # Nothing after USER may need root.
        after = runtime[runtime.index(users[0]) :]
        assert not any(c.startswith(("RUN ", "COPY ")) for c in after), svc
        assert any(c.startswith("HEALTHCHECK") and '["jmo-healthcheck", "/healthz"]' in c for c in runtime), svc
        assert 'ENTRYPOINT ["jmo-entrypoint"]' in runtime, svc
        assert 'CMD ["api"]' in runtime, svc


def test_each_image_names_its_service_and_ports(parsed):
    for svc, report in parsed.items():
        runtime = commands(report, "runtime")
        env = dict(
            pair.split("=", 1) for cmd in runtime if cmd.startswith("ENV ") for pair in cmd.split()[1:]
        )  # fmt: skip
        prefix = svc.upper()
        port = BANKSIM_PORT if svc == "banksim" else API_PORTS[svc]
        assert env["JMO_SERVICE"] == svc
        assert env[f"{prefix}_HOST"] == "0.0.0.0"
        assert env[f"{prefix}_PORT"] == str(port)
        if svc == "banksim":
            assert f"{prefix}_WORKER_PORT" not in env
            assert f"EXPOSE {port}" in runtime
        else:
            assert env[f"{prefix}_WORKER_PORT"] == str(WORKER_PORTS[svc])
            assert f"EXPOSE {port} {WORKER_PORTS[svc]}" in runtime


def test_identity_bakes_in_and_checks_the_face_models():
    from jmo_identity.face.models import prepare_models  # what the build runs

    assert callable(prepare_models)
    text = DOCKERFILES["identity"].read_text()
    assert "pip wheel --no-deps --wheel-dir /wheels/nodeps -r requirements-nodeps.txt" in text
    assert "pip install --no-index --no-deps /wheels/nodeps/*.whl" in text
    assert "prepare_models(" in text
    assert f"IDENTITY_FACE_CACHE_DIR={FACE_CACHE_DIR}" in text
    assert f"mkdir -p {FACE_CACHE_DIR}" in text
    for svc in set(IMAGES) - {"identity"}:
        assert "requirements-nodeps.txt\n" not in DOCKERFILES[svc].read_text().split("COPY requirements.in")[1]


# --- what goes into each image ---------------------------------------------------


@cache
def selected_requirements(svc: str) -> tuple[str, ...]:
    """Run the Dockerfile's own sed/grep selection over requirements.in."""
    text = DOCKERFILES[svc].read_text()
    match = re.search(r'(sed -n "/\^\$\{REQUIREMENTS_FROM\}.*?)> /wheels/runtime\.txt', text, re.S)
    assert match, svc
    pipeline = match.group(1).replace("\\\n", " ")
    env = dict(
        os.environ,
        REQUIREMENTS_FROM=arg_default(svc, "REQUIREMENTS_FROM"),
        REQUIREMENTS_UNTIL=arg_default(svc, "REQUIREMENTS_UNTIL"),
        LOCAL_ONLY=arg_default(svc, "LOCAL_ONLY"),
    )
    done = subprocess.run(["sh", "-c", pipeline], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return tuple(line for line in done.stdout.splitlines() if line.strip())


def test_requirement_sections_exist_in_order():
    headers = [line for line in (ROOT / "requirements.in").read_text().splitlines() if line.startswith("# ")]
    markers = {arg_default(svc, name) for svc in IMAGES for name in ("REQUIREMENTS_FROM", "REQUIREMENTS_UNTIL")}
    found = {m: next((i for i, h in enumerate(headers) if h.startswith(m)), None) for m in markers}
    assert None not in found.values(), found
    assert found["# Runtime"] < found["# Face verification"] < found["# Tests and tooling"]


@pytest.mark.parametrize("svc", IMAGES)
def test_images_get_the_runtime_stack_and_never_local_or_test_tools(svc):
    names = {Requirement(r).name.lower() for r in selected_requirements(svc)}
    assert {"fastapi", "uvicorn", "pymongo", "aiokafka", "prometheus-client"} <= names
    assert not names & {"secantusdb", "supervisor", "pytest", "pytest-asyncio", "jsonschema", "pyyaml"}
    face = {"onnxruntime", "onnx", "opencv-python-headless", "numpy"}
    assert (face <= names) if svc == "identity" else not (face & names), svc


def dependency_closure(requirements: list[str]) -> set[str]:
    """Installed distributions that pip would install for these requirements (markers and extras applied)."""
    seen: set[str] = set()
    todo = [(Requirement(r), set()) for r in requirements]
    while todo:
        req, _ = todo.pop()
        name = req.name.lower().replace("_", "-")
        extras = set(req.extras)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for spec in dist.requires or []:
            dep = Requirement(spec)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((dep, set()))
    return {key.split("[")[0] for key in seen}


def _module_file(module: str, svc: str) -> Path | None:
    """Where a jmo_* module of this image lives in the source tree."""
    parts = module.split(".")
    roots = {"jmo_shared": ROOT / "shared", f"jmo_{svc}": ROOT / "services" / svc}
    if parts[0] not in roots:
        return None
    base = roots[parts[0]].joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of_service(svc: str) -> set[str]:
    """Third-party top-level modules reachable from the service's package.

    Follows jmo_* imports (absolute and relative, lazy ones too) from every module
    of jmo_<svc>, so tooling modules of jmo_shared that no service imports (the
    contract generator, the test helpers) do not count.
    """
    stdlib = set(sys.stdlib_module_names)
    package = ROOT / "services" / svc / f"jmo_{svc}"
    todo = [
        ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
    ]
    seen: set[str] = set()
    third_party: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module, svc)
        if path is None:
            continue
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top.startswith("jmo_"):
                    todo.append(name)
                elif top and top not in stdlib:
                    third_party.add(top)
    return third_party


@pytest.mark.parametrize("svc", IMAGES)
def test_every_package_the_service_imports_is_in_its_image(svc):
    """A service importing a library its image does not install fails here, not in production."""
    installed = dependency_closure(list(selected_requirements(svc)))
    if svc == "identity":
        nodeps = [
            line.strip() for line in (ROOT / "requirements-nodeps.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]  # fmt: skip
        installed |= {Requirement(r).name.lower() for r in nodeps}
    providers = metadata.packages_distributions()
    missing = {}
    for module in imports_of_service(svc):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not dists & installed:
            missing[module] = sorted(dists) or "not installed anywhere"
    assert not missing, f"jmo_{svc} imports what its image lacks: {missing}"


# --- the scripts the images carry ------------------------------------------------


@pytest.fixture()
def fake_python(tmp_path) -> Path:
    """A `python` that prints the arguments it was started with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\necho "python $*"\n')
    fake.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("svc", IMAGES)
def test_entrypoint_runs_api_worker_or_a_given_command(svc, fake_python, tmp_path):
    script = tmp_path / "jmo-entrypoint"
    script.write_text(heredoc(svc, "/usr/local/bin/jmo-entrypoint"))
    env = {"PATH": f"{fake_python}:/usr/bin:/bin", "JMO_SERVICE": svc}

    def run(*args: str) -> str:
        return subprocess.run(["sh", str(script), *args], env=env, capture_output=True, text=True, check=True).stdout

    assert run() == f"python -m jmo_{svc}.entrypoints.api\n"
    assert run("api") == f"python -m jmo_{svc}.entrypoints.api\n"
    assert run("worker") == f"python -m jmo_{svc}.entrypoints.worker\n"
    assert run("echo", "hello") == "hello\n"


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("svc", IMAGES)
def test_healthcheck_passes_only_on_a_200_from_the_service_port(svc, tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = tmp_path / "jmo-healthcheck"
    script.write_text(heredoc(svc, "/usr/local/bin/jmo-healthcheck"))
    port = server.server_address[1]
    prefix = svc.upper()

    def check(path: str, port_var: str) -> int:
        env = {"JMO_SERVICE": svc, f"{prefix}_{port_var}": str(port), "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, str(script), path], env=env, timeout=30).returncode

    try:
        assert check("/healthz", "PORT") == 0
        assert check("/readyz", "PORT") == 1
        if svc != "banksim":
            assert check("/healthz", "WORKER_PORT") == 0
    finally:
        server.shutdown()
        server.server_close()
    assert check("/healthz", "PORT") == 1, "nothing listens: unhealthy"


# --- the build context -------------------------------------------------------------


def test_dockerignore_sends_only_what_the_images_need(tools):
    done = run_tool([str(tools.deploycheck), "context", str(ROOT)])
    assert done.returncode == 0, done.stderr
    files = set(done.stdout.split())
    for needed in ("pyproject.toml", "requirements.in", "requirements.lock", "requirements-nodeps.txt",
                   "shared/jmo_shared/__init__.py", "deploy/local/jmo_local/__init__.py"):  # fmt: skip
        assert needed in files, needed
    for svc in IMAGES:
        assert f"services/{svc}/jmo_{svc}/__init__.py" in files
    tops = {f.split("/")[0] for f in files}
    assert tops <= {"pyproject.toml", "requirements.in", "requirements.lock", "requirements-nodeps.txt",
                    "shared", "services", "deploy"}, tops  # fmt: skip
    leaked = [f for f in files if re.search(r"(^|/)(tests|__pycache__|\.venv|\.git|bench)/|\.pem$|(^|/)Dockerfile$", f)]
    assert not leaked, leaked
    assert not any(f.startswith(("deploy/k8s", "deploy/tests")) for f in files)


def test_every_copied_path_is_in_the_context(parsed, tools):
    done = run_tool([str(tools.deploycheck), "context", str(ROOT)])
    files = set(done.stdout.split())
    for svc, report in parsed.items():
        for cmd in commands(report, "build"):
            if not cmd.startswith("COPY ") or "--from" in cmd:
                continue
            for source in cmd.split()[1:-1]:
                assert source in files or any(f.startswith(source.rstrip("/") + "/") for f in files), (svc, source)


def test_the_app_wheel_carries_every_module_and_data_file(tools, tmp_path):
    """What `pip wheel .` puts into the image, from the build context alone.

    setuptools' build_py (the step of a wheel build that collects packages and their
    package-data) runs on a copy of the context; every file of a jmo_* package in the
    context (modules and data, e.g. jmo_helpdesk/data/places.csv) must come out of it.
    """
    pytest.importorskip("setuptools")
    done = run_tool([str(tools.deploycheck), "context", str(ROOT)])
    assert done.returncode == 0, done.stderr
    context = tmp_path / "context"
    expected = set()
    for name in done.stdout.split():
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
        parts = Path(name).parts
        package = next((i for i, part in enumerate(parts) if part.startswith("jmo_")), None)
        if package is not None:
            expected.add("/".join(parts[package:]))
    lib = tmp_path / "lib"
    built = run_tool(
        [sys.executable, "-W", "ignore", "-c", "from setuptools import setup; setup()", "-q",
         "build_py", "--build-lib", str(lib)],
        cwd=context,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    carried = {path.relative_to(lib).as_posix() for path in lib.rglob("*") if path.is_file()}
    assert expected - carried == set(), "in the context but not in the wheel"
    for svc in IMAGES:
        assert f"jmo_{svc}/entrypoints/api.py" in carried, svc
    assert {"jmo_helpdesk/data/places.csv", "jmo_helpdesk/data/programs.json"} <= carried
