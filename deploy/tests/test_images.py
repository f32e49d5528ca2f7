"""The one Dockerfile (the service is a build argument) and .dockerignore, checked without a Docker engine.

BuildKit's own parser and build checks read the Dockerfile (deploycheck); the
scripts the images carry (entrypoint, healthcheck) and the requirement selection
are run here for real, for every service; and the packages each service imports
must be in its image.
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
from deploy_support import API_PORTS, BANKSIM_PORT, FACE_CACHE_DIR, IMAGES, ROOT, SERVICES, WORKER_PORTS, run_tool
from packaging.requirements import Requirement

DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def parsed(tools) -> dict:
    done = run_tool([str(tools.deploycheck), "dockerfile", str(DOCKERFILE)])
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    return report


def commands(report: dict, stage: str) -> list[str]:
    return next(s for s in report["stages"] if s["name"] == stage)["commands"]


def heredoc(target: str) -> str:
    """The body of `COPY <<'EOF' <target>` in the Dockerfile."""
    text = DOCKERFILE.read_text()
    match = re.search(rf"COPY --chmod=0755 <<'EOF' {re.escape(target)}\n(.*?)\nEOF\n", text, re.S)
    assert match, f"no heredoc for {target}"
    return match.group(1) + "\n"


def arg_default(name: str) -> str:
    match = re.search(rf'^ARG {name}="([^"]*)"$', DOCKERFILE.read_text(), re.M)
    assert match, f"no ARG {name}"
    return match.group(1)


def test_buildkit_parses_the_dockerfile_without_a_warning(parsed):
    assert parsed["warnings"] == []


def test_there_is_one_dockerfile():
    others = [p.relative_to(ROOT).as_posix() for p in ROOT.glob("services/*/Dockerfile")]
    assert others == [], "every image builds from the root Dockerfile with --build-arg SERVICE"


def test_the_build_checks_are_live(tools, tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11.14-slim-trixie as Build\nCOPY x $NOWHERE\nCMD python -m x\n")
    done = run_tool([str(tools.deploycheck), "dockerfile", str(bad)])
    rules = {w.split(":")[0] for w in json.loads(done.stdout)[0]["warnings"]}
    assert {"FromAsCasing", "StageNameCasing", "JSONArgsRecommended", "UndefinedVar"} <= rules


def test_multi_stage_from_one_pinned_slim_python_311(parsed):
    assert [s["name"] for s in parsed["stages"]] == ["build", "runtime"]
    text = DOCKERFILE.read_text()
    # Versions come from requirements.lock, in the build and in the runtime install alike.
    assert "pip wheel --wheel-dir /wheels/deps -c requirements.lock -r /wheels/runtime.txt" in text
    assert "--no-index --find-links /wheels/deps -c /wheels/requirements.lock -r /wheels/runtime.txt" in text
    assert "--mount=type=bind,from=build,source=/wheels,target=/wheels" in text
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert match and re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", match.group(1)), match


def test_runtime_runs_as_a_non_root_user_with_health_and_entrypoint(parsed):
    runtime = commands(parsed, "runtime")
    users = [c for c in runtime if c.startswith("USER ")]
    assert users == ["USER 10001:10001"]
    # Nothing after USER may need root.
    after = runtime[runtime.index(users[0]) :]
    assert not any(c.startswith(("RUN ", "COPY ")) for c in after)
    assert any(c.startswith("HEALTHCHECK") and '["jmo-healthcheck", "/healthz"]' in c for c in runtime)
    assert 'ENTRYPOINT ["jmo-entrypoint"]' in runtime
    assert 'CMD ["api"]' in runtime


def test_the_image_takes_its_service_and_ports_from_build_arguments(parsed):
    runtime = commands(parsed, "runtime")
    env = dict(
        pair.split("=", 1) for cmd in runtime if cmd.startswith("ENV ") for pair in cmd.split()[1:]
    )  # fmt: skip
    assert env["JMO_SERVICE"] == "${SERVICE}"
    assert env["JMO_API_PORT"] == "${API_PORT}"
    assert env["JMO_WORKER_PORT"] == "${WORKER_PORT}"
    assert "EXPOSE ${API_PORT} ${WORKER_PORT}" in runtime
    for stage in ("build", "runtime"):
        assert "ARG SERVICE" in commands(parsed, stage), stage


def test_identity_alone_bakes_in_and_checks_the_face_models():
    from jmo_identity.face.models import prepare_models  # what the build runs

    assert callable(prepare_models)
    text = DOCKERFILE.read_text()
    guarded = re.findall(r'if \[ "\$\{SERVICE\}" = identity \]; then (.*?)(?:; fi|\n)', text)
    assert any("pip wheel --no-deps --wheel-dir /wheels/nodeps -r requirements-nodeps.txt" in g for g in guarded)
    assert any("pip install --no-index --no-deps /wheels/nodeps/*.whl" in g for g in guarded)
    block = text[text.index('RUN if [ "${SERVICE}" = identity ]; then \\\n') :]
    assert "prepare_models(" in block.split("fi\n")[0]
    assert f"mkdir -p {FACE_CACHE_DIR}" in block.split("fi\n")[0]
    assert f"IDENTITY_FACE_CACHE_DIR={FACE_CACHE_DIR}" in text


# --- what goes into each image ---------------------------------------------------


@cache
def selected_requirements(svc: str) -> tuple[str, ...]:
    """Run the Dockerfile's own selection (which section ends it, then sed/grep) over requirements.in."""
    text = DOCKERFILE.read_text()
    match = re.search(r'(until="\$\{REQUIREMENTS_UNTIL\}";.*?)> /wheels/runtime\.txt', text, re.S)
    assert match
    pipeline = match.group(1).replace("\\\n", " ").replace(" && sed -n", "; sed -n")
    env = dict(
        os.environ,
        SERVICE=svc,
        REQUIREMENTS_FROM=arg_default("REQUIREMENTS_FROM"),
        REQUIREMENTS_UNTIL=arg_default("REQUIREMENTS_UNTIL"),
        FACE_REQUIREMENTS_UNTIL=arg_default("FACE_REQUIREMENTS_UNTIL"),
        LOCAL_ONLY=arg_default("LOCAL_ONLY"),
    )
    done = subprocess.run(["sh", "-c", pipeline], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return tuple(line for line in done.stdout.splitlines() if line.strip())


def test_requirement_sections_exist_in_order():
    headers = [line for line in (ROOT / "requirements.in").read_text().splitlines() if line.startswith("# ")]
    markers = {arg_default(name) for name in ("REQUIREMENTS_FROM", "REQUIREMENTS_UNTIL", "FACE_REQUIREMENTS_UNTIL")}
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
    script.write_text(heredoc("/usr/local/bin/jmo-entrypoint"))
    # Only the services with a worker process (SERVICES) get a worker port; backoffice and banksim none.
    worker_port = str(WORKER_PORTS[svc]) if svc in SERVICES else ""
    port = str(BANKSIM_PORT if svc == "banksim" else API_PORTS[svc])
    env = {"PATH": f"{fake_python}:/usr/bin:/bin", "JMO_SERVICE": svc, "JMO_API_PORT": port,
           "JMO_WORKER_PORT": worker_port}  # fmt: skip

    def run(*args: str, **extra: str) -> str:
        done = subprocess.run(["sh", str(script), *args], env={**env, **extra}, capture_output=True, text=True,
                              check=True)  # fmt: skip
        return done.stdout

    assert run() == f"python -m jmo_{svc}.entrypoints.api\n"
    assert run("api") == f"python -m jmo_{svc}.entrypoints.api\n"
    assert run("worker") == f"python -m jmo_{svc}.entrypoints.worker\n"
    assert run("echo", "hello") == "hello\n"
    # The service's settings get the image's ports as defaults; set ones win.
    prefix = svc.upper()
    shown = f"${prefix}_HOST ${prefix}_PORT ${prefix}_WORKER_PORT"
    assert run("sh", "-c", f"echo {shown}") == f"0.0.0.0 {port} {worker_port}".rstrip() + "\n"
    assert run("sh", "-c", f"echo ${prefix}_PORT", **{f"{prefix}_PORT": "9999"}) == "9999\n"


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
    script.write_text(heredoc("/usr/local/bin/jmo-healthcheck"))
    port = server.server_address[1]
    prefix = svc.upper()

    def check(path: str, port_var: str) -> int:
        env = {"JMO_SERVICE": svc, f"{prefix}_{port_var}": str(port), "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, str(script), path], env=env, timeout=30).returncode

    def check_default(var: str) -> int:
        env = {"JMO_SERVICE": svc, var: str(port), "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, str(script), "/healthz"], env=env, timeout=30).returncode

    try:
        assert check_default("JMO_API_PORT") == 0, "the image's default port is tried too"
        assert check("/healthz", "PORT") == 0
        assert check("/readyz", "PORT") == 1
        if svc in SERVICES:
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
    for cmd in commands(parsed, "build"):
        if not cmd.startswith("COPY ") or "--from" in cmd:
            continue
        for source in cmd.split()[1:-1]:
            assert source in files or any(f.startswith(source.rstrip("/") + "/") for f in files), source


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
