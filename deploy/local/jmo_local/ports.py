"""Free TCP ports for throw-away local servers (tests, side-by-side stacks)."""

from __future__ import annotations

import asyncio
import socket
from contextlib import ExitStack


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports that nothing listens on right now.

    All sockets stay bound until every port is picked, so the kernel cannot
    hand the same port out twice. Another process may still take one before
    our server binds it: callers that start servers should fail loudly (they
    do: the server exits and wait_ready shows its log).
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


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
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:  # the peer may reset a connection it never wanted
        pass
    return True
