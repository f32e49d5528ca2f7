"""Offline checks of deploy/observability (Prometheus rules, scrape config, Grafana dashboard) and docs/runbooks.

Every metric an alert or a dashboard query uses must be one the code exports: the names passed
to prometheus_client's Counter/Gauge/Histogram/Summary in shared/jmo_shared and services/*/jmo_*
(plus the _bucket/_count/_sum/_total series those produce, and Prometheus's own `up`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
ALERTS = OBS / "prometheus" / "alerts.yaml"
SCRAPE = OBS / "prometheus" / "scrape.yaml"
DASHBOARD = OBS / "grafana" / "jmo-overview.json"
RUNBOOKS = ROOT / "docs" / "runbooks"

SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")
BUILTIN = {"up"}
PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "le",
}


def exported_metrics() -> set[str]:
    sources = [*(ROOT / "shared" / "jmo_shared").rglob("*.py"), *ROOT.glob("services/*/jmo_*/**/*.py")]
    names: set[str] = set()
    call = re.compile(r"\b(?:Counter|Gauge|Histogram|Summary)\(\s*[\"']([a-zA-Z_:][a-zA-Z0-9_:]*)[\"']")
    for path in sources:
        names.update(call.findall(path.read_text(encoding="utf-8")))
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana query) selects."""
    expr = re.sub(r"label_values\(\s*([^,()]+?)\s*,[^)]*\)", r"\1", expr)  # Grafana: label_values(metric{..}, label)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^{}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\[\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def is_exported(name: str, exported: set[str]) -> bool:
    if name in BUILTIN or name in exported:
        return True
    return any(name.endswith(s) and name[: -len(s)] in exported for s in SUFFIXES)


