"""Accounts and the failed-login record (keyed by e-mail, whether or not an account has it)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_shared.mongo import Database

from ..domain.accounts import Account

ACCOUNTS = "accounts"
LOGIN_FAILURES = "login_failures"


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
    )


class AccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, account: Account, session: AsyncClientSession) -> None:
        # Unique indexes on nik and email settle a race between two registrations.
        await self._db[ACCOUNTS].insert_one(_to_doc(account), session=session)

    async def by_id(self, member_id: str) -> Account | None:
        doc = await self._db[ACCOUNTS].find_one({"_id": member_id})
        return _from_doc(doc) if doc else None

    async def by_email(self, email: str) -> Account | None:
        doc = await self._db[ACCOUNTS].find_one({"email": email})
        return _from_doc(doc) if doc else None

    async def nik_taken(self, nik: str) -> bool:
        return await self._db[ACCOUNTS].find_one({"nik": nik}, {"_id": 1}) is not None

    async def email_taken(self, email: str) -> bool:
        return await self._db[ACCOUNTS].find_one({"email": email}, {"_id": 1}) is not None

    async def set_password_hash(self, member_id: str, password_hash: str) -> None:
        await self._db[ACCOUNTS].update_one({"_id": member_id}, {"$set": {"password_hash": password_hash}})


def login_key(email: str) -> str:
    # The address itself is not needed to count failures; its hash keeps the collection free of it.
    return hashlib.sha256(email.encode()).hexdigest()


class LoginFailureStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def failures(self, key: str) -> list[datetime]:
        doc = await self._db[LOGIN_FAILURES].find_one({"_id": key})
        return list(doc.get("failures") or []) if doc else []

    async def record(self, key: str, at: datetime, keep: int, window: timedelta) -> list[datetime]:
        """Add one failure atomically (concurrent guesses all count); returns the kept failures."""
        doc = await self._db[LOGIN_FAILURES].find_one_and_update(
            {"_id": key},
            {"$push": {"failures": {"$each": [at], "$slice": -keep}}, "$set": {"purge_at": at + window}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return list(doc.get("failures") or [])

    async def clear(self, key: str) -> None:
        await self._db[LOGIN_FAILURES].delete_one({"_id": key})
