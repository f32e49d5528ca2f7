"""Document kinds a claim needs, per reason, and recognising an upload by its content."""

from __future__ import annotations

# Permenaker 4/2022 (see domain-rules.md): the documents besides the KPJ card.
DOCUMENT_KINDS: dict[str, str] = {
    "ktp": "KTP (identity card)",
    "kpj_card": "KPJ membership card",
    "kk": "KK (family card)",
    "resignation_letter": "employer's resignation letter",
    # One of: Disnaker receipt of the PHK report, employer's PHK report, PHK notice +
    # worker's statement, joint agreement, industrial relations court ruling.
    "phk_report": "proof of termination (PHK)",
    "contract_statement": "fixed-term contract or statement that work stopped",
    "passport": "passport",
    "no_longer_working_statement": "statement of no longer working in Indonesia",
    "doctor_statement": "doctor's statement of permanent total disability",
    "death_certificate": "death certificate",
    "heir_ktp": "heir's KTP",
    "heir_statement": "heir statement",
    "birth_certificate": "children's birth certificates",
    "bank_housing_documents": "the partner bank's housing documents",
}

REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "retirement": ("kpj_card", "ktp"),
    "resignation": ("kpj_card", "ktp", "resignation_letter"),
    "termination": ("kpj_card", "ktp", "phk_report"),
    "contract_end": ("kpj_card", "ktp", "contract_statement"),
    "leaving_indonesia": ("kpj_card", "passport", "no_longer_working_statement"),
    "disability": ("kpj_card", "ktp", "doctor_statement"),
    "death": ("kpj_card", "death_certificate", "heir_ktp", "heir_statement"),
    "partial_10": ("kpj_card", "ktp", "kk"),
    "partial_30": ("kpj_card", "ktp", "kk", "bank_housing_documents"),
}

# Needed only in some cases; shown to the member, not enforced automatically.
CONDITIONAL_DOCUMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "death": (("birth_certificate", "when the heirs are children"),),
}

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


def sniff_file_type(head: bytes) -> str | None:
    """The file's real type from its first bytes; the name and the declared type are not trusted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None
