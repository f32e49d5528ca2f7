"""Staff roles come only from the staff issuer's keys (TokenVerifier); member tokens keep member roles."""

from __future__ import annotations

import pytest

from jmo_shared.auth import JwksVerifier, TokenVerifier
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.testing import TokenIssuer


def verifier(issuer: TokenIssuer, with_staff: bool = True) -> TokenVerifier:
    members = JwksVerifier(None, issuer.issuer, issuer.audience, static_jwks=issuer.jwks())
    staff = JwksVerifier(None, issuer.staff_issuer, issuer.staff_audience, static_jwks=issuer.staff_jwks())
    return TokenVerifier(members, staff if with_staff else None)


async def test_a_member_token_is_a_member_and_a_staff_token_is_staff() -> None:
    issuer = TokenIssuer()
    check = verifier(issuer)
    member = await check.verify(issuer.token("m-1", "3171011506900001"))
    assert (member.member_id, member.nik, member.roles) == ("m-1", "3171011506900001", frozenset({"member"}))
    officer = await check.verify(issuer.token("siti.officer", roles=["officer", "ops"]))
    assert (officer.member_id, officer.nik, officer.roles) == ("siti.officer", None, frozenset({"officer", "ops"}))


async def test_a_staff_role_in_a_member_signed_token_is_dropped() -> None:
    issuer = TokenIssuer()
    principal = await verifier(issuer).verify(
        issuer.token("mallory", "3171011506900001", roles=["member", "officer", "ops"], signer="member")
    )
    assert principal.roles == frozenset({"member"})


async def test_a_staff_token_must_be_for_the_staff_issuer_and_audience_and_carry_a_staff_role() -> None:
    issuer = TokenIssuer()
    check = verifier(issuer)
    for token in (
        issuer.token("x", roles=["officer"], iss=issuer.issuer),  # the member issuer's name
        issuer.token("x", roles=["officer"], aud=issuer.audience),  # the members' audience
        issuer.token("x", roles=["member"], signer="staff"),
    ):  # no staff role
        with pytest.raises(DomainError) as refused:
            await check.verify(token)
        assert refused.value.kind is ErrorKind.UNAUTHENTICATED


async def test_without_staff_keys_no_token_is_staff() -> None:
    issuer = TokenIssuer()
    with pytest.raises(DomainError) as refused:
        await verifier(issuer, with_staff=False).verify(issuer.token("siti.officer", roles=["officer"]))
    assert refused.value.kind is ErrorKind.UNAUTHENTICATED


async def test_face_assertions_are_read_with_the_member_keys_only() -> None:
    from jmo_shared.face_assertion import FaceAssertionReader

    issuer = TokenIssuer()
    reader = FaceAssertionReader(verifier(issuer))
    genuine = await reader.read(issuer.face_assertion("m-1", "3171011506900001", "claim", "match-1"))
    assert genuine is not None and genuine.verification_id == "match-1"
    staff_signed = TokenIssuer(issuer=issuer.issuer)
    staff_signed._key, staff_signed.kid = issuer._staff_key, issuer.staff_kid  # the staff key signs it
    assert await reader.read(staff_signed.face_assertion("m-1", "3171011506900001", "claim")) is None
