"""Places in MongoDB: upserts from lists, and the searches the app makes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jmo_shared.mongo import Database, Tx

from ..domain.places import Place, normalise
from .collections import PLACES


def place_to_doc(p: Place) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "name": p.name,
        "address": p.address,
        "province": p.province,
        "province_key": normalise(p.province),
        "regency": p.regency,
        "regency_key": normalise(p.regency),
        "location": {"type": "Point", "coordinates": [p.lon, p.lat]},
        "phone": p.phone,
        "opening_hours": p.opening_hours,
        "services": list(p.services),
        # Free-text search runs over this one field (SecantusDB has no text index).
        "search_text": normalise(" ".join([p.name, p.address, p.regency, p.province, *p.services])),
    }


def place_from_doc(doc: dict[str, Any]) -> Place:
    lon, lat = doc["location"]["coordinates"]
    return Place(
        doc["_id"],
        doc["kind"],
        doc["name"],
        doc["address"],
        doc["province"],
        doc["regency"],
        lat,
        lon,
        doc.get("phone", ""),
        doc.get("opening_hours", ""),
        tuple(doc.get("services", ())),
    )


@dataclass(frozen=True)
class PlaceFilter:
    kind: str | None = None
    q: str | None = None
    province: str | None = None
    regency: str | None = None

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.kind:
            query["kind"] = self.kind
        if self.province:
            query["province_key"] = normalise(self.province)
        if self.regency:
            query["regency_key"] = normalise(self.regency)
        if self.q:
            # Every word must appear somewhere; escaped so a query is never a regex of the caller's.
            query["$and"] = [{"search_text": {"$regex": re.escape(w)}} for w in normalise(self.q).split()]
        return query


class PlaceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self) -> int:
        return await self._db[PLACES].count_documents({})

    async def upsert(self, tx: Tx, places: list[Place]) -> None:
        for p in places:
            await tx[PLACES].replace_one({"_id": p.place_id}, place_to_doc(p), upsert=True, session=tx.session)

    async def get(self, place_id: str) -> Place | None:
        doc = await self._db[PLACES].find_one({"_id": place_id})
        return place_from_doc(doc) if doc else None

    async def search(self, f: PlaceFilter, skip: int, limit: int) -> tuple[list[Place], int]:
        query = f.query()
        total = await self._db[PLACES].count_documents(query)
        docs = (
            await self._db[PLACES]
            .find(query)
            .sort([("province_key", 1), ("regency_key", 1), ("name", 1)])
            .skip(skip)
            .limit(limit)
            .to_list()
        )
        return [place_from_doc(d) for d in docs], total

    async def nearest(
        self, f: PlaceFilter, lat: float, lon: float, radius_m: float, skip: int, limit: int
    ) -> tuple[list[Place], int]:
        """Nearest first, within radius_m, through the 2dsphere index ($geoNear)."""
        near = {
            "$geoNear": {
                "near": {"type": "Point", "coordinates": [lon, lat]},
                "distanceField": "distance_m",
                "maxDistance": radius_m,
                "query": f.query(),
                "spherical": True,
            }
        }
        page = await (await self._db[PLACES].aggregate([near, {"$skip": skip}, {"$limit": limit}])).to_list()
        counted = await (await self._db[PLACES].aggregate([near, {"$count": "n"}])).to_list()
        return [place_from_doc(d) for d in page], (counted[0]["n"] if counted else 0)
