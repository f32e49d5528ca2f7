"""The claims database: collection names and the indexes the queries rely on."""

from __future__ import annotations

from jmo_shared.mongo import Database

MEMBERS = "members"  # _id = NIK: member id, KTP data, last confirmed profile
CARDS = "cards"  # _id = KPJ: registration, employment end, balance
FACE_VERIFICATIONS = "face_verifications"  # _id = verification id
CLAIMS = "claims"  # _id = claim id
OPEN_CLAIMS = "open_claims"  # _id = NIK: the one open claim a member may have
DOCUMENTS_BUCKET = "documents"  # GridFS: documents.files / documents.chunks
DOCUMENT_FILES = f"{DOCUMENTS_BUCKET}.files"
DOCUMENT_CHUNKS = f"{DOCUMENTS_BUCKET}.chunks"
# Append-only: every officer action (who, when, what, why). Nothing updates or deletes in it.
REVIEW_AUDIT = "review_audit"
# _id = "slot:<k>" / "base", {n: {<status>: count}}: claims per status, moved with the claims
# (adapters/status_counts.py).
CLAIM_STATUS_COUNTS = "claim_status_counts"


async def ensure_indexes(db: Database) -> None:
    await db.ensure_collections(OPEN_CLAIMS)  # the submissions' transactions are its only writers
    await db[CARDS].create_index("nik")
    await db[MEMBERS].create_index("member_id")
    await db[FACE_VERIFICATIONS].create_index("member_id")
    # Old face matches are useless after they expire; keep a day for investigations.
    await db[FACE_VERIFICATIONS].create_index("expires_at", expireAfterSeconds=24 * 3600)
    await db[CLAIMS].create_index([("member_id", 1), ("submitted_at", -1)])
    await db[CLAIMS].create_index([("nik", 1), ("reason", 1)])
    # GridFS's own indexes (documents.save writes in its layout without the bucket's upload, which made them).
    await db[DOCUMENT_CHUNKS].create_index([("files_id", 1), ("n", 1)], unique=True)
    await db[DOCUMENT_FILES].create_index([("filename", 1), ("uploadDate", 1)])
    await db[DOCUMENT_FILES].create_index("metadata.member_id")
    # A member's pending documents (the upload quota), and the pending ones past retention (the sweep).
    await db[DOCUMENT_FILES].create_index([("metadata.member_id", 1), ("metadata.pending", 1)], name="member_pending")
    await db[DOCUMENT_FILES].create_index(
        [("metadata.pending", 1), ("metadata.uploaded_at", 1)], name="pending_uploaded_at"
    )
    # SecantusDB uses an index only when the filter's fields are a leading prefix of it (equalities,
    # one range last): one index per filter shape of the officer queue. (`status` alone is a prefix of the
    # first, but the claims_by_status gauge reads counters instead: see adapters/status_counts.py.)
    await db[CLAIMS].create_index([("status", 1), ("reason", 1), ("sla_due_at", 1)], name="queue_by_reason")
    await db[CLAIMS].create_index(
        [("status", 1), ("escalated", 1), ("reason", 1), ("sla_due_at", 1)], name="queue_escalated"
    )
    # The SLA sweep: open claims whose next escalation is due.
    await db[CLAIMS].create_index([("open", 1), ("next_escalation_at", 1)], name="escalation_due")
    # Claims held for the risk service's verdict (the field exists only while one is held).
    await db[CLAIMS].create_index("verdict_due_at", sparse=True, name="verdict_due")
    await db[REVIEW_AUDIT].create_index([("claim_id", 1), ("at", 1)])
    await db[REVIEW_AUDIT].create_index([("officer_id", 1), ("at", 1)])
