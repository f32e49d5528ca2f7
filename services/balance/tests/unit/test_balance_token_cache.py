"""Verified tokens are remembered until they expire, and only verified ones."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from jmo_balance.entrypoints.token_cache import CachedVerifier
from jmo_shared.auth import JwksVerifier
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.testing import TokenIssuer


class Wallclock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer()


def verifier(issuer: TokenIssuer, clock: Wallclock, max_tokens: int = 10) -> CachedVerifier:
    inner = JwksVerifier(None, issuer.issuer, issuer.audience, static_jwks=issuer.jwks())
    return CachedVerifier(inner, max_tokens, wallclock=clock)


async def test_a_verified_token_answers_the_same_principal_until_it_expires(issuer) -> None:
    clock = Wallclock()
    cached = verifier(issuer, clock)
    token = issuer.token("m-1", "3174011201900001", ttl=timedelta(minutes=1))
    first = await cached.verify(token)
    assert (first.member_id, first.nik) == ("m-1", "3174011201900001")
    assert await cached.verify(token) is first
    clock.t += 61  # past exp by the cache's clock: it no longer vouches, the token is checked again
    assert await cached.verify(token) is not first
    expired = issuer.token("m-1", "3174011201900001", ttl=timedelta(seconds=-1))
    with pytest.raises(DomainError) as refused:
        await cached.verify(expired)
    assert refused.value.code == "token_expired"


async def test_a_bad_token_is_refused_every_time(issuer) -> None:
    cached = verifier(issuer, Wallclock())
    stranger = TokenIssuer()  # signs with a key the service does not trust
    token = stranger.token("m-2", "3174011201900002")
    for _ in range(2):
        with pytest.raises(DomainError) as refused:
            await cached.verify(token)
        assert refused.value.kind is ErrorKind.UNAUTHENTICATED


async def test_memory_is_bounded(issuer) -> None:
    cached = verifier(issuer, Wallclock(), max_tokens=2)
    for i in range(5):
        await cached.verify(issuer.token(f"m-{i}", "3174011201900001"))
    assert len(cached) == 2
