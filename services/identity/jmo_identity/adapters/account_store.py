"""Accounts, and the failed-login key (the e-mail's hash, whether or not an account has it)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_shared.mongo import Database

from ..domain.accounts import Account

ACCOUNTS = "accounts"


def _to_doc(account: Account) -> dict:
    return {
        "_id": account.member_id,
        "nik": account.nik,
        "email": account.email,
        "phone": account.phone,
        "full_name": account.full_name,
        "birth_date": account.birth_date.isoformat(),
        "kpj_numbers": list(account.kpj_numbers),
        "password_hash": account.password_hash,
        "created_at": account.created_at,
        "email_confirmed_at": account.email_confirmed_at,
        "phone_confirmed_at": account.phone_confirmed_at,
        "restricted_until": account.restricted_until,
    }


def _from_doc(doc: dict) -> Account:
    return Account(
        member_id=doc["_id"],
        nik=doc["nik"],
        email=doc["email"],
        phone=doc["phone"],
        full_name=doc["full_name"],
        birth_date=date.fromisoformat(doc["birth_date"]),
        kpj_numbers=tuple(doc.get("kpj_numbers") or ()),
        password_hash=doc["password_hash"],
        created_at=doc["created_at"],
        email_confirmed_at=doc.get("email_confirmed_at"),
        phone_confirmed_at=doc.get("phone_confirmed_at"),
        restricted_until=doc.get("restricted_until"),
    )


class AccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, account: Account, session: AsyncClientSession) -> None:
        # Unique indexes on nik and email settle a race between two registrations.
        await self._db[ACCOUNTS].insert_one(_to_doc(account), session=session)

    async def by_id(self, member_id: str, session: AsyncClientSession | None = None) -> Account | None:
        doc = await self._db[ACCOUNTS].find_one({"_id": member_id}, session=session)
        return _from_doc(doc) if doc else None

    async def by_nik(self, nik: str) -> Account | None:
        doc = await self._db[ACCOUNTS].find_one({"nik": nik})
        return _from_doc(doc) if doc else None

    async def by_email(self, email: str) -> Account | None:
        doc = await self._db[ACCOUNTS].find_one({"email": email})
        return _from_doc(doc) if doc else None

    async def nik_taken(self, nik: str) -> bool:
        return await self._db[ACCOUNTS].find_one({"nik": nik}, {"_id": 1}) is not None

    async def email_taken(self, email: str) -> bool:
        return await self._db[ACCOUNTS].find_one({"email": email}, {"_id": 1}) is not None

    async def email_taken_by_other(self, email: str, member_id: str) -> bool:
        return await self._db[ACCOUNTS].find_one({"email": email, "_id": {"$ne": member_id}}, {"_id": 1}) is not None

    async def set_password_hash(
        self, member_id: str, password_hash: str, session: AsyncClientSession | None = None
    ) -> None:
        await self._db[ACCOUNTS].update_one(
            {"_id": member_id}, {"$set": {"password_hash": password_hash}}, session=session
        )

    async def set_contact(
        self, member_id: str, channel: str, value: str, confirmed_at: datetime, session: AsyncClientSession
    ) -> None:
        """The contact becomes `value`, confirmed (the unique e-mail index refuses one taken meanwhile)."""
        await self._db[ACCOUNTS].update_one(
            {"_id": member_id},
            {"$set": {channel: value, f"{channel}_confirmed_at": confirmed_at}},
            session=session,
        )

    async def restrict_until(self, member_id: str, until: datetime, session: AsyncClientSession) -> None:
        await self._db[ACCOUNTS].update_one({"_id": member_id}, {"$max": {"restricted_until": until}}, session=session)


def login_key(email: str) -> str:
    # The address itself is not needed to count failures; its hash keeps the collection free of it.
    return hashlib.sha256(email.encode()).hexdigest()
