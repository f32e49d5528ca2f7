"""Verified access tokens, remembered until they expire.

Checking an ES256 signature costs about as much as the rest of a cached balance
read, and a member's app sends the same token with every read until it expires.
A token that verified once verifies the same way until its `exp` (the shared
verifier checks no revocation list), so the answer is kept until then.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import jwt

from jmo_shared.auth import JwksVerifier, Principal


class CachedVerifier:
    def __init__(self, inner: JwksVerifier, max_tokens: int, wallclock: Callable[[], float] = time.time) -> None:
        self._inner = inner
        self._max = max_tokens
        self._now = wallclock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if self._now() < expires:
                return principal
            del self._verified[token]
        principal = await self._inner.verify(token)  # raises on anything wrong, nothing is kept
        if self._max > 0:
            # Already verified above; only the expiry is read here.
            exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
            if isinstance(exp, int | float):
                self._verified[token] = (principal, float(exp))
                while len(self._verified) > self._max:
                    self._verified.popitem(last=False)
        return principal

    def __len__(self) -> int:
        return len(self._verified)
