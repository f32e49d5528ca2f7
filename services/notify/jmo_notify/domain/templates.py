"""The messages, in Indonesian (the default) and English: one pure function per kind.

Each takes the notice's facts and a language and returns a `Message`: a title (push, inbox, e-mail
subject), a body (inbox and e-mail) and a short text for SMS. Amounts are "Rp 1.234.567", dates WIB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import kinds as k
from .advice import claim_rejection_advice, payout_failure_advice
from .formats import rupiah, wib_date, wib_datetime

LANGUAGES: tuple[str, ...] = ("id", "en")
DEFAULT_LANGUAGE = "id"

_SIGN_OFF = {"id": "Salam,\nBPJS Ketenagakerjaan", "en": "Kind regards,\nBPJS Ketenagakerjaan"}

_REASONS = {
    "retirement": ("usia pensiun", "retirement age"),
    "resignation": ("mengundurkan diri", "resignation"),
    "termination": ("pemutusan hubungan kerja", "termination"),
    "contract_end": ("kontrak kerja berakhir", "end of contract"),
    "leaving_indonesia": ("meninggalkan Indonesia", "leaving Indonesia"),
    "disability": ("cacat total tetap", "permanent total disability"),
    "death": ("meninggal dunia", "death"),
    "partial_10": ("klaim sebagian 10%", "partial claim 10%"),
    "partial_30": ("klaim sebagian 30% (perumahan)", "partial claim 30% (housing)"),
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    sms: str

    def email_text(self, lang: str) -> str:
        return f"{self.body}\n\n{_SIGN_OFF[language(lang)]}\n"


def language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _reason(code: str, lang: str) -> str:
    pair = _REASONS.get(code)
    return (pair[1] if lang == "en" else pair[0]) if pair else code


def _claim_submitted(f: Mapping[str, Any], lang: str) -> Message:
    due = wib_date(f["sla_due_at"], lang)
    if lang == "en":
        return Message(
            "Your JHT claim was received",
            f"We received your JHT claim {f['claim_id']} for card {f['kpj']} ({_reason(f['reason'], lang)}). "
            f"We will finish it by {due} at the latest and tell you at every step.",
            f"BPJSTK: JHT claim {f['claim_id']} received. Done by {due} at the latest.",
        )
    return Message(
        "Klaim JHT Anda kami terima",
        f"Klaim JHT {f['claim_id']} untuk kartu {f['kpj']} ({_reason(f['reason'], lang)}) sudah kami terima. "
        f"Kami selesaikan paling lambat {due} dan kabari Anda di setiap langkah.",
        f"BPJSTK: Klaim JHT {f['claim_id']} diterima. Selesai paling lambat {due}.",
    )


def _claim_needs_review(f: Mapping[str, Any], lang: str) -> Message:
    if lang == "en":
        return Message(
            "Your claim is being checked by an officer",
            f"Your JHT claim {f['claim_id']} needs a check by one of our officers (for example a claim above the "
            "app's limit). You do not need to do anything now; if we need a video call or a document we will "
            "tell you.",
            f"BPJSTK: claim {f['claim_id']} is being checked by an officer. No action needed now.",
        )
    return Message(
        "Klaim Anda sedang diperiksa petugas",
        f"Klaim JHT {f['claim_id']} perlu diperiksa oleh petugas kami (misalnya klaim di atas batas aplikasi). "
        "Anda tidak perlu melakukan apa pun sekarang; bila kami memerlukan panggilan video atau dokumen, "
        "kami akan mengabari Anda.",
        f"BPJSTK: Klaim {f['claim_id']} sedang diperiksa petugas. Belum ada yang perlu Anda lakukan.",
    )


def _claim_rejected(f: Mapping[str, Any], lang: str) -> Message:
    advice = claim_rejection_advice(f["reason_code"], lang)
    if lang == "en":
        return Message(
            "Your claim could not be paid",
            f"Your JHT claim {f['claim_id']} was not approved. {advice}",
            f"BPJSTK: claim {f['claim_id']} not approved. See the app for what to do.",
        )
    return Message(
        "Klaim Anda belum dapat dibayar",
        f"Klaim JHT {f['claim_id']} tidak disetujui. {advice}",
        f"BPJSTK: Klaim {f['claim_id']} tidak disetujui. Lihat aplikasi untuk langkah berikutnya.",
    )


def _claim_paid(f: Mapping[str, Any], lang: str) -> Message:
    net, when = rupiah(f["net_idr"]), wib_datetime(f["settled_at"], lang)
    account = f" {f['account_masked']}" if f.get("account_masked") else ""
    bank = f"{f['bank_name']}{account}"
    if lang == "en":
        tax = f" (gross {rupiah(f['gross_idr'])}, PPh 21 income tax {rupiah(f['tax_idr'])})" if f["tax_idr"] else ""
        return Message(
            "Your JHT claim has been paid",
            f"{net} from your JHT claim {f['claim_id']}{tax} was paid to your {bank} account on {when}.",
            f"BPJSTK: JHT claim {f['claim_id']} paid: {net} to {bank}.",
        )
    tax = f" (bruto {rupiah(f['gross_idr'])}, PPh 21 {rupiah(f['tax_idr'])})" if f["tax_idr"] else ""
    return Message(
        "Klaim JHT Anda sudah dibayar",
        f"Dana klaim JHT {f['claim_id']} sebesar {net}{tax} telah ditransfer ke rekening {bank} pada {when}.",
        f"BPJSTK: Klaim JHT {f['claim_id']} dibayar {net} ke {bank}.",
    )


def _payout_failed(f: Mapping[str, Any], lang: str) -> Message:
    advice = payout_failure_advice(f["reason_code"], lang)
    if lang == "en":
        return Message(
            "We could not transfer your claim",
            f"The transfer for your JHT claim {f['claim_id']} failed. {advice}",
            f"BPJSTK: transfer for claim {f['claim_id']} failed. Check your bank account in the app.",
        )
    return Message(
        "Transfer klaim Anda gagal",
        f"Transfer dana klaim JHT {f['claim_id']} gagal. {advice}",
        f"BPJSTK: Transfer klaim {f['claim_id']} gagal. Periksa rekening bank Anda di aplikasi.",
    )


def _claim_sla_breached(f: Mapping[str, Any], lang: str) -> Message:
    promised, new = wib_date(f["sla_due_at"], lang), wib_date(f["new_due_at"], lang)
    if lang == "en":
        return Message(
            "We are sorry: your claim is late",
            f"We promised to finish your JHT claim {f['claim_id']} by {promised} and did not. We apologise. "
            f"A supervisor is now handling it and we expect to finish it by {new}.",
            f"BPJSTK: sorry, claim {f['claim_id']} is late. New date: {new}.",
        )
    return Message(
        "Mohon maaf, klaim Anda terlambat",
        f"Kami berjanji menyelesaikan klaim JHT {f['claim_id']} paling lambat {promised}, namun belum selesai. "
        f"Mohon maaf. Klaim Anda kini ditangani atasan petugas dan kami perkirakan selesai paling lambat {new}.",
        f"BPJSTK: Mohon maaf, klaim {f['claim_id']} terlambat. Perkiraan selesai {new}.",
    )


def _complaint_answered(f: Mapping[str, Any], lang: str) -> Message:
    if lang == "en":
        return Message(
            "Your complaint has an answer",
            f"An officer answered your complaint {f['ticket']}. Open the app to read it and reply.",
            f"BPJSTK: complaint {f['ticket']} has an answer. Open the app to read it.",
        )
    return Message(
        "Pengaduan Anda sudah dijawab",
        f"Petugas kami sudah menjawab pengaduan {f['ticket']}. Buka aplikasi untuk membaca dan membalasnya.",
        f"BPJSTK: Pengaduan {f['ticket']} sudah dijawab. Buka aplikasi untuk membacanya.",
    )


def _security_contact_changed(f: Mapping[str, Any], lang: str) -> Message:
    when = wib_datetime(f["changed_at"], lang)
    channels = f["channels"]  # ("email",) / ("phone",) / both
    if lang == "en":
        what = " and ".join({"email": "e-mail address", "phone": "phone number"}[c] for c in channels)
        hold = (
            f" For your safety the bank account cannot be changed until {wib_datetime(f['restricted_until'], lang)}."
            if f.get("restricted_until")
            else ""
        )
        return Message(
            "Security notice: your contact details changed",
            f"The {what} of your JMO account changed on {when} (now {f['new_contacts']}).{hold} "
            "If this was not you, call 175 or visit a branch office at once.",
            f"BPJSTK: the {what} of your JMO account changed on {when}. Not you? Call 175 now.",
        )
    what = " dan ".join({"email": "alamat e-mail", "phone": "nomor ponsel"}[c] for c in channels)
    hold = (
        f" Demi keamanan, rekening bank tidak dapat diubah sampai {wib_datetime(f['restricted_until'], lang)}."
        if f.get("restricted_until")
        else ""
    )
    return Message(
        "Pemberitahuan keamanan: data kontak Anda berubah",
        f"{what[0].upper()}{what[1:]} akun JMO Anda berubah pada {when} (sekarang {f['new_contacts']}).{hold} "
        "Bila ini bukan Anda, segera hubungi 175 atau datang ke kantor cabang.",
        f"BPJSTK: {what} akun JMO Anda berubah pada {when}. Bukan Anda? Hubungi 175 segera.",
    )


_RENDERERS: dict[str, Callable[[Mapping[str, Any], str], Message]] = {
    k.CLAIM_SUBMITTED: _claim_submitted,
    k.CLAIM_NEEDS_REVIEW: _claim_needs_review,
    k.CLAIM_REJECTED: _claim_rejected,
    k.CLAIM_PAID: _claim_paid,
    k.PAYOUT_FAILED: _payout_failed,
    k.CLAIM_SLA_BREACHED: _claim_sla_breached,
    k.COMPLAINT_ANSWERED: _complaint_answered,
    k.SECURITY_CONTACT_CHANGED: _security_contact_changed,
}


def render(kind: str, facts: Mapping[str, Any], lang: str | None) -> Message:
    """The message of a notice in the member's language (Indonesian when unknown)."""
    return _RENDERERS[kind](facts, language(lang))
