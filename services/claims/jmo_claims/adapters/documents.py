"""Claim documents in GridFS, in the claims database, owned by the member who uploaded them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from jmo_shared.mongo import Database

from .collections import DOCUMENT_FILES, DOCUMENTS_BUCKET


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
        document_id=str(doc["_id"]), member_id=meta.get("member_id", ""), kind=meta.get("kind", ""),
        filename=doc.get("filename", ""), content_type=meta.get("content_type", "application/octet-stream"),
        size=int(meta.get("size", doc.get("length", 0))), sha256=meta.get("sha256", ""),
        uploaded_at=meta.get("uploaded_at"),
    )


class DocumentStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._bucket = AsyncGridFSBucket(db.db, bucket_name=DOCUMENTS_BUCKET)

    async def save(self, *, member_id: str, nik: str, kind: str, filename: str, content: bytes,
                   content_type: str, sha256: str, uploaded_at: datetime) -> str:
        file_id = await self._bucket.upload_from_stream(
            filename or kind,
            content,
            metadata={
                "member_id": member_id,
                "nik": nik,
                "kind": kind,
                "content_type": content_type,
                "sha256": sha256,
                "size": len(content),
                "uploaded_at": uploaded_at,
            },
        )
        return str(file_id)

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
