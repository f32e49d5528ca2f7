"""Comparing a person's name as different records spell it.

The KTP, the employer's membership record, the bank and the member themselves
write one name in different ways: case, spacing, punctuation ("M. Rizki",
"MUH RIZKI") and the common abbreviations of Muhammad/Mohammad and Abdul. Those
differences must not block a member; any other difference must, because a bank
account in somebody else's name is how a JHT payout gets stolen.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

# Each group is one given name and the abbreviations written for it on KTPs and
# bank books. A token matches another when both belong to one group; "M" and
# "MOH" are abbreviations only, so two different full spellings never match.
_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"MUHAMMAD", "M", "MUH", "MUHD", "MHD", "MUHAM"}),
    frozenset({"MUHAMAD", "M", "MUH", "MUHD", "MHD"}),
    frozenset({"MOHAMMAD", "M", "MOH", "MOHD", "MHD", "MOHAM"}),
    frozenset({"MOHAMAD", "M", "MOH", "MOHD", "MHD"}),
    frozenset({"MOCHAMMAD", "M", "MOCH", "MOH", "MOCHD"}),
    frozenset({"MOCHAMAD", "M", "MOCH", "MOH"}),
    frozenset({"ABDUL", "ABD"}),
)

_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02bc]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


class NameMatch(str, Enum):
    SAME = "same"  # equal once case, spacing and punctuation are ignored
    EQUIVALENT = "equivalent"  # equal once common abbreviations are expanded too
    DIFFERENT = "different"


def name_tokens(name: str) -> list[str]:
    """Upper-case words without accents or punctuation ("Ma'ruf" -> MARUF, "M.Rizki" -> M RIZKI)."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    text = _APOSTROPHES.sub("", text)
    return [t for t in _NOT_ALNUM.split(text) if t]


def normalise_name(name: str) -> str:
    return " ".join(name_tokens(name))


def _tokens_equivalent(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _GROUPS)


def _sequences_match(a: list[str], b: list[str]) -> bool:
    """Token by token, letting one token stand for several written together ("NURHAYATI" = "NUR HAYATI")."""
    if not a or not b:
        return not a and not b
    head_a, head_b = a[0], b[0]
    if _tokens_equivalent(head_a, head_b) and _sequences_match(a[1:], b[1:]):
        return True
    if len(head_a) > len(head_b) and head_a.startswith(head_b):
        return _sequences_match([head_a[len(head_b) :], *a[1:]], b[1:])
    if len(head_b) > len(head_a) and head_b.startswith(head_a):
        return _sequences_match(a[1:], [head_b[len(head_a) :], *b[1:]])
    return False


def compare_names(a: str, b: str) -> NameMatch:
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return NameMatch.DIFFERENT
    if "".join(ta) == "".join(tb):
        return NameMatch.SAME
    if _sequences_match(ta, tb):
        return NameMatch.EQUIVALENT
    return NameMatch.DIFFERENT


def names_match(a: str, b: str) -> bool:
    """The tolerant comparison used for the bank account holder against the KTP name."""
    return compare_names(a, b) is not NameMatch.DIFFERENT
