from __future__ import annotations

import pytest
from balance_harness import running_balance


@pytest.fixture
async def balance(infra, token_issuer, unique_db, service_env):
    async with running_balance(infra, token_issuer, unique_db) as running:
        yield running
