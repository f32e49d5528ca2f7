"""The key that signs the membership card's QR (compact JWS, EdDSA over Ed25519).

A verifier (a clinic, a branch office) checks a card offline with the public key
published at GET /v1/card/keys. The private key comes from BALANCE_CARD_SIGNING_KEY_PEM,
or is generated once and kept in this service's database so every API process
and every restart signs with the same key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from jmo_shared.mongo import Database

SIGNING_KEYS = "signing_keys"
CARD_KEY_ID = "card-qr"
ALGORITHM = "EdDSA"


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 key id: stable for the key, different for any other."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


class CardSigner:
    def __init__(self, private_key: Ed25519PrivateKey, issuer: str) -> None:
        self._key = private_key
        self.issuer = issuer
        public = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        self.kid = _thumbprint(public)
        self._public_jwk = {**public, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def sign(self, claims: dict[str, Any], now: datetime | None = None) -> str:
        issued = int((now or datetime.now(UTC)).timestamp())
        payload = {"iss": self.issuer, "iat": issued, **claims}
        return jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._public_jwk)]}


def signer_from_pem(pem: str, issuer: str) -> CardSigner:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the card signing key must be an Ed25519 private key")
    return CardSigner(key, issuer)


def new_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


async def load_signer(db: Database, pem: str | None, issuer: str) -> CardSigner:
    if pem:
        return signer_from_pem(pem, issuer)
    # $setOnInsert: when two processes start together, the first key written wins for both.
    await db[SIGNING_KEYS].update_one(
        {"_id": CARD_KEY_ID},
        {"$setOnInsert": {"pem": new_pem(), "alg": ALGORITHM, "created_at": datetime.now(UTC)}},
        upsert=True,
    )
    doc = await db[SIGNING_KEYS].find_one({"_id": CARD_KEY_ID})
    return signer_from_pem(doc["pem"], issuer)


def verify_card(token: str, jwks: dict[str, Any], issuer: str | None = None) -> dict[str, Any]:
    """What an offline verifier does: pick the published key by kid and check the signature."""
    kid = jwt.get_unverified_header(token).get("kid")
    keys = {k["kid"]: jwt.PyJWK(k) for k in jwks.get("keys", [])}
    if kid not in keys:
        raise jwt.InvalidSignatureError("card signed with an unknown key")
    options = {"require": ["iat", "kpj"]}
    return jwt.decode(token, keys[kid].key, algorithms=[ALGORITHM], issuer=issuer, options=options)
