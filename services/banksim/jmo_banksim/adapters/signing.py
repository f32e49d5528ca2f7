"""Signing notifications the way the payout service verifies them:
X-Signature = hex HMAC-SHA256(secret, "{X-Timestamp}.{raw body}")."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any


def signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()


def signed_request(bank_code: str, secret: str, body: dict[str, Any], now: datetime) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, separators=(",", ":"), default=str).encode()
    timestamp = now.isoformat().replace("+00:00", "Z")
    return raw, {
        "Content-Type": "application/json",
        "X-Bank-Code": bank_code,
        "X-Timestamp": timestamp,
        "X-Signature": signature(secret, timestamp, raw),
    }
