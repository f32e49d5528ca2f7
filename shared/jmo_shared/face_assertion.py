"""A face match that other services can use the moment identity answers it.

On a match identity returns, as the `verification_id`, a short-lived assertion signed with
its member key (a JWT, audience `jmo-face-verification`, type `face_verification`): who
matched, for what purpose, with what score and model, until when, and a unique id (`jti`).
Claims, balance and profile verify it with identity's published keys (the JWKS they already
trust for member tokens), so a request sent straight after the match does not depend on
the FaceVerified event having reached them. Each accepts a match once, by its `jti`, which
is also the `verification_id` that FaceVerified carries: the event still feeds projections
and audit, and a plain id (a match before assertions, or from a client that kept one) is
still looked up in the projection.

Why an assertion rather than waiting for the event: the wait would be bounded by the
slowest consumer's lag, which a claim rush stretches to many seconds; a signature check
is a local computation with a cached key. A key that can sign a member's access token can
already act as that member, so trusting the same keys for face assertions adds no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .auth import JwksVerifier, TokenVerifier
from .errors import DomainError, ErrorKind

AUDIENCE = "jmo-face-verification"
TYPE = "face_verification"
# Longest verification_id a service takes: an assertion is about 600 characters, a plain id 32.
VERIFICATION_ID_MAX_LENGTH = 2048


@dataclass(frozen=True)
class FaceAssertion:
    verification_id: str  # the jti; FaceVerified carries the same id
    member_id: str
    nik: str
    purpose: str
    score: float
    model_version: str
    verified_at: datetime
    expires_at: datetime


def claims_of(assertion: FaceAssertion, issuer: str) -> dict[str, Any]:
    """The JWT claims identity signs for a match."""
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "typ": TYPE,
        "jti": assertion.verification_id,
        "sub": assertion.member_id,
        "nik": assertion.nik,
        "purpose": assertion.purpose,
        "score": assertion.score,
        "model": assertion.model_version,
        "iat": assertion.verified_at,
        "nbf": assertion.verified_at,
        "exp": assertion.expires_at,
    }


def looks_signed(value: str) -> bool:
    """A compact JWS (three base64url parts), not a plain verification id."""
    return value.count(".") == 2 and len(value) > 64


class FaceAssertionReader:
    """Reads a `verification_id` a client passed: the assertion in it, or None for a plain id."""

    def __init__(self, verifier: JwksVerifier | TokenVerifier) -> None:
        self._verifier = verifier

    async def read(self, verification_id: str) -> FaceAssertion | None:
        """None for a plain id or a token that is not a valid assertion (the caller's lookup then
        finds no match); an expired assertion is returned as such, for the caller's own expiry
        refusal. Identity's keys unreachable with none cached: 503, as for access tokens."""
        if not looks_signed(verification_id):
            return None
        try:
            claims = await self._verifier.decode(verification_id, audience=AUDIENCE, typ=TYPE, verify_exp=False)
            return FaceAssertion(
                verification_id=str(claims["jti"]),
                member_id=str(claims["sub"]),
                nik=str(claims["nik"]),
                purpose=str(claims["purpose"]),
                score=float(claims["score"]),
                model_version=str(claims["model"]),
                verified_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except DomainError as exc:
            if exc.kind is ErrorKind.UNAVAILABLE:
                raise
            return None
        except (KeyError, TypeError, ValueError):
            return None
