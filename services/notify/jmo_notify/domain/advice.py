"""What a member can do about a refused claim or a failed transfer, by reason code, in both languages."""

from __future__ import annotations

# The claims service's review and reservation codes (claims: domain/review.py, balance's refusals).
_CLAIM_REJECTION = {
    "documents_invalid": (
        "Dokumen Anda tidak dapat diterima. Unggah ulang dokumen yang jelas dan lengkap, lalu ajukan klaim kembali.",
        "Your documents could not be accepted. Upload clear, complete documents and submit the claim again.",
    ),
    "data_mismatch": (
        "Data pada dokumen Anda berbeda dengan data kepesertaan. Perbarui data Anda (pengkinian data), "
        "lalu ajukan klaim kembali.",
        "The data on your documents differs from your membership data. Update your data (pengkinian data) "
        "and submit the claim again.",
    ),
    "identity_not_confirmed": (
        "Identitas Anda belum dapat dikonfirmasi. Jadwalkan panggilan video atau datang ke kantor cabang.",
        "Your identity could not be confirmed. Book a video call or visit a branch office.",
    ),
    "bank_account_not_own_name": (
        "Rekening bank harus atas nama Anda sendiri. Ganti rekening pada pengkinian data, lalu ajukan klaim kembali.",
        "The bank account must be in your own name. Change it in a data update, then submit the claim again.",
    ),
    "heirs_not_proven": (
        "Ahli waris belum dapat dipastikan. Lengkapi surat keterangan ahli waris dan dokumen keluarga.",
        "The heirs could not be confirmed. Complete the heir statement and the family documents.",
    ),
    "not_eligible": (
        "Klaim belum memenuhi syarat untuk alasan yang dipilih. Lihat daftar syarat di aplikasi untuk tanggal "
        "Anda bisa mengajukan.",
        "The claim does not meet the conditions for its reason yet. The checklist in the app shows from when "
        "you can claim.",
    ),
    "withdrawn_by_member": (
        "Klaim dibatalkan atas permintaan Anda. Anda dapat mengajukan klaim baru kapan saja.",
        "The claim was withdrawn at your request. You can submit a new claim at any time.",
    ),
    "insufficient_balance": (
        "Saldo JHT pada kartu tidak mencukupi untuk klaim ini. Periksa saldo Anda di aplikasi.",
        "The JHT balance on the card does not cover this claim. Check your balance in the app.",
    ),
}
_CLAIM_REJECTION_DEFAULT = (
    "Periksa alasan di aplikasi, perbaiki yang diminta, lalu ajukan klaim kembali. Hubungi kami bila perlu bantuan.",
    "Check the reason in the app, fix what it asks for and submit the claim again. Contact us if you need help.",
)

# ISO 20022 codes the banks answer with (as the claims service's own advice), and our time-out.
_PAYOUT_FAILURE = {
    "AC01": ("Bank menyatakan nomor rekening tidak ada.", "The bank says the account number does not exist."),
    "AC04": ("Bank menyatakan rekening sudah ditutup.", "The bank says the account is closed."),
    "AC06": ("Bank menyatakan rekening diblokir.", "The bank says the account is blocked."),
    "BE01": (
        "Bank menyatakan nama pemilik rekening tidak sesuai.",
        "The bank says the account holder's name does not match.",
    ),
    "AG01": (
        "Bank tidak menerima transfer ini ke rekening tersebut.",
        "The bank does not accept this transfer on the account.",
    ),
    "bank_timeout": ("Bank tidak menjawab tepat waktu.", "The bank did not answer in time."),
}
_PAYOUT_FAILURE_DEFAULT = ("Bank menolak transfer.", "The bank refused the transfer.")
_PAYOUT_FIX = (
    "Periksa rekening bank Anda pada pengkinian data (langkah pajak dan bank), lalu ajukan klaim kembali; "
    "saldo sudah kembali ke kartu Anda.",
    "Check your bank account in a data update (tax and bank step), then submit the claim again; the amount "
    "is back on your card.",
)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def claim_rejection_advice(reason_code: str, lang: str) -> str:
    return _pick(_CLAIM_REJECTION.get(reason_code, _CLAIM_REJECTION_DEFAULT), lang)


def payout_failure_advice(reason_code: str, lang: str) -> str:
    what = _pick(_PAYOUT_FAILURE.get(reason_code, _PAYOUT_FAILURE_DEFAULT), lang)
    return f"{what} {_pick(_PAYOUT_FIX, lang)}"
