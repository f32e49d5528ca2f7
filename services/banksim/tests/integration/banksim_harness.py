"""Helpers for the bank simulator's integration tests: a real HTTP receiver for its reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI, Request, Response

from jmo_shared.testing import serve_http as shared_serve_http


@asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Plays the payout service's notification endpoint; answers can be scripted per payout id."""

    received: list[Received] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # payout id -> seconds before answering

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/bank/notifications")
        async def notifications(request: Request) -> Response:
            import json

            raw = await request.body()
            self.received.append(Received({k.lower(): v for k, v in request.headers.items()}, raw))
            payout_id = json.loads(raw)["payout_id"]
            await asyncio.sleep(self.slow.get(payout_id, 0))
            answers = self.scripted.get(payout_id, [])
            return Response(status_code=answers.pop(0) if answers else 200)

        return app

    def for_payout(self, payout_id: str) -> list[Received]:
        import json

        return [r for r in self.received if json.loads(r.body)["payout_id"] == payout_id]


@asynccontextmanager
async def serve_http(app: FastAPI) -> AsyncIterator[str]:
    """The receiver on a real socket; its app has no lifespan."""
    async with shared_serve_http(app, lifespan="off") as url:
        yield url
