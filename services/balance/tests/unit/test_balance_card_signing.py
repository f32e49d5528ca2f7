"""The card's QR: signed with the service's Ed25519 key, verifiable offline with the published JWKS."""

from __future__ import annotations

import jwt
import pytest

from jmo_balance.adapters.card_signing import new_pem, signer_from_pem, verify_card


def test_a_signed_card_verifies_with_the_published_key() -> None:
    signer = signer_from_pem(new_pem(), "jmo-balance")
    token = signer.sign({"kpj": "12345678901", "name": "Budi", "nik_masked": "3174********0001", "status": "active"})
    jwks = signer.jwks()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    assert "d" not in jwks["keys"][0]  # the private part is never published
    claims = verify_card(token, jwks, issuer="jmo-balance")
    assert claims["kpj"] == "12345678901" and claims["nik_masked"] == "3174********0001"
    assert isinstance(claims["iat"], int)
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"


def test_a_tampered_card_fails() -> None:
    signer = signer_from_pem(new_pem(), "jmo-balance")
    header, _payload, signature = signer.sign({"kpj": "12345678901"}).split(".")
    other = signer.sign({"kpj": "99999999999"}).split(".")[1]
    with pytest.raises(jwt.InvalidSignatureError):
        verify_card(f"{header}.{other}.{signature}", signer.jwks())


def test_a_card_signed_by_another_key_fails() -> None:
    ours, theirs = signer_from_pem(new_pem(), "jmo-balance"), signer_from_pem(new_pem(), "jmo-balance")
    with pytest.raises(jwt.InvalidSignatureError):
        verify_card(theirs.sign({"kpj": "12345678901"}), ours.jwks())
    forged_kid = jwt.encode({"kpj": "1", "iat": 1}, theirs._key, algorithm="EdDSA", headers={"kid": ours.kid})
    with pytest.raises(jwt.InvalidSignatureError):
        verify_card(forged_kid, ours.jwks())


def test_the_key_must_be_ed25519() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    with pytest.raises(ValueError):
        signer_from_pem(pem, "jmo-balance")
