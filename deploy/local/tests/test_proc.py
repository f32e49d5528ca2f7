"""Child processes: signals, async waits, and what happens to them when the test runner dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jmo_local.proc import ChildProcess

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
)


def _wait_up(log: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not (log.exists() and "up" in log.read_text()):
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"  # dead, not yet reaped by its new parent
    except FileNotFoundError:
        return True


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")
def test_a_child_that_ignores_sigterm_still_dies_with_its_parent_when_asked_for_sigkill(tmp_path: Path) -> None:
    # A service still waiting for its database ignores SIGTERM; a test runner killed hard must not leave it behind.
    parent = textwrap.dedent(f"""
        import signal, sys, time
        from pathlib import Path
        from jmo_local.proc import ChildProcess
        child = ChildProcess("stubborn", [sys.executable, "-c", {IGNORES_SIGTERM!r}], Path({str(tmp_path / "c.log")!r}),
                             Path({str(tmp_path)!r}), death_signal=signal.SIGKILL)
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    runner = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    assert runner.stdout is not None
    pid = int(runner.stdout.readline())
    _wait_up(tmp_path / "c.log")
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + 5
    while not _gone(pid):
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.05)


async def test_signals_and_async_waits(tmp_path: Path) -> None:
    child = ChildProcess(
        "stubborn", [sys.executable, "-c", IGNORES_SIGTERM], tmp_path / "c.log", tmp_path, env={**os.environ}
    )
    _wait_up(tmp_path / "c.log")
    child.send_signal(signal.SIGTERM)
    assert await child.wait_exit_async(0.5) is None  # ignored
    assert child.poll() is None
    child.send_signal(signal.SIGKILL)
    assert await child.wait_exit_async(5) == -signal.SIGKILL
    child.send_signal(signal.SIGTERM)  # already gone: nothing happens
