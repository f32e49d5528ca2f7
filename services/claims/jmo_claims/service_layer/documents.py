"""Uploading a claim document: the content decides its type, not its name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.logging import get_logger

from ..adapters.documents import DocumentStore
from ..domain.documents import CONTENT_TYPES, DOCUMENT_KINDS, sniff_file_type

log = get_logger(__name__)


@dataclass(frozen=True)
class PendingDocuments:
    """How many documents a member may hold without a claim, and for how long."""

    max_per_member: int = 30
    retention: timedelta = timedelta(days=7)
    sweep_batch: int = 500


def _refuse(code: str, message: str, field: str = "file", kind: ErrorKind = ErrorKind.INVALID) -> DomainError:
    return DomainError(code=code, detail=message, kind=kind, errors=[FieldError(field, code, message)])


def document_too_large(max_bytes: int) -> str:
    return f"A document may be at most {max_bytes // (1024 * 1024)} MB."


class DocumentUploads:
    def __init__(
        self, store: DocumentStore, clock: Clock, max_bytes: int, pending: PendingDocuments | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self.max_bytes = max_bytes
        self.pending = pending or PendingDocuments()

    def too_large(self) -> DomainError:
        return _refuse("file_too_large", document_too_large(self.max_bytes), kind=ErrorKind.TOO_LARGE)

    async def upload(self, member: Principal, kind: str, filename: str, content: bytes) -> dict[str, Any]:
        if kind not in DOCUMENT_KINDS:
            raise _refuse(
                "unknown_document_kind", f"kind must be one of: {', '.join(sorted(DOCUMENT_KINDS))}.", field="kind"
            )
        if not content:
            raise _refuse("empty_file", "The file is empty.")
        if len(content) > self.max_bytes:
            raise self.too_large()
        file_type = sniff_file_type(content[:16])
        if file_type is None:
            raise _refuse(
                "unsupported_file_type",
                "Upload a JPEG or PNG photo or a PDF; this file is none of them, whatever its name.",
            )
        await self._check_quota(member)
        sha256 = hashlib.sha256(content).hexdigest()
        document_id = await self._store.save(
            member_id=member.member_id,
            nik=member.nik or "",
            kind=kind,
            filename=filename,
            content=content,
            content_type=CONTENT_TYPES[file_type],
            sha256=sha256,
            uploaded_at=self._clock.now(),
        )
        return {
            "document_id": document_id,
            "kind": kind,
            "size": len(content),
            "sha256": sha256,
            "content_type": CONTENT_TYPES[file_type],
        }

    async def _check_quota(self, member: Principal) -> None:
        # Counted before the write: uploads at the very same moment may pass it by one or two each.
        limit = self.pending.max_per_member
        if await self._store.pending_count(member.member_id, limit) >= limit:
            days = self.pending.retention.total_seconds() / 86400
            raise _refuse(
                "too_many_pending_documents",
                f"You have {limit} documents not yet part of a claim: submit your claim with them, "
                f"or upload more once the unused ones are removed ({days:g} days after their upload).",
                kind=ErrorKind.CONFLICT,
            )

    async def remove_unattached(self) -> int:
        """Remove documents no claim named within the retention period (one batch); how many."""
        expired = await self._store.expired_pending(
            self._clock.now() - self.pending.retention, self.pending.sweep_batch
        )
        removed = 0
        for file_id in expired:
            removed += await self._store.remove_pending(file_id)
        if removed:
            log.info("unattached_documents_removed", count=removed)
        return removed
