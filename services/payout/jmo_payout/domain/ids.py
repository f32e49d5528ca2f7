"""The identifiers a bank sees, derived from the payout id so a resend carries the same ones.

- partner_reference_no: BI SNAP `partnerReferenceNo` (max 64): the payout id itself.
- external_id: BI SNAP `X-EXTERNAL-ID`, numeric, unique within the day: the
  Jakarta date plus 16 digits hashed from the payout id (a unique index catches
  the 1-in-10^16 collision).
- end_to_end_id / message_id: ISO 20022 `EndToEndId` / `MsgId` (max 35 characters).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

MAX_ISO_ID = 35
MAX_PARTNER_REFERENCE = 64


@dataclass(frozen=True)
class PayoutIds:
    payout_id: str
    partner_reference_no: str
    external_id: str
    end_to_end_id: str
    message_id: str


def new_payout_id() -> str:
    return str(uuid.uuid4())


def _digits(payout_id: str, purpose: str, count: int) -> str:
    digest = hashlib.sha256(f"{purpose}:{payout_id}".encode()).digest()
    return str(int.from_bytes(digest, "big") % 10**count).zfill(count)


def derive_ids(payout_id: str, initiated_on: date) -> PayoutIds:
    hex_id = uuid.UUID(payout_id).hex  # 32 characters; rejects anything but a uuid
    ids = PayoutIds(
        payout_id=payout_id,
        partner_reference_no=payout_id,
        external_id=f"{initiated_on:%Y%m%d}{_digits(payout_id, 'external', 16)}",
        end_to_end_id=f"E2E{hex_id}",
        message_id=f"MSG{hex_id}",
    )
    assert len(ids.end_to_end_id) <= MAX_ISO_ID and len(ids.message_id) <= MAX_ISO_ID
    assert len(ids.partner_reference_no) <= MAX_PARTNER_REFERENCE
    return ids
