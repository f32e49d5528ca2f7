"""Program information: the version in force today, in the language asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found
from jmo_shared.mongo import Database

from ..adapters.programs import ProgramStore, version_of
from ..domain.complaints import WIB
from ..domain.programs import CODES, LANGUAGES, current_version

CONTENT = Path(__file__).resolve().parents[1] / "data" / "programs.json"


def load_bundled() -> list[dict[str, Any]]:
    items = json.loads(CONTENT.read_text(encoding="utf-8"))
    for item in items:
        if item["code"] not in CODES or set(item["content"]) != set(LANGUAGES):
            raise ValueError(f"bundled program content {item['code']} v{item['version']} is incomplete")
    return items


class Programs:
    def __init__(self, db: Database, store: ProgramStore, clock: Clock) -> None:
        self._db = db
        self._store = store
        self._clock = clock

    async def seed(self) -> None:
        items = load_bundled()

        async def work(tx):
            await self._store.upsert(tx, items)

        await self._db.transaction(work)

    def _today(self):
        return self._clock.now().astimezone(WIB).date()

    @staticmethod
    def _lang(lang: str) -> str:
        if lang not in LANGUAGES:
            raise DomainError(
                "validation_failed",
                "unsupported language",
                ErrorKind.INVALID,
                [FieldError("lang", "not_allowed", f"lang must be one of {', '.join(LANGUAGES)}")],
            )
        return lang

    async def _current(self, code: str | None) -> list[dict[str, Any]]:
        docs = await self._store.versions(code)
        out = []
        for c in CODES if code is None else (code,):
            mine = [d for d in docs if d["code"] == c]
            chosen = current_version([version_of(d) for d in mine], self._today())
            if chosen is not None:
                out.append(next(d for d in mine if int(d["version"]) == chosen.version))
        return out

    async def list(self, lang: str) -> dict[str, Any]:
        lang = self._lang(lang)
        return {
            "lang": lang,
            "programs": [
                {
                    "code": d["code"],
                    "version": d["version"],
                    "effective_date": d["effective_date"],
                    "title": d["content"][lang]["title"],
                    "summary": d["content"][lang]["summary"],
                }
                for d in await self._current(None)
            ],
        }

    async def get(self, code: str, lang: str) -> dict[str, Any]:
        lang = self._lang(lang)
        code = code.upper()
        found = await self._current(code) if code in CODES else []
        if not found:
            raise not_found("program", code="program_not_found")
        d = found[0]
        return {
            "code": d["code"],
            "version": d["version"],
            "effective_date": d["effective_date"],
            "source": d.get("source"),
            "lang": lang,
            **d["content"][lang],
        }
