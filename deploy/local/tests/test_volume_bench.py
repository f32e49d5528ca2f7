"""The at-volume benchmark's planning and verdict (pure; the runs themselves need a stack), and its Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jmo_local import volume_bench as vb


def test_contribution_runs_cover_the_events_within_the_card_limit() -> None:
    runs = vb.contribution_runs(200_000, 5000, 40)
    assert runs == [(5000, 200_000)]
    runs = vb.contribution_runs(200_000, 20_000, 10)  # more cards than ingest_bench takes
    assert all(cards <= vb.MAX_CARDS and events <= cards * 10 for cards, events in runs)
    assert sum(events for _, events in runs) == 200_000
    # A last short run still gives every card at least one period.
    assert vb.contribution_runs(1_050, 100, 10) == [(100, 1000), (50, 50)]
    assert vb.contribution_runs(0, 5000, 40) == []


def test_claim_rounds_stop_at_the_target_counting_what_is_paid() -> None:
    assert vb.claim_rounds(150, 1000, 400) == [400, 400, 50]
    assert vb.claim_rounds(1200, 1000, 400) == []
    assert vb.claim_rounds(0, 400, 400) == [400]


def _report(rate: float, p99: int, cpu: float, seconds: float = 300.0, ready: int = 150) -> dict:
    return {
        "claims": {"sustained_claims_per_s": rate, "submit_to_paid_ms_p99": p99, "submit_to_paid_ms_p50": p99 // 2},
        "stack": {"cpu_ms_per_unit": cpu, "db_ops_per_unit": 60.0, "rss_mb_end": 2900.0},
        "onboarding": {"seconds": seconds, "ready": ready},
        "ceiling": {"tx_per_s": 240.0},
    }


def test_verdict_judges_rate_and_p99_each_in_its_own_direction() -> None:
    rows = vb.compare(_report(7.0, 14_000, 230), _report(6.3, 16_000, 400))
    by_name = {r.name: r for r in rows}
    assert round(by_name["claims/s sustained"].worse_by() or 0, 3) == 0.1  # 10% slower
    assert round(by_name["submit-to-PAID p99 ms"].worse_by() or 0, 3) == 0.143  # 14% longer
    assert by_name["onboarding s per member"].fresh == 2.0
    ok, problems = vb.verdict(rows, 0.15)
    assert ok and not problems  # CPU per claim is shown, not judged

    ok, problems = vb.verdict(vb.compare(_report(7.0, 14_000, 230), _report(5.6, 14_000, 230)), 0.15)
    assert not ok and problems == ["claims/s sustained: 20% worse"]
    # Faster at volume is not worse.
    ok, _ = vb.verdict(vb.compare(_report(7.0, 14_000, 230), _report(8.0, 12_000, 230)), 0.15)
    assert ok


def test_a_missing_figure_fails_the_verdict() -> None:
    volume = _report(7.0, 14_000, 230)
    del volume["claims"]["submit_to_paid_ms_p99"]
    ok, problems = vb.verdict(vb.compare(_report(7.0, 14_000, 230), volume), 0.15)
    assert not ok and problems == ["submit-to-PAID p99 ms: missing"]
    lines = vb.comparison_lines(vb.compare(_report(7.0, 14_000, 230), volume))
    assert any(line.startswith("submit-to-PAID p99 ms") and line.rstrip().endswith("-") for line in lines)


def test_size_lines_rank_collections_by_documents_after() -> None:
    before = {"balance": {"ledger": 10, "cards": 5}}
    after = {"balance": {"ledger": 200_010, "cards": 5005}, "claims": {"claims": 150}}
    lines = vb.size_lines(before, after, top=2)
    assert lines[0].startswith("documents in the stack's databases: 15 before, 205,165 after")
    assert "balance.ledger" in lines[1] and "200,010" in lines[1]
    assert "balance.cards" in lines[2] and len(lines) == 3


def test_an_interrupted_run_stops_the_benchmark_it_runs(tmp_path: Path) -> None:
    """`kill -INT` of volume_bench alone (no terminal to signal the group) still ends the child benchmark."""
    # Ctrl-C's default, whatever the suite was started with: a shell's background job (`make test &`)
    # ignores SIGINT, and its children inherit that.
    interruptible = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    (tmp_path / "sleeper.py").write_text(
        f"{interruptible}import os, sys, time\n"
        f"open({str(tmp_path / 'child.pid')!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n"
    )
    script = (
        f"{interruptible}import sys\nfrom pathlib import Path\nfrom jmo_local.volume_bench import run_module\n"
        "try:\n"
        f"    run_module('sleeper', [], Path({str(tmp_path / 'r.json')!r}), Path({str(tmp_path / 'out.log')!r}))\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL)
    pid_file, child = tmp_path / "child.pid", 0
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        parent.send_signal(signal.SIGINT)
        assert parent.wait(timeout=30) == 130
        assert not Path(f"/proc/{child}").exists()  # stopped and reaped, not left running
    finally:
        if parent.poll() is None:
            parent.kill()
        if child and Path(f"/proc/{child}").exists():
            os.kill(child, signal.SIGKILL)
