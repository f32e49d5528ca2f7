"""Fixtures of the profile integration tests: the service on the real broker and database.

One API and one worker serve every test of a module (starting a consumer group
costs seconds on these machines); each test uses members of its own (random NIK,
KPJ and member id), so the tests do not see each other's data.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import uvicorn
from profile_support import FakeBank, Profile, profile_settings, serving

from jmo_local.ports import free_port
from jmo_profile.entrypoints.api import create_api
from jmo_profile.entrypoints.worker import create_worker


@pytest.fixture(scope="module")
async def bank() -> AsyncIterator[FakeBank]:
    fake = FakeBank()
    port = free_port()
    fake.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield fake
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def profile(infra, token_issuer, bank) -> AsyncIterator[Profile]:
    settings = profile_settings(infra, token_issuer, f"t_{uuid.uuid4().hex[:12]}", bank.url)
    async with serving(create_worker(settings)), serving(create_api(settings)) as api:
        yield Profile(api=api, settings=settings, bank=bank, issuer=token_issuer)
