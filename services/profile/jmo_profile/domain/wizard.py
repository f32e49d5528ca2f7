"""The pengkinian data (data update) wizard: its steps, their order, and confirmation.

A member walks the steps in order and may go back to any step already done;
skipping ahead is refused, naming the step that is due. One update at a time
is open per member, so leaving the app and coming back resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import Invalid, Refusal

STEPS: tuple[str, ...] = ("membership", "face", "contact", "tax-bank", "population", "additional")

OPEN = "open"
CONFIRMED = "confirmed"


@dataclass
class Update:
    update_id: str
    member_id: str
    nik: str
    created_at: datetime
    status: str = OPEN
    # step -> {"data": {...}, "at": datetime}
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    confirmed_at: datetime | None = None
    result: dict[str, Any] | None = None

    @property
    def next_step(self) -> str | None:
        return next((s for s in STEPS if s not in self.steps), None)

    def step_statuses(self) -> list[dict[str, str]]:
        due = self.next_step
        return [
            {"step": s, "status": "completed" if s in self.steps else ("current" if s == due else "pending")}
            for s in STEPS
        ]

    def data(self, step: str) -> dict[str, Any]:
        return (self.steps.get(step) or {}).get("data") or {}

    def check_can_enter(self, step: str) -> None:
        if step not in STEPS:
            raise Refusal("unknown_step", f"no step {step!r}; the steps are {', '.join(STEPS)}", kind="not_found")
        if self.status != OPEN:
            raise Refusal("update_closed", "this update was already confirmed; start a new one", kind="conflict")
        due = self.next_step
        if step in self.steps or step == due:
            return
        raise Refusal(
            "step_out_of_order",
            f"complete the step {due!r} first",
            kind="conflict",
            extra={"next_step": due},
        )

    def enter(self, step: str, data: dict[str, Any], at: datetime) -> None:
        self.check_can_enter(step)
        self.steps[step] = {"data": data, "at": at}

    def check_can_confirm(self) -> None:
        if self.status != OPEN:
            return
        due = self.next_step
        if due is not None:
            raise Refusal(
                "update_incomplete", f"the step {due!r} is not done yet", kind="conflict", extra={"next_step": due}
            )

    def confirm(self, at: datetime, result: dict[str, Any]) -> None:
        self.check_can_confirm()
        self.status = CONFIRMED
        self.confirmed_at = at
        self.result = result


def check_face_verification(
    verification: dict[str, Any] | None, member_id: str, nik: str, now: datetime, update_id: str
) -> None:
    """A face match of this member, for a profile update, still valid and not spent on another update."""
    # Another member's verification answers like an unknown one: ids are not to be probed.
    if verification is None or verification.get("member_id") != member_id or verification.get("nik") != nik:
        raise Refusal(
            "verification_not_found",
            "no face verification of yours with this id",
            errors=[_face_error("verification_not_found", "no face verification of yours with this id")],
        )
    if verification.get("purpose") != "profile_update":
        msg = "this face verification was made for another purpose; verify for profile_update"
        raise Refusal("verification_wrong_purpose", msg, errors=[_face_error("verification_wrong_purpose", msg)])
    if verification["expires_at"] <= now:
        msg = "this face verification has expired; verify your face again"
        raise Refusal("verification_expired", msg, errors=[_face_error("verification_expired", msg)])
    used_by = verification.get("used_by_update")
    if used_by and used_by != update_id:
        msg = "this face verification was already used for another update"
        raise Refusal("verification_already_used", msg, errors=[_face_error("verification_already_used", msg)])


def _face_error(code: str, message: str) -> Invalid:
    return Invalid("verification_id", code, message)