def github_anchor(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found, in_code = set(), False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            found.add(github_anchor(m.group(1)))
    return found


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    doc = yaml.safe_load(ALERTS.read_text())
    assert isinstance(doc.get("groups"), list) and doc["groups"]
    out = []
    for group in doc["groups"]:
        assert group.get("name") and isinstance(group.get("rules"), list) and group["rules"]
        out.extend(group["rules"])
    return out


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


@pytest.fixture(scope="module")
def exported() -> set[str]:
    names = exported_metrics()
    # The shared metrics must be found, or the check below proves nothing.
    assert {
        "http_requests_total",
        "http_request_seconds",
        "consumer_lag",
        "consumer_events_total",
        "outbox_backlog",
        "outbox_oldest_unpublished_seconds",
    } <= names
    return names


def dashboard_panels(dash: dict) -> list[dict]:
    panels = []
    for panel in dash["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries(dash: dict) -> list[str]:
    queries = [t["expr"] for p in dashboard_panels(dash) for t in p.get("targets", []) if t.get("expr")]
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            q = var.get("query")
            queries.append(q["query"] if isinstance(q, dict) else q)
    return queries


def test_files_parse() -> None:
    yaml.safe_load(ALERTS.read_text())
    scrape = yaml.safe_load(SCRAPE.read_text())
    assert scrape["scrape_configs"]
    json.loads(DASHBOARD.read_text())


def test_every_alert_is_complete(rules: list[dict]) -> None:
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in rules:
        assert rule.get("expr"), rule["alert"]
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{rule['alert']}: for"
        assert rule.get("labels", {}).get("severity") in {"critical", "warning", "info"}, rule["alert"]
        ann = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert ann.get(key), f"{rule['alert']}: annotations.{key}"


def test_alerts_cover_the_brief(rules: list[dict]) -> None:
    exprs = " ".join(r["expr"] for r in rules)
    for needle in (
        "outbox_oldest_unpublished_seconds",
        "consumer_lag",
        'status=~"5.."',
        "http_request_seconds_bucket",
        "helpdesk_sla_breaches_total",
        "PayoutFailed",
        "/v1/biometrics/verifications",
        "up{",
        'outcome="dead_letter"',
    ):
        assert needle in exprs, needle


def test_runbook_files_and_anchors_exist(rules: list[dict]) -> None:
    for rule in rules:
        url = rule["annotations"]["runbook_url"]
        m = re.fullmatch(r"docs/runbooks/([\w\-]+\.md)#([\w\-]+)", url)
        assert m, f"{rule['alert']}: runbook_url {url!r} is not docs/runbooks/<file>.md#anchor"
        page = RUNBOOKS / m.group(1)
        assert page.is_file(), f"{rule['alert']}: {page} missing"
        assert m.group(2) in anchors(page.read_text()), f"{rule['alert']}: no #{m.group(2)} in {page.name}"


def test_runbook_index_and_procedures() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for page in RUNBOOKS.glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"{page.name} not linked from the index"
    for name in ("scale.md", "replay.md", "rotate-keys.md"):
        assert (RUNBOOKS / name).is_file()
    # Relative links between runbooks resolve (file and anchor).
    for page in RUNBOOKS.glob("*.md"):
        for target, anchor in re.findall(r"\]\(([\w\-]+\.md)(?:#([\w\-]+))?\)", page.read_text()):
            assert (RUNBOOKS / target).is_file(), f"{page.name} -> {target}"
            if anchor:
                assert anchor in anchors((RUNBOOKS / target).read_text()), f"{page.name} -> {target}#{anchor}"


def test_runbooks_name_real_settings_and_collections() -> None:
    text = " ".join(p.read_text() for p in RUNBOOKS.glob("*.md"))
    code = " ".join(
        p.read_text() for p in [*ROOT.glob("services/*/jmo_*/**/*.py"), *(ROOT / "shared" / "jmo_shared").rglob("*.py")]
    )
    code_lower = code.lower()
    prefixes = ("IDENTITY_", "BALANCE_", "PAYOUT_", "CLAIMS_", "HELPDESK_", "PROFILE_")
    for setting in set(re.findall(r"`((?:{})[A-Z0-9_]+)`".format("|".join(prefixes)), text)):
        field = setting.split("_", 1)[1].lower()
        assert field in code_lower, f"setting {setting} not found in the code"
    for collection in ("dead_letters", "processed_events", "outbox_lease", "signing_keys", "signing_secrets"):
        assert f'"{collection}"' in code, collection


def test_alert_metrics_are_exported(rules: list[dict], exported: set[str]) -> None:
    for rule in rules:
        used = metric_names(rule["expr"])
        assert used, f"{rule['alert']}: no metric found in expr"
        missing = sorted(n for n in used if not is_exported(n, exported))
        assert not missing, f"{rule['alert']} uses metrics the code does not export: {missing}"


def test_dashboard_metrics_are_exported(dashboard: dict, exported: set[str]) -> None:
    queries = dashboard_queries(dashboard)
    assert queries
    for q in queries:
        missing = sorted(n for n in metric_names(q) if not is_exported(n, exported))
        assert not missing, f"{q!r} uses metrics the code does not export: {missing}"


def test_dashboard_structure(dashboard: dict) -> None:
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = dashboard_panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids are not unique"
    rows = [p["title"] for p in panels if p["type"] == "row"]
    for word in ("HTTP", "Consumers", "Outbox", "Claims", "Payouts", "face"):
        assert any(word.lower() in r.lower() for r in rows), f"no row about {word}"
    for p in panels:
        if p["type"] == "row":
            continue
        assert p.get("datasource", {}).get("uid") == "${datasource}", f"panel {p['id']} has no datasource"
        for t in p.get("targets", []):
            assert t.get("datasource", {}).get("uid") == "${datasource}", f"panel {p['id']} target"
            assert t.get("refId")


def test_scrape_config_covers_every_process() -> None:
    scrape = yaml.safe_load(SCRAPE.read_text())
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert all(name.startswith("jmo-") for name in jobs)  # the alerts select up{job=~"jmo-.*"}
    static = [t for sc in jobs["jmo-local"]["static_configs"] for t in sc["targets"]]
    ports = {int(t.rsplit(":", 1)[1]) for t in static}
    # identity..risk (api 8001-8008, worker 8101-8108), the back office (8080, api only), banksim (8099).
    assert ports == {*range(8001, 8009), *range(8101, 8109), 8080, 8099}
    for sc in jobs["jmo-local"]["static_configs"]:
        assert {"service", "component"} <= set(sc["labels"])
    labelled = {(sc["labels"]["service"], sc["labels"]["component"]) for sc in jobs["jmo-local"]["static_configs"]}
    assert {
        ("notify", "api"),
        ("notify", "worker"),
        ("risk", "api"),
        ("risk", "worker"),
        ("backoffice", "api"),
    } <= labelled
    k8s = jobs["jmo-kubernetes-pods"]
    assert k8s["kubernetes_sd_configs"][0]["role"] == "pod"
    targets = {r.get("target_label") for r in k8s["relabel_configs"]}
    assert {"service", "component", "__address__", "__metrics_path__"} <= targets


def test_metric_name_parser() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (service, route, le) (rate(http_request_seconds_bucket"
        '{route!~"/metrics|/x"}[5m]))) > 1 and sum by (group) (consumer_lag{group=~".+[.]a"}) > 0'
    )
    assert metric_names(expr) == {"http_request_seconds_bucket", "consumer_lag"}
    assert metric_names('label_values(up{job=~"jmo-.*"}, job)') == {"up"}
    assert not is_exported("claims_by_state", {"http_requests_total"})
