"""Running a local server as a child process (tests and LocalInfra only).

`make run` hands the same command lines to supervisord instead; this module
is the small subset of that needed when a test owns the process.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class ProcessExited(RuntimeError):
    """The server process ended while we were waiting for it to be ready."""


def _die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    # Runs in the child between fork and exec: if the test runner is killed
    # hard (SIGKILL, os._exit on timeout) the kernel sends `sig` to the
    # server too, instead of leaving a 200 MB JVM behind on a small machine.
    # Linux only; note the signal fires when the *thread* that started the
    # child exits, so start servers from a long-lived thread.
    def arm() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return arm


class ChildProcess:
    """One server process, its output appended to a log file."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        cwd: Path,
        env: dict[str, str] | None = None,
        death_signal: int = signal.SIGTERM,
    ) -> None:
        """`death_signal` reaches the process if ours dies: SIGTERM lets a server close its files;
        SIGKILL suits processes that may ignore SIGTERM (a service still waiting for its database)."""
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._popen = subprocess.Popen(  # noqa: S603 - our own command line
                list(command),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C in the terminal reaches pytest only, which
                # then stops the servers in order (SIGTERM) rather than racing them.
                start_new_session=True,
                preexec_fn=_die_with_parent(death_signal) if sys.platform == "linux" else None,  # noqa: PLW1509
            )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def check_alive(self) -> None:
        """Raise ProcessExited when the process is gone."""
        code = self._popen.poll()
        if code is not None:
            raise ProcessExited(f"{self.name} exited with code {code}")

    def poll(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return self._popen.poll()

    def send_signal(self, sig: int) -> None:
        """Send a signal (fault tests: SIGKILL, SIGTERM, SIGSTOP...) unless the process has ended."""
        if self._popen.poll() is None:
            self._popen.send_signal(sig)

    async def wait_exit_async(self, timeout: float) -> int | None:
        """Wait for the exit without blocking the event loop; None if still running after timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._popen.poll() is None:
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.05)
        return self._popen.returncode

    def send_stop(self) -> None:
        """Ask the process to stop (SIGTERM) without waiting."""
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> int:
        """Wait for the exit after send_stop; SIGKILL when it takes longer than timeout."""
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            return self._popen.wait()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        self.send_stop()
        return self.wait_stopped(timeout)

    def kill(self) -> None:
        """SIGKILL now, as a crash would (durability tests)."""
        if self._popen.poll() is None:
            os.kill(self._popen.pid, signal.SIGKILL)
        self._popen.wait()


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for error messages."""
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 64 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def error_lines(path: Path, since: int = 0, limit: int = 6) -> str:
    """The first ERROR/FATAL entries of a log4j-style log from byte `since` on, each with its exception line.

    A failed broker's tail is mostly its orderly shutdown; the cause is logged
    earlier (for example "Socket server failed to bind ... Address already in use").
    `since` skips what earlier runs logged into the same file.
    """
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        if since <= path.stat().st_size:  # a rolled-over log starts again at 0
            handle.seek(since)
        text = handle.read().decode("utf-8", errors="replace")
    found: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if " ERROR " in line or " FATAL " in line:
            found.append(line)
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if following and not following.startswith("["):  # the exception's message
                found.append(following)
            if len(found) >= 2 * limit:
                break
    return "\n".join(found)
