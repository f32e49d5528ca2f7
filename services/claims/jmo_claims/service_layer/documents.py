"""Uploading a claim document: the content decides its type, not its name."""

from __future__ import annotations

import hashlib
from typing import Any

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, FieldError

from ..adapters.documents import DocumentStore
from ..domain.documents import CONTENT_TYPES, DOCUMENT_KINDS, sniff_file_type


def _refuse(code: str, message: str, field: str = "file", status: int = 422) -> DomainError:
    return DomainError(code=code, detail=message, status=status, errors=[FieldError(field, code, message)])


def document_too_large(max_bytes: int) -> str:
    return f"A document may be at most {max_bytes // (1024 * 1024)} MB."


class DocumentUploads:
    def __init__(self, store: DocumentStore, clock: Clock, max_bytes: int) -> None:
        self._store = store
        self._clock = clock
        self.max_bytes = max_bytes

    def too_large(self) -> DomainError:
        return _refuse("file_too_large", document_too_large(self.max_bytes), status=413)

    async def upload(self, member: Principal, kind: str, filename: str, content: bytes) -> dict[str, Any]:
        if kind not in DOCUMENT_KINDS:
            raise _refuse("unknown_document_kind",
                          f"kind must be one of: {', '.join(sorted(DOCUMENT_KINDS))}.", field="kind")
        if not content:
            raise _refuse("empty_file", "The file is empty.")
        if len(content) > self.max_bytes:
            raise self.too_large()
        file_type = sniff_file_type(content[:16])
        if file_type is None:
            raise _refuse("unsupported_file_type",
                          "Upload a JPEG or PNG photo or a PDF; this file is none of them, whatever its name.")
        sha256 = hashlib.sha256(content).hexdigest()
        document_id = await self._store.save(
            member_id=member.member_id, nik=member.nik or "", kind=kind, filename=filename, content=content,
            content_type=CONTENT_TYPES[file_type], sha256=sha256, uploaded_at=self._clock.now(),
        )
        return {"document_id": document_id, "kind": kind, "size": len(content), "sha256": sha256,
                "content_type": CONTENT_TYPES[file_type]}
