"""The HTTP shapes of the balance API (the mobile gateway's contract, v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jmo_shared.face_assertion import VERIFICATION_ID_MAX_LENGTH

Kpj = Annotated[str, StringConstraints(pattern=r"^\d{11}$")]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """A response model's examples, in its JSON schema (so in the OpenAPI document)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# The examples' member: a card at the current employer and one left at a previous employer.
_CURRENT_CARD = {
    "kpj": "12345678901",
    "employer": "PT Maju Jaya",
    "contributions_idr": 45600000,
    "returns_idr": 6912500,
    "withdrawn_idr": 0,
    "balance_idr": 52512500,
    "reserved_idr": 0,
    "available_idr": 52512500,
    "status": "active",
    "merged_into": None,
    "returns_credited_through": 2025,
}
_PREVIOUS_CARD = {
    "kpj": "13579246801",
    "employer": "PT Sinar Nusantara",
    "contributions_idr": 12000000,
    "returns_idr": 1850000,
    "withdrawn_idr": 0,
    "balance_idr": 13850000,
    "reserved_idr": 0,
    "available_idr": 13850000,
    "status": "ended",
    "merged_into": None,
    "returns_credited_through": 2025,
}
_MERGE_ID = "mrg_5d41402abc4b2a76b9719d91"


class BalanceCard(BaseModel):
    model_config = _examples(_CURRENT_CARD)

    kpj: str
    employer: str
    contributions_idr: int
    returns_idr: int
    withdrawn_idr: int = Field(description="Paid claims debited from the card")
    balance_idr: int = Field(description="contributions + returns - withdrawn")
    reserved_idr: int = Field(description="Held for an open claim")
    available_idr: int
    status: str = Field(description="active | ended | merged")
    merged_into: str | None = None
    returns_credited_through: int | None = Field(None, description="Last year whose returns are credited")


class Balance(BaseModel):
    model_config = _examples({"total_idr": 66362500, "as_of": "2026-03-02", "cards": [_CURRENT_CARD, _PREVIOUS_CARD]})

    total_idr: int
    as_of: str = Field(description="YYYY-MM-DD: the figures as at that day")
    cards: list[BalanceCard]


class MergeCreate(BaseModel):
    kpj_numbers: list[Kpj] = Field(
        min_length=1, max_length=20, description="The cards to merge; the first one receives the money when active"
    )
    verification_id: str = Field(
        min_length=1,
        max_length=VERIFICATION_ID_MAX_LENGTH,
        description="A face verification made for purpose balance_merge, as identity answered it, unchanged",
    )


class MergeAccepted(BaseModel):
    model_config = _examples({"merge_id": _MERGE_ID, "status": "completed"})

    merge_id: str
    status: str


class MovedBalance(BaseModel):
    model_config = _examples({"kpj": "13579246801", "amount_idr": 13850000})

    kpj: str
    amount_idr: int


class Merge(BaseModel):
    model_config = _examples(
        {
            "merge_id": _MERGE_ID,
            "status": "completed",
            "target_kpj": "12345678901",
            "source_kpjs": ["13579246801"],
            "moved": [{"kpj": "13579246801", "amount_idr": 13850000}],
            "target_balance_idr": 66362500,
            "requested_at": "2026-03-02T03:16:05Z",
            "completed_at": "2026-03-02T03:16:05Z",
        }
    )

    merge_id: str
    status: str
    target_kpj: str
    source_kpjs: list[str]
    moved: list[MovedBalance]
    target_balance_idr: int
    requested_at: datetime
    completed_at: datetime | None = None


class MembershipCard(BaseModel):
    model_config = _examples(
        {
            "kpj": "12345678901",
            "full_name": "Siti Nurhaliza",
            "nik_masked": "3171********0001",
            "programs": ["JHT", "JKK", "JKM", "JP"],
            "status": "active",
            "employer": "PT Maju Jaya",
            "cards": ["13579246801"],
            "qr": (
                "eyJhbGciOiJFZERTQSIsImtpZCI6Ik5WRWNjWEhTQ2FOLTYzdlJsSVoxRzdJR3c2NXJtOWRieU92NjlyRndXNlkiLCJ0eXAiOiJKV1QifQ"
                ".eyJpc3MiOiJqbW8tYmFsYW5jZSIsImlhdCI6MTc3MjQyMTMwMCwia3BqIjoiMTIzNDU2Nzg5MDEiLCJuYW1lIjoiU2l0aSBOdXJoYWxpemEi"
                "LCJuaWtfbWFza2VkIjoiMzE3MSoqKioqKioqMDAwMSIsInN0YXR1cyI6ImFjdGl2ZSJ9"
                ".KyjV_puAjFzbV-JRDSUsjEpDLxDSqNpJhKR4dnxTwV7-tcRuzEx5j0UvwySzxBOiu38G_1FzB60TbWMGACpTDg"
            ),
        }
    )

    kpj: str = Field(description="The primary card: the latest merge target, else the most recent active card")
    full_name: str
    nik_masked: str
    programs: list[str]
    status: str
    employer: str
    cards: list[str] = Field(description="The member's other KPJ numbers that still hold their own balance")
    qr: str = Field(description="Compact JWS (EdDSA) over kpj, name, nik_masked, status, iat; keys at /v1/card/keys")


class Jwks(BaseModel):
    model_config = _examples(
        {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": "hLObANLQv0Te7UPlhTbbEKPNJIaUIhmARQUzndJl44Q",
                    "kid": "NVEccXHSCaN-63vRlIZ1G7IGw65rm9dbyOv69rFwW6Y",
                    "use": "sig",
                    "alg": "EdDSA",
                }
            ]
        }
    )

    keys: list[dict[str, Any]]
