"""Refresh token families and their (hashed) tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_shared.mongo import Database

from ..domain.refresh import RefreshFamily, StoredRefreshToken

FAMILIES = "refresh_families"
TOKENS = "refresh_tokens"
# Spent tokens are kept while their family lives (to recognise a reuse), then a while for investigations.
PURGE_GRACE = timedelta(days=7)


class TokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_family(self, family: RefreshFamily, nik: str, at: datetime, session: AsyncClientSession) -> None:
        await self._db[FAMILIES].insert_one(
            {
                "_id": family.family_id,
                "member_id": family.member_id,
                "nik": nik,
                "created_at": at,
                "expires_at": family.expires_at,
                "revoked_at": None,
                "revoked_reason": None,
                "purge_at": family.expires_at + PURGE_GRACE,
            },
            session=session,
        )

    async def add_token(
        self, token: StoredRefreshToken, family_expires_at: datetime, at: datetime, session: AsyncClientSession
    ) -> None:
        await self._db[TOKENS].insert_one(
            {
                "_id": token.token_hash,
                "family_id": token.family_id,
                "member_id": token.member_id,
                "created_at": at,
                "expires_at": token.expires_at,
                "used_at": None,
                "replaced_by": None,
                "purge_at": family_expires_at + PURGE_GRACE,
            },
            session=session,
        )

    async def token(self, token_hash: str, session: AsyncClientSession) -> StoredRefreshToken | None:
        doc = await self._db[TOKENS].find_one({"_id": token_hash}, session=session)
        if doc is None:
            return None
        return StoredRefreshToken(
            token_hash=doc["_id"],
            family_id=doc["family_id"],
            member_id=doc["member_id"],
            expires_at=doc["expires_at"],
            used_at=doc.get("used_at"),
        )

    async def family(self, family_id: str, session: AsyncClientSession) -> tuple[RefreshFamily, str] | None:
        """The family and the NIK of its member."""
        doc = await self._db[FAMILIES].find_one({"_id": family_id}, session=session)
        if doc is None:
            return None
        family = RefreshFamily(
            family_id=doc["_id"],
            member_id=doc["member_id"],
            expires_at=doc["expires_at"],
            revoked_at=doc.get("revoked_at"),
        )
        return family, doc["nik"]

    async def spend(self, token_hash: str, replaced_by: str, at: datetime, session: AsyncClientSession) -> bool:
        result = await self._db[TOKENS].update_one(
            {"_id": token_hash, "used_at": None},
            {"$set": {"used_at": at, "replaced_by": replaced_by}},
            session=session,
        )
        return result.modified_count == 1

    async def revoke_family(self, family_id: str, reason: str, at: datetime, session: AsyncClientSession) -> None:
        await self._db[FAMILIES].update_one(
            {"_id": family_id, "revoked_at": None},
            {"$set": {"revoked_at": at, "revoked_reason": reason}},
            session=session,
        )

    async def revoke_member(self, member_id: str, reason: str, at: datetime, session: AsyncClientSession) -> int:
        """End every login of the member (password change or reset, account recovery)."""
        result = await self._db[FAMILIES].update_many(
            {"member_id": member_id, "revoked_at": None},
            {"$set": {"revoked_at": at, "revoked_reason": reason}},
            session=session,
        )
        return result.modified_count
