"""The officers' flag list on the real database: a page at a time, newest first, counted on the same filter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from jmo_risk.adapters.flags import FLAG_AUDIT, FLAGS, FlagStore, ensure_indexes, flag_to_doc
from jmo_risk.domain.rules import ACCOUNT_CHANGED_BEFORE_CLAIM, Flag
from jmo_risk.service_layer.flags import FlagDesk
from jmo_shared.auth import Principal
from jmo_shared.clock import FixedClock
from jmo_shared.mongo import Database

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)


def flag(claim_id: str, minutes_ago: int) -> Flag:
    at = NOW - timedelta(minutes=minutes_ago)
    member_id = f"m-{uuid.uuid4().hex[:10]}"
    return Flag(
        ACCOUNT_CHANGED_BEFORE_CLAIM,
        f"member:{member_id}",
        at - timedelta(hours=2),
        at,
        {"hours_between": 2.0, "window_hours": 72},
        member_id=member_id,
        nik="3174011506850001",
        claim_id=claim_id,
    )


async def test_flags_are_listed_a_page_at_a_time(infra) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    try:
        db = Database(client, f"t_risk_pages_{uuid.uuid4().hex[:8]}", "risk")
        await ensure_indexes(db)
        claim_id, other_claim = str(uuid.uuid4()), str(uuid.uuid4())
        flags = [flag(claim_id, minutes) for minutes in (30, 20, 10)] + [flag(other_claim, 5)]
        await db[FLAGS].insert_many([flag_to_doc(f) for f in flags])
        newest_first = [f.flag_id for f in reversed(flags[:3])]
        desk = FlagDesk(db, FlagStore(db), FixedClock(NOW))
        officer = Principal("officer-7", None, frozenset({"officer"}))

        first, total = await desk.flags(officer, "open", None, claim_id, 0, 2)
        assert [f["flag_id"] for f in first] == newest_first[:2] and total == 3
        second, total = await desk.flags(officer, "open", None, claim_id, 2, 2)
        assert [f["flag_id"] for f in second] == newest_first[2:] and total == 3
        past_the_end, total = await desk.flags(officer, "open", None, claim_id, 4, 2)
        assert past_the_end == [] and total == 3
        cleared, total = await desk.flags(officer, "cleared", None, claim_id, 0, 2)
        assert cleared == [] and total == 0
        # Every listing is audited, whatever page it asked for.
        assert await db[FLAG_AUDIT].count_documents({"officer_id": "officer-7", "action": "list_flags"}) == 4
    finally:
        await client.close()
