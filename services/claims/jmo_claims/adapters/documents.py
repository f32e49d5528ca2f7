"""Claim documents in GridFS, in the claims database, owned by the member who uploaded them.

A document is pending (`metadata.pending`) from its upload until a claim names it (`metadata.claim_id`,
set in the submission's transaction); pending documents count against the member's quota and are
removed once older than the retention period (the worker's sweep).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import DEFAULT_CHUNK_SIZE, AsyncGridFSBucket
from gridfs.errors import NoFile

from jmo_shared.mongo import Database

from .collections import DOCUMENT_CHUNKS, DOCUMENT_FILES, DOCUMENTS_BUCKET

# The chunk size the bucket's own upload uses (255 KiB).
CHUNK_SIZE = DEFAULT_CHUNK_SIZE


@dataclass(frozen=True)
class StoredDocument:
    document_id: str
    member_id: str
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime | None


def _oid(document_id: str) -> ObjectId | None:
    try:
        return ObjectId(document_id)
    except (InvalidId, TypeError):
        return None


def _stored(doc: dict) -> StoredDocument:
    meta = doc.get("metadata") or {}
    return StoredDocument(
        document_id=str(doc["_id"]),
        member_id=meta.get("member_id", ""),
        kind=meta.get("kind", ""),
        filename=doc.get("filename", ""),
        content_type=meta.get("content_type", "application/octet-stream"),
        size=int(meta.get("size", doc.get("length", 0))),
        sha256=meta.get("sha256", ""),
        uploaded_at=meta.get("uploaded_at"),
    )


async def attach(tx: Any, member_id: str, claim_id: str, document_ids: tuple[str, ...]) -> bool:
    """Mark the member's documents as the claim's, in the submission's transaction; False when one of
    them is gone (removed as never attached between the checks and this transaction)."""
    oids = {oid for oid in map(_oid, document_ids) if oid is not None}
    result = await tx[DOCUMENT_FILES].update_many(
        {"_id": {"$in": list(oids)}, "metadata.member_id": member_id},
        {"$set": {"metadata.pending": False, "metadata.claim_id": claim_id}},
        session=tx.session,
    )
    return result.matched_count == len(oids)


class DocumentStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._bucket = AsyncGridFSBucket(db.db, bucket_name=DOCUMENTS_BUCKET)

    async def save(
        self,
        *,
        member_id: str,
        nik: str,
        kind: str,
        filename: str,
        content: bytes,
        content_type: str,
        sha256: str,
        uploaded_at: datetime,
    ) -> str:
        # Written in GridFS's layout (the chunks, then the files document that makes them a file), which
        # the bucket reads back, rather than with the bucket's upload: each upload of it first runs an
        # unfiltered find_one on both collections to decide whether to create their indexes, and SecantusDB
        # answers that by reading every stored document (measured: about 600 ms per upload with 5,000
        # documents stored, so every member's onboarding cost more than the last). The indexes are ours
        # (adapters/collections.py).
        file_id = ObjectId()
        chunks = [
            {"files_id": file_id, "n": n, "data": content[start : start + CHUNK_SIZE]}
            for n, start in enumerate(range(0, len(content), CHUNK_SIZE))
        ]
        try:
            if chunks:
                await self._db[DOCUMENT_CHUNKS].insert_many(chunks)
            await self._db[DOCUMENT_FILES].insert_one(
                {
                    "_id": file_id,
                    "length": len(content),
                    "chunkSize": CHUNK_SIZE,
                    # GridFS keeps milliseconds; so does BSON.
                    "uploadDate": uploaded_at,
                    "filename": filename or kind,
                    "metadata": {
                        "member_id": member_id,
                        "nik": nik,
                        "kind": kind,
                        "content_type": content_type,
                        "sha256": sha256,
                        "size": len(content),
                        "uploaded_at": uploaded_at,
                        "pending": True,
                    },
                }
            )
        except BaseException:
            # No chunks without their file (the bucket's own upload cleans up the same way).
            await self._db[DOCUMENT_CHUNKS].delete_many({"files_id": file_id})
            raise
        return str(file_id)

    async def pending_count(self, member_id: str, up_to: int) -> int:
        """How many of the member's documents no claim names yet, counting at most `up_to`."""
        return await self._db[DOCUMENT_FILES].count_documents(
            {"metadata.member_id": member_id, "metadata.pending": True}, limit=up_to
        )

    async def expired_pending(self, uploaded_before: datetime, limit: int) -> list[ObjectId]:
        """Documents no claim named within the retention period, oldest first."""
        cursor = (
            self._db[DOCUMENT_FILES]
            .find({"metadata.pending": True, "metadata.uploaded_at": {"$lt": uploaded_before}}, {"_id": 1})
            .sort("metadata.uploaded_at", 1)
            .limit(limit)
        )
        return [doc["_id"] async for doc in cursor]

    async def remove_pending(self, file_id: ObjectId) -> bool:
        """Remove a document if it is still pending (a claim submitted meanwhile keeps it)."""
        removed = await self._db[DOCUMENT_FILES].delete_one({"_id": file_id, "metadata.pending": True})
        if not removed.deleted_count:
            return False
        await self._db[DOCUMENT_CHUNKS].delete_many({"files_id": file_id})
        return True

    async def described(self, document_ids: list[str]) -> list[StoredDocument]:
        """The stored documents among these ids, in the order asked (unknown ids are left out)."""
        oids = [oid for oid in map(_oid, document_ids) if oid is not None]
        found = {str(d["_id"]): _stored(d) async for d in self._db[DOCUMENT_FILES].find({"_id": {"$in": oids}})}
        return [found[i] for i in document_ids if i in found]

    async def chunks(self, document_id: str) -> AsyncIterator[bytes]:
        """The document's content as GridFS holds it, chunk by chunk (never the whole file in memory)."""
        oid = _oid(document_id)
        if oid is None:
            raise NoFile(document_id)
        stream = await self._bucket.open_download_stream(oid)
        try:
            while chunk := await stream.readchunk():
                yield chunk
        finally:
            await stream.close()
