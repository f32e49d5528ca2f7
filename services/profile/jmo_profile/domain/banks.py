"""Partner banks as the pengkinian data wizard knows them.

Bank codes are Bank Indonesia's 3-digit codes. Account numbers carry no national
check digit; only their length per bank is known (domain-rules.md, from the
banks' published account formats). The table is the default of the setting
PROFILE_BANK_ACCOUNT_LENGTHS, so a bank that changes its format needs no release.
"""

from __future__ import annotations

DEFAULT_ACCOUNT_LENGTHS: dict[str, int] = {
    "002": 15,  # BRI
    "008": 13,  # Mandiri
    "009": 10,  # BNI
    "014": 10,  # BCA
    "022": 13,  # CIMB Niaga
    "028": 12,  # OCBC
    "200": 16,  # BTN
    "451": 10,  # BSI
}

BANK_NAMES: dict[str, str] = {
    "002": "BRI",
    "008": "Mandiri",
    "009": "BNI",
    "014": "BCA",
    "022": "CIMB Niaga",
    "028": "OCBC",
    "200": "BTN",
    "451": "BSI",
}


def mask_account_number(number: str | None) -> str | None:
    """Only the last four digits: enough to recognise an account, too little to pay into it."""
    if not number:
        return number
    visible = 4 if len(number) > 6 else 2
    return "*" * (len(number) - visible) + number[-visible:]
