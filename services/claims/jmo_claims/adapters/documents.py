"""Claim documents in GridFS, in the claims database, owned by the member who uploaded them."""

from __future__ import annotations

from datetime import datetime

from gridfs import AsyncGridFSBucket

from jmo_shared.mongo import Database

from .collections import DOCUMENTS_BUCKET


class DocumentStore:
    def __init__(self, db: Database) -> None:
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
