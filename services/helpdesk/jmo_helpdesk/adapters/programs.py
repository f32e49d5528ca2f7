"""Program content in MongoDB, one document per program version."""

from __future__ import annotations

from datetime import date
from typing import Any

from jmo_shared.mongo import Database, Tx

from ..domain.programs import ProgramVersion
from .collections import PROGRAMS


class ProgramStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, tx: Tx, items: list[dict[str, Any]]) -> None:
        for item in items:
            doc = {**item, "_id": f"{item['code']}:{item['version']}"}
            await tx[PROGRAMS].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def versions(self, code: str | None = None) -> list[dict[str, Any]]:
        query = {"code": code} if code else {}
        return await self._db[PROGRAMS].find(query).sort([("code", 1), ("version", 1)]).to_list()


def version_of(doc: dict[str, Any]) -> ProgramVersion:
    return ProgramVersion(doc["code"], int(doc["version"]), date.fromisoformat(doc["effective_date"]))
