"""Free TCP ports for throw-away local servers (tests, side-by-side stacks)."""

from __future__ import annotations

import asyncio
import os
import random
import socket
from contextlib import ExitStack
from pathlib import Path

# Ports handed out by the kernel for outgoing connections and for bind(("", 0)) come from the
# ephemeral range (32768-60999 on Linux). Our servers take theirs from below it, so a Kafka
# client's outgoing connection or another test's throw-away server cannot grab a port between
# the moment we pick it and the moment our server binds it.
_PICK_RANGE = (20000, 32767)


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _pick_range() -> tuple[int, int]:
    """The whole range, or under pytest-xdist this worker's own slice of it: test processes side by
    side then never pick the same port between our check and their server's bind."""
    low, high = _PICK_RANGE
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and worker[2:].isdigit() and workers.isdigit() and int(workers) > 1:
        size = (high - low + 1) // int(workers)
        low += int(worker[2:]) * size
        high = low + size - 1
    return low, high


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports that nothing listens on right now, outside the ephemeral range.

    Every candidate is bound to prove it free, and all stay bound until every port is picked,
    so one call never returns the same port twice. Another process may still take one before
    our server binds it: callers that start servers fail loudly (the server exits and
    wait_ready shows its log).
    """
    low, high = _pick_range()
    eph_low, eph_high = _ephemeral_range()
    candidates = [p for p in range(low, high + 1) if not eph_low <= p <= eph_high]
    random.shuffle(candidates)
    with ExitStack() as stack:
        ports: list[int] = []
        for port in candidates:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind((host, port))
            except OSError:
                continue
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"fewer than {count} free ports in {low}-{high} on {host}")


def free_port(host: str = "127.0.0.1") -> int:
    """One port that nothing listens on right now (see free_ports)."""
    return free_ports(1, host)[0]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def port_open_async(host: str, port: int, timeout: float = 0.5) -> bool:
    """port_open for coroutines: True when something accepts TCP connections on host:port."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:  # the peer may reset a connection it never wanted
        pass
    return True
