"""The services keep idle connections open longer than their clients do (jmo_shared.runtime.server_config).

When a server closes an idle keep-alive connection at the moment a client sends on it, that request is
lost (ReadError); a client does not resend a POST. With the server's idle timeout above the client's,
the client always closes first.
"""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from jmo_shared.runtime import server_config
from jmo_shared.settings import ServiceSettings
from jmo_shared.testing import bind_free_socket


def app() -> FastAPI:
    made = FastAPI()

    @made.post("/things")
    async def create() -> dict[str, bool]:
        return {"created": True}

    return made


async def second_request_after_idle(keep_alive_seconds: int, idle_seconds: float) -> bytes:
    """Two POSTs on one connection, `idle_seconds` apart: what the second one gets back."""
    settings = ServiceSettings(service_name="t", http_keep_alive_seconds=keep_alive_seconds)
    sock = bind_free_socket()
    server = uvicorn.Server(server_config(app(), settings, sock.getsockname()[1]))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    request = b"POST /things HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
    try:
        reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        writer.write(request)
        await writer.drain()
        assert (await reader.readuntil(b"}")).endswith(b'{"created":true}')
        await asyncio.sleep(idle_seconds)
        try:
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(4096), 5)
        except (OSError, ConnectionError):
            answer = b""
        writer.close()
        return answer
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def test_the_default_outlasts_the_clients_idle_expiry() -> None:
    # httpx keeps an idle connection 5 s, load balancers typically 60 s.
    assert ServiceSettings(service_name="t").http_keep_alive_seconds > 60


async def test_an_idle_connection_within_the_keep_alive_still_takes_a_post() -> None:
    assert b"200 OK" in await second_request_after_idle(keep_alive_seconds=3, idle_seconds=1.5)


async def test_past_the_keep_alive_the_server_has_closed_it() -> None:
    # What a client that kept its connection longer than the server would meet: the request is lost.
    assert await second_request_after_idle(keep_alive_seconds=1, idle_seconds=2.0) == b""
