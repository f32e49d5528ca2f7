"""What the review queue shows an officer: why a claim waits for a person, and in which order.

The claims service decides that a claim needs an officer and says why with a reason
code; here each code gets the sentence an officer reads, in Indonesian and English.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Why a claim is in NEEDS_REVIEW (claims' Claim.review_reason, and the risk service's flag).
WHY_IN_REVIEW: dict[str, dict[str, str]] = {
    "above_app_cap": {
        "id": "Di atas batas klaim aplikasi: diselesaikan petugas (video call atau kantor cabang).",
        "en": "Above the app's claim cap: an officer finishes it (video call or branch).",
    },
    "heir_payee_review": {
        "id": "Klaim kematian: petugas memeriksa ahli waris dan rekeningnya.",
        "en": "Death claim: an officer checks the heirs and their account.",
    },
    "bank_account_changed": {
        "id": "Rekening bank berubah setelah pengajuan: petugas mengonfirmasi sebelum pembayaran.",
        "en": "The bank account changed after submission: an officer confirms it before payment.",
    },
    "risk_review": {
        "id": "Ditandai oleh analisis risiko: periksa tanda risikonya.",
        "en": "Flagged by risk analysis: check its risk flags.",
    },
    "risk_unavailable": {
        "id": "Analisis risiko tidak memberi hasil tepat waktu: periksa secara manual.",
        "en": "Risk analysis gave no verdict in time: check it by hand.",
    },
}


def why_in_review(reason_code: str | None, lang: str) -> str:
    if not reason_code:
        return "-"
    sentences = WHY_IN_REVIEW.get(reason_code)
    if sentences is None:
        return reason_code.replace("_", " ")
    return sentences.get(lang, sentences["en"])


def is_risk_flagged(item: dict[str, Any]) -> bool:
    """A claim the risk service flagged: by its reason code, or flags the claims service lists on it."""
    code = str(item.get("reason_code") or "")
    flags = item.get("risk_flags") or []
    open_flags = [f for f in flags if not isinstance(f, dict) or f.get("status", "open") == "open"]
    return code.startswith("risk") or bool(open_flags) or item.get("risk_flagged") is True


def earliest_sla_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claim due soonest (or most overdue) first; the claims service orders so too, this keeps it so."""
    return sorted(items, key=lambda item: (item.get("sla_due_at") or "9999", item.get("claim_id", "")))


def sla_state(due: datetime | None, now: datetime, soon_hours: float = 24) -> str:
    """`overdue`, `due_soon` (within a working day) or `on_time`: how a due time is shown."""
    if due is None:
        return "on_time"
    left = (due - now).total_seconds()
    if left < 0:
        return "overdue"
    return "due_soon" if left < soon_hours * 3600 else "on_time"


def rupiah(amount: int | None) -> str:
    """Integer rupiah as Indonesians write it: Rp27.360.000."""
    if amount is None:
        return "-"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")
