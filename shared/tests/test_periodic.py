"""jmo_shared.periodic: every worker's timer loop."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from jmo_shared.periodic import every


def runs(task: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("periodic_task_runs_total", {"task": task, "outcome": outcome}) or 0.0


async def test_a_failed_round_is_counted_and_the_next_round_runs() -> None:
    calls: list[int] = []
    stopping = asyncio.Event()

    async def action() -> int:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ConnectionError("database away")
        if len(calls) == 3:
            stopping.set()
        return len(calls)

    seen: list[object] = []
    await asyncio.wait_for(every("t_retry", 0.01, action, stopping=stopping, on_result=seen.append)(), 5)
    assert calls == [0, 1, 2]
    assert seen == [2, 3], "only successful rounds report a result"
    assert runs("t_retry", "failed") == 1
    assert runs("t_retry", "ok") == 2


async def test_wait_first_waits_one_period_and_stopping_ends_the_wait() -> None:
    calls: list[float] = []
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def action() -> None:
        calls.append(loop.time() - started)

    task = asyncio.create_task(every("t_wait", 0.2, action, stopping=stopping, wait_first=True)())
    await asyncio.sleep(0.1)
    assert calls == [], "nothing before the first period"
    await asyncio.sleep(0.15)
    assert len(calls) == 1 and calls[0] >= 0.2
    stopping.set()
    await asyncio.wait_for(task, 1)  # ends at once, not after another period
    assert len(calls) == 1


async def test_without_a_stopping_event_the_loop_ends_by_cancellation() -> None:
    calls: list[int] = []

    async def action() -> None:
        calls.append(1)

    task = asyncio.create_task(every("t_cancel", 0.01, action)())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3


def test_a_period_must_be_positive() -> None:
    async def action() -> None:
        return None

    with pytest.raises(ValueError, match="positive"):
        every("t_zero", 0, action)
