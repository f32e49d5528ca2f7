"""The helpdesk database: collection names and the indexes the queries rely on."""

from __future__ import annotations

from jmo_shared.mongo import Database

PLACES = "places"  # _id = place_id; `location` is GeoJSON for the 2dsphere index
PROGRAMS = "programs"  # _id = "<code>:<version>"
COMPLAINTS = "complaints"  # _id = ticket
COUNTERS = "counters"  # _id = "ticket:<year>": the last ticket number issued that year
AUDIT = "officer_audit"  # one row per officer action


async def ensure_indexes(db: Database) -> None:
    # The version is spelled out: SecantusDB stores it and then refuses a re-creation that omits it
    # as a different index (MongoDB defaults to 3 as well).
    await db[PLACES].create_index([("location", "2dsphere")], name="location_2dsphere", **{"2dsphereIndexVersion": 3})
    await db[PLACES].create_index([("kind", 1), ("province_key", 1), ("regency_key", 1), ("name", 1)])
    await db[PLACES].create_index([("province_key", 1), ("regency_key", 1), ("name", 1)])
    await db[PROGRAMS].create_index([("code", 1), ("effective_date", -1)])
    await db[COMPLAINTS].create_index([("member_id", 1), ("filed_at", -1)])
    await db[COMPLAINTS].create_index([("status", 1), ("filed_at", 1)])
    # The SLA sweep: unresolved, not yet flagged, due before now.
    await db[COMPLAINTS].create_index([("sla_breached", 1), ("status", 1), ("sla_due_at", 1)])
    await db[AUDIT].create_index([("ticket", 1), ("at", 1)])
    await db[AUDIT].create_index([("officer_id", 1), ("at", -1)])
