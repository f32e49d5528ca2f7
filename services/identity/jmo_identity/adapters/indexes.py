"""Every index identity's queries rely on, created at start-up by both processes."""

from __future__ import annotations

from jmo_shared.mongo import Database

from .account_store import ACCOUNTS
from .attempt_store import CLIENT_ATTEMPTS, LOGIN_FAILURES, REFUSED_REGISTRATIONS
from .biometric_store import VERIFICATIONS
from .challenge_store import CHALLENGES
from .notifier import NOTIFICATIONS
from .signing import SIGNING_KEYS
from .token_store import FAMILIES, TOKENS


async def ensure_indexes(db: Database) -> None:
    await db[ACCOUNTS].create_index("nik", unique=True, name="one_account_per_nik")
    await db[ACCOUNTS].create_index("email", unique=True, name="one_account_per_email")
    for attempts in (LOGIN_FAILURES, CLIENT_ATTEMPTS, REFUSED_REGISTRATIONS):
        await db[attempts].create_index("purge_at", expireAfterSeconds=0, name="purge")
    await db[TOKENS].create_index("family_id", name="family")
    await db[TOKENS].create_index("purge_at", expireAfterSeconds=0, name="purge")
    await db[FAMILIES].create_index("member_id", name="member")
    await db[FAMILIES].create_index("purge_at", expireAfterSeconds=0, name="purge")
    await db[VERIFICATIONS].create_index(
        [("member_id", 1), ("budget_day", 1), ("matched", 1)], name="member_day_budget"
    )
    await db[VERIFICATIONS].create_index([("member_id", 1), ("selfie_sha256", 1)], name="member_selfie")
    await db[CHALLENGES].create_index("member_id", name="member")
    await db[CHALLENGES].create_index("purge_at", expireAfterSeconds=0, name="purge")
    await db[NOTIFICATIONS].create_index([("destination", 1), ("created_at", -1)], name="destination_recent")
    await db[NOTIFICATIONS].create_index("purge_at", expireAfterSeconds=0, name="purge")
    await db[SIGNING_KEYS].create_index("last_active_at", name="recent")
