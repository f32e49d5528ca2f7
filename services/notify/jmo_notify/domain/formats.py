"""How members read amounts and dates: rupiah with dots, dates and times in WIB (Asia/Jakarta)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

_MONTHS = {
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def rupiah(amount_idr: int) -> str:
    """Rp 1.234.567: integer rupiah, dots between thousands (as both languages write it here)."""
    sign = "-" if amount_idr < 0 else ""
    return f"{sign}Rp {abs(int(amount_idr)):,}".replace(",", ".")


def wib_date(at: datetime, lang: str) -> str:
    """12 Maret 2026 / 12 March 2026, the day as it is in WIB."""
    local = at.astimezone(WIB)
    return f"{local.day} {_MONTHS[_lang(lang)][local.month - 1]} {local.year}"


def wib_datetime(at: datetime, lang: str) -> str:
    """12 Maret 2026 pukul 14.05 WIB / 12 March 2026 at 14:05 WIB."""
    local = at.astimezone(WIB)
    if _lang(lang) == "id":
        return f"{wib_date(at, lang)} pukul {local:%H.%M} WIB"
    return f"{wib_date(at, lang)} at {local:%H:%M} WIB"


def mask_account(account_number: str | None) -> str:
    """The last four digits only: a message may be read over a shoulder or on a lock screen."""
    if not account_number:
        return ""
    return f"****{account_number[-4:]}"


def mask_address(address: str) -> str:
    """r***@example.com / +62812****7890: which contact, without handing it to whoever reads the message."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) > 8:
        return f"{address[:5]}****{address[-4:]}"
    return "****"


def _lang(lang: str) -> str:
    return lang if lang in _MONTHS else "id"
