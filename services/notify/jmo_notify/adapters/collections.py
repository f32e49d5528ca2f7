"""notify's database: collection names and the indexes its queries rely on."""

from __future__ import annotations

from jmo_shared.mongo import Database

CONTACTS = "contacts"  # _id = member_id: e-mail and phone, each with confirmed and as-of time
PREFERENCES = "preferences"  # _id = member_id
CLAIMS = "claims"  # _id = claim_id: what a later message about the claim names (card, bank account)
NOTIFICATIONS = "notifications"  # _id = the event's id: the member's inbox
DELIVERIES = "deliveries"  # _id = <event id>:<channel>[:<recipient>]: pending, sent or dead (the dead letters)
RECORDED_SMS = "recorded_sms"  # the local SMS adapter: what would have been sent
RECORDED_PUSH = "recorded_push"  # the local push adapter: what would have been sent


async def ensure_indexes(db: Database) -> None:
    await db[NOTIFICATIONS].create_index([("member_id", 1), ("created_at", -1)])
    # The delivery loop: what is pending and due, oldest due first.
    await db[DELIVERIES].create_index([("status", 1), ("next_attempt_at", 1)])
    # The operators' dead-letter list, newest first.
    await db[DELIVERIES].create_index([("status", 1), ("dead_at", -1)])
    await db[DELIVERIES].create_index([("notification_id", 1)])
