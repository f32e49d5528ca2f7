"""Reporting a transfer's result to the payout service: signed POST, retried until it is taken."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from jmo_shared.bank_signature import signed_request
from jmo_shared.clock import Clock
from jmo_shared.logging import get_logger

log = get_logger(__name__)


class Notifier:
    def __init__(
        self,
        client: httpx.AsyncClient,
        secrets: dict[str, str],
        clock: Clock,
        retry_initial: float,
        retry_max: float,
        give_up_after: float,
    ) -> None:
        self._client = client
        self._secrets = secrets
        self._clock = clock
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._give_up_after = give_up_after

    async def deliver(self, url: str, bank_code: str, body: dict[str, Any]) -> str:
        """Retries on network errors and 5xx; stops on any 2xx (taken) or 4xx (refused for good)."""
        secret = self._secrets.get(bank_code)
        if secret is None:
            log.error("no_signing_secret", bank_code=bank_code)
            return "no_secret"
        deadline = time.monotonic() + self._give_up_after
        delay = self._retry_initial
        while True:
            # Signed afresh on every attempt: the timestamp must stay inside the receiver's window.
            raw, headers = signed_request(bank_code, secret, body, self._clock.now())
            try:
                response = await self._client.post(url, content=raw, headers=headers)
                if 200 <= response.status_code < 300:
                    return f"accepted:{response.status_code}"
                if 400 <= response.status_code < 500:
                    log.warning(
                        "notification_refused",
                        url=url,
                        status=response.status_code,
                        payout_id=body.get("payout_id"),
                        answer=response.text[:300],
                    )
                    return f"refused:{response.status_code}"
                problem = f"status {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                log.error("notification_given_up", url=url, payout_id=body.get("payout_id"), error=problem)
                return "gave_up"
            log.info("notification_retry", url=url, payout_id=body.get("payout_id"), error=problem, delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)
