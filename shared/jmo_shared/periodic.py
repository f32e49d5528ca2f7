"""Background work on a timer: one helper for every worker's sweeps and schedules.

`every("sla_sweep", 30, service.sweep)` is a task factory for `worker_app(extra_tasks=...)`:
it runs the action, waits, and runs it again until the process stops. A failed round
is logged and counted, and the next round tries again: the shared worker takes the
whole process down when a background task dies, and a database that is away for a
minute is no reason for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram

from .logging import get_logger

log = get_logger(__name__)

RUNS = Counter("periodic_task_runs_total", "Rounds of a worker's periodic task, by outcome", ["task", "outcome"])
DURATION = Histogram(
    "periodic_task_duration_seconds",
    "How long one round of a periodic task took",
    ["task"],
    buckets=(0.005, 0.02, 0.1, 0.5, 2, 10, 60),
)


def every(
    name: str,
    seconds: float,
    action: Callable[[], Awaitable[object]],
    *,
    stopping: asyncio.Event | None = None,
    wait_first: bool = False,
    on_result: Callable[[object], None] | None = None,
) -> Callable[[], Awaitable[None]]:
    """A loop running `action` every `seconds` until `stopping` is set or the task is cancelled.

    `wait_first` waits one period before the first round (for work that is pointless right
    at start, such as timing out what was sent moments ago). `on_result` sees what a
    successful round returned, e.g. to log a count.
    """
    if seconds <= 0:
        raise ValueError(f"{name}: the period must be positive, got {seconds}")

    async def pause() -> bool:
        """Wait one period; True when the loop must end."""
        if stopping is None:
            await asyncio.sleep(seconds)
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=seconds)
        return stopping.is_set()

    async def loop() -> None:
        if wait_first and await pause():
            return
        while stopping is None or not stopping.is_set():
            await run_once(name, action, on_result)
            if await pause():
                return

    loop.__name__ = name
    return loop


async def run_once(
    name: str, action: Callable[[], Awaitable[object]], on_result: Callable[[object], None] | None = None
) -> bool:
    """One round of a periodic task: True when it succeeded; a failure is logged and counted, not raised."""
    started = time.perf_counter()
    try:
        result = await action()
    except Exception as exc:  # noqa: BLE001 - the next round retries
        RUNS.labels(name, "failed").inc()
        log.warning("periodic_task_failed", task=name, error=repr(exc))
        return False
    finally:
        DURATION.labels(name).observe(time.perf_counter() - started)
    RUNS.labels(name, "ok").inc()
    if on_result is not None:
        on_result(result)
    return True
