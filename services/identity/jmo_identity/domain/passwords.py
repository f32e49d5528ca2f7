"""What a member's password must be: long, not guessable from their own data, not common."""

from __future__ import annotations

import re
from dataclasses import dataclass

from jmo_shared.errors import FieldError

MAX_LENGTH = 256

# The worst offenders of public breach lists, plus the Indonesian favourites;
# checked case-insensitively and with trailing digits/symbols removed.
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwerty",
        "qwertyuiop",
        "asdfghjkl",
        "zxcvbnm",
        "1q2w3e4r",
        "1qaz2wsx",
        "qazwsx",
        "abc123",
        "abcdef",
        "abcdefgh",
        "iloveyou",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "superman",
        "batman",
        "starwars",
        "trustno1",
        "master",
        "shadow",
        "michael",
        "jesus",
        "whatever",
        "changeme",
        "secret",
        "rahasia",
        "bismillah",
        "alhamdulillah",
        "indonesia",
        "jakarta",
        "sayang",
        "sayangku",
        "cintaku",
        "kucing",
        "doraemon",
        "garuda",
        "merdeka",
        "bpjs",
        "bpjstk",
        "bpjsketenagakerjaan",
        "jamsostek",
        "katasandi",
        "passwordku",
    }
)
_TRAILING_NOISE = re.compile(r"[\d\W_]+$")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10

    def problems(self, password: str, *, nik: str, email: str) -> list[FieldError]:
        """Every rule the password breaks (empty when it is acceptable)."""
        out: list[FieldError] = []
        lowered = password.casefold()
        if len(password) < self.min_length:
            out.append(_err("too_short", f"use at least {self.min_length} characters"))
        if len(password) > MAX_LENGTH:
            out.append(_err("too_long", f"use at most {MAX_LENGTH} characters"))
        if password.isdigit():
            out.append(_err("all_digits", "use letters as well as digits"))
        if nik and nik in password:
            out.append(_err("contains_nik", "do not use your NIK in the password"))
        local = email.partition("@")[0].casefold()
        # A two-letter local part ("jo@...") would forbid too much for too little.
        if len(local) >= 3 and local in lowered:
            out.append(_err("contains_email", "do not use your e-mail address in the password"))
        if lowered in COMMON_PASSWORDS or _TRAILING_NOISE.sub("", lowered) in COMMON_PASSWORDS or _repetitive(password):
            out.append(_err("too_common", "this password is too common; choose another"))
        return out


def _repetitive(password: str) -> bool:
    # "aaaaaaaaaa" or "abababab..." passes the length rule but not a guesser.
    return len(set(password)) <= 2


def _err(code: str, message: str) -> FieldError:
    return FieldError("password", code, message)
