"""The partner banks' notification signature: a contract between payout and every bank.

X-Signature = hex HMAC-SHA256(secret agreed with the bank, "{X-Timestamp}.{raw body}"),
with the bank's code in X-Bank-Code. The timestamp is inside the signature, so a
captured report cannot be replayed later (payout checks it is recent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

BANK_CODE_HEADER = "x-bank-code"
TIMESTAMP_HEADER = "x-timestamp"
SIGNATURE_HEADER = "x-signature"


def signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()


def signed_request(bank_code: str, secret: str, body: dict[str, Any], now: datetime) -> tuple[bytes, dict[str, str]]:
    """The exact bytes and headers a bank sends: sign what is sent, not a re-serialisation of it."""
    raw = json.dumps(body, separators=(",", ":"), default=str).encode()
    timestamp = now.isoformat().replace("+00:00", "Z")
    return raw, {
        "Content-Type": "application/json",
        "X-Bank-Code": bank_code,
        "X-Timestamp": timestamp,
        "X-Signature": signature(secret, timestamp, raw),
    }
