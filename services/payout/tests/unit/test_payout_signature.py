from datetime import UTC, datetime, timedelta

import pytest

from jmo_payout.adapters.bank_signature import signature, verify_bank_signature
from jmo_shared.errors import DomainError, ErrorKind

SECRETS = {"014": "secret-014", "002": "secret-002"}
NOW = datetime(2025, 7, 15, 3, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)
BODY = b'{"payout_id":"p1","status":"ACSC"}'


def signed(body: bytes = BODY, bank: str = "014", secret: str = "secret-014", at: datetime = NOW) -> dict[str, str]:
    ts = at.isoformat().replace("+00:00", "Z")
    return {"x-bank-code": bank, "x-timestamp": ts, "x-signature": signature(secret, ts, body)}


def code_of(headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(DomainError) as err:
        verify_bank_signature(headers, body, SECRETS, NOW, SKEW)
    assert err.value.kind is ErrorKind.UNAUTHENTICATED
    return err.value.code


def test_a_correctly_signed_report_names_its_bank() -> None:
    assert verify_bank_signature(signed(), BODY, SECRETS, NOW, SKEW) == "014"


def test_upper_case_hex_is_accepted() -> None:
    headers = signed()
    headers["x-signature"] = headers["x-signature"].upper()
    assert verify_bank_signature(headers, BODY, SECRETS, NOW, SKEW) == "014"


def test_a_changed_body_fails() -> None:
    assert code_of(signed(), BODY.replace(b"ACSC", b"RJCT")) == "invalid_signature"


def test_another_banks_secret_fails() -> None:
    assert code_of(signed(secret="secret-002")) == "invalid_signature"


def test_a_changed_timestamp_fails() -> None:
    headers = signed()
    headers["x-timestamp"] = (NOW + timedelta(seconds=1)).isoformat()
    assert code_of(headers) == "invalid_signature"


def test_unknown_bank_and_missing_headers_fail_alike() -> None:
    assert code_of(signed(bank="999")) == "invalid_signature"
    headers = signed()
    del headers["x-signature"]
    assert code_of(headers) == "invalid_signature"


def test_timestamp_window_is_five_minutes_either_way() -> None:
    assert verify_bank_signature(signed(at=NOW - SKEW), BODY, SECRETS, NOW, SKEW) == "014"
    assert verify_bank_signature(signed(at=NOW + SKEW), BODY, SECRETS, NOW, SKEW) == "014"
    assert code_of(signed(at=NOW - SKEW - timedelta(seconds=1))) == "stale_timestamp"
    assert code_of(signed(at=NOW + SKEW + timedelta(seconds=1))) == "stale_timestamp"


def test_timestamp_must_be_rfc3339_with_offset() -> None:
    for bad in ("yesterday", "2025-07-15T03:00:00"):
        headers = {"x-bank-code": "014", "x-timestamp": bad, "x-signature": signature("secret-014", bad, BODY)}
        assert code_of(headers) == "invalid_timestamp"


def test_while_a_bank_rotates_either_secret_verifies_and_no_other() -> None:
    rotating = {"014": ("secret-014-new", "secret-014")}
    assert verify_bank_signature(signed(secret="secret-014-new"), BODY, rotating, NOW, SKEW) == "014"
    assert verify_bank_signature(signed(secret="secret-014"), BODY, rotating, NOW, SKEW) == "014"
    with pytest.raises(DomainError) as err:
        verify_bank_signature(signed(secret="secret-014-older"), BODY, rotating, NOW, SKEW)
    assert err.value.code == "invalid_signature"
    with pytest.raises(DomainError):  # a bank's secret is a whole string, never one of its characters
        verify_bank_signature(signed(secret="s"), BODY, {"014": "secret-014"}, NOW, SKEW)
