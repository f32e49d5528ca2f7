"""The messages in both languages: rupiah with dots, dates in WIB, what to do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jmo_notify.domain import kinds as k
from jmo_notify.domain.advice import claim_rejection_advice, payout_failure_advice
from jmo_notify.domain.formats import mask_account, mask_address, rupiah, wib_date, wib_datetime
from jmo_notify.domain.templates import render

# 17:30 UTC on 31 March is already 1 April in Jakarta.
LATE_EVENING = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "Rp 0"),
        (999, "Rp 999"),
        (1_000, "Rp 1.000"),
        (1_234_567, "Rp 1.234.567"),
        (15_000_000, "Rp 15.000.000"),
        (-2_500, "-Rp 2.500"),
    ],
)
def test_rupiah_has_dots_between_thousands(amount: int, text: str) -> None:
    assert rupiah(amount) == text


def test_dates_are_the_day_in_wib_in_each_language() -> None:
    assert wib_date(LATE_EVENING, "id") == "1 April 2026"
    assert wib_date(LATE_EVENING, "en") == "1 April 2026"
    assert wib_date(datetime(2026, 8, 16, 18, 0, tzinfo=UTC), "id") == "17 Agustus 2026"
    assert wib_datetime(LATE_EVENING, "id") == "1 April 2026 pukul 00.30 WIB"
    assert wib_datetime(LATE_EVENING, "en") == "1 April 2026 at 00:30 WIB"
    assert wib_date(LATE_EVENING, "fr") == "1 April 2026"  # unknown language: Indonesian months


def test_masks_keep_only_what_identifies_the_contact() -> None:
    assert mask_account("1234567890") == "****7890"
    assert mask_account(None) == ""
    assert mask_address("rina@example.com") == "r***@example.com"
    assert mask_address("+6281234567890") == "+6281****7890"


PAID = {
    "claim_id": "CLM-1",
    "gross_idr": 62_500_000,
    "tax_idr": 625_000,
    "net_idr": 61_875_000,
    "settled_at": datetime(2026, 3, 2, 3, 5, tzinfo=UTC),
    "bank_name": "BCA",
    "account_masked": "****7890",
}


def test_paid_names_the_amount_the_bank_and_the_time_in_wib() -> None:
    id_ = render(k.CLAIM_PAID, PAID, "id")
    assert id_.title == "Klaim JHT Anda sudah dibayar"
    assert (
        "Dana klaim JHT CLM-1 sebesar Rp 61.875.000 (bruto Rp 62.500.000, PPh 21 Rp 625.000) telah "
        "ditransfer ke rekening BCA ****7890 pada 2 Maret 2026 pukul 10.05 WIB."
    ) == id_.body
    en = render(k.CLAIM_PAID, PAID, "en")
    assert en.title == "Your JHT claim has been paid"
    assert "Rp 61.875.000" in en.body and "BCA ****7890" in en.body and "2 March 2026 at 10:05 WIB" in en.body
    assert len(en.sms) <= 160 and len(id_.sms) <= 160


def test_paid_without_tax_says_no_tax_and_without_a_known_account_names_the_bank() -> None:
    msg = render(k.CLAIM_PAID, {**PAID, "tax_idr": 0, "net_idr": 62_500_000, "account_masked": None}, "id")
    assert "PPh" not in msg.body and "rekening BCA pada" in msg.body


def test_unknown_language_is_indonesian() -> None:
    assert render(k.CLAIM_PAID, PAID, None).title == render(k.CLAIM_PAID, PAID, "id").title
    assert render(k.CLAIM_PAID, PAID, "jv").title == "Klaim JHT Anda sudah dibayar"


def test_rejection_and_payout_failure_say_what_to_do() -> None:
    rejected = render(
        k.CLAIM_REJECTED, {"claim_id": "CLM-2", "reason_code": "bank_account_not_own_name", "message": "x"}, "id"
    )
    assert "atas nama Anda sendiri" in rejected.body
    assert "own name" in claim_rejection_advice("bank_account_not_own_name", "en")
    assert "ajukan klaim kembali" in claim_rejection_advice("some_new_code", "id")
    failed = render(k.PAYOUT_FAILED, {"claim_id": "CLM-3", "reason_code": "AC04"}, "en")
    assert "account is closed" in failed.body and "data update" in failed.body
    assert "Bank menolak transfer." in payout_failure_advice("ZZ99", "id")


def test_sla_breach_apologises_with_the_promised_and_the_new_date() -> None:
    facts = {
        "claim_id": "CLM-4",
        "sla_due_at": datetime(2026, 3, 9, 10, tzinfo=UTC),
        "new_due_at": datetime(2026, 3, 12, 10, tzinfo=UTC),
    }
    id_ = render(k.CLAIM_SLA_BREACHED, facts, "id")
    assert "Mohon maaf" in id_.body and "9 Maret 2026" in id_.body and "12 Maret 2026" in id_.body
    en = render(k.CLAIM_SLA_BREACHED, facts, "en")
    assert "apologise" in en.body and "12 March 2026" in en.body


def test_security_notice_names_what_changed_and_the_hold_on_the_bank_account() -> None:
    facts = {
        "changed_at": datetime(2026, 3, 2, 3, 5, tzinfo=UTC),
        "channels": ["email"],
        "new_contacts": "b***@example.com",
        "restricted_until": datetime(2026, 3, 5, 3, 5, tzinfo=UTC),
        "cause": "recovery",
    }
    id_ = render(k.SECURITY_CONTACT_CHANGED, facts, "id")
    assert id_.body.startswith("Alamat e-mail akun JMO Anda berubah pada 2 Maret 2026 pukul 10.05 WIB")
    assert "rekening bank tidak dapat diubah sampai 5 Maret 2026" in id_.body and "175" in id_.body
    en = render(k.SECURITY_CONTACT_CHANGED, {**facts, "channels": ["email", "phone"], "restricted_until": None}, "en")
    assert "e-mail address and phone number" in en.body and "bank account" not in en.body


@pytest.mark.parametrize("kind", list(k.KINDS))
def test_every_kind_renders_in_both_languages(kind: str) -> None:
    facts = {
        "claim_id": "CLM-9",
        "kpj": "12345678901",
        "reason": "resignation",
        "reason_code": "x",
        "sla_due_at": LATE_EVENING,
        "new_due_at": LATE_EVENING,
        "ticket": "HD-2026-000001",
        "answered_at": LATE_EVENING,
        "changed_at": LATE_EVENING,
        "channels": ["phone"],
        "new_contacts": "+6281****7890",
        **PAID,
    }
    id_, en = render(kind, facts, "id"), render(kind, facts, "en")
    assert id_.title != en.title and id_.body != en.body
    assert all(m.title and m.body and m.sms for m in (id_, en))
