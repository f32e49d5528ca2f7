"""Pure pieces of the plumbing: the envelope, typed events, token verification, problem details."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from jmo_shared.auth import JwksVerifier
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.events import REGISTRY, CloudEvent, PayoutSent, parse_data
from jmo_shared.events.upstream import ContributionPosted
from jmo_shared.logging import correlation_id
from jmo_shared.testing import TokenIssuer


def test_an_event_round_trips_through_bytes_with_its_correlation_id() -> None:
    token = correlation_id.set("corr-123")
    try:
        data = ContributionPosted(
            kpj="12345678901",
            period="2024-02",
            wage_idr=5_000_000,
            employer_idr=185_000,
            worker_idr=100_000,
            posted_at="2024-03-10T03:00:00Z",
            nik="3171011506900001",
        )
        event = data.to_event("/core")
    finally:
        correlation_id.reset(token)
    again = CloudEvent.from_bytes(event.to_bytes())
    assert again.correlationid == "corr-123"
    assert again.type == "jht.core.ContributionPosted.v1"
    assert parse_data(again) == data
    assert data.key() == "3171011506900001"  # keyed by NIK when the publisher gives it


def test_money_fields_refuse_fractions_and_bad_periods() -> None:
    with pytest.raises(ValueError):
        ContributionPosted(
            kpj="12345678901",
            period="2024-13",
            wage_idr=1,
            employer_idr=1,
            worker_idr=1,
            posted_at="2024-03-10T03:00:00Z",
        )
    with pytest.raises(ValueError):
        ContributionPosted(
            kpj="12345678901",
            period="2024-01",
            wage_idr=1.5,
            employer_idr=1,
            worker_idr=1,
            posted_at="2024-03-10T03:00:00Z",
        )


def test_bank_events_have_no_fixed_topic() -> None:
    assert PayoutSent.topic is None
    assert all(t.startswith("jht.") for t in REGISTRY)


def test_tokens_are_verified_with_the_published_keys() -> None:
    issuer = TokenIssuer()
    verifier = JwksVerifier(None, issuer.issuer, issuer.audience, static_jwks=issuer.jwks())
    principal = asyncio.run(verifier.verify(issuer.token("m-1", "3171011506900001", roles=["member"])))
    assert (principal.member_id, principal.nik) == ("m-1", "3171011506900001")

    with pytest.raises(DomainError) as expired:
        asyncio.run(verifier.verify(issuer.token("m-1", ttl=timedelta(seconds=-5))))
    assert (expired.value.kind, expired.value.code) == (ErrorKind.UNAUTHENTICATED, "token_expired")

    other = TokenIssuer()
    with pytest.raises(DomainError) as unknown:
        asyncio.run(verifier.verify(other.token("m-1")))
    assert unknown.value.code == "invalid_token"

    with pytest.raises(DomainError):
        asyncio.run(verifier.verify("not.a.token"))
