"""The ways a partner bank misbehaves, chosen per bank (or for all) from the test or the demo."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from .statement import StatementLie

Mode = Literal["normal", "slow", "reject", "duplicate", "reorder", "silent"]


@dataclass(frozen=True)
class Behaviour:
    mode: Mode = "normal"
    delay_seconds: float | None = None
    reason_code: str | None = None
    reason: str | None = None
    # How this bank's statements lie (None: they tell the truth); read when a statement is asked for.
    statement: StatementLie | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Defaults:
    settle_delay_seconds: float
    slow_delay_seconds: float
    reject_reason_code: str
    reject_reason: str


@dataclass(frozen=True)
class Plan:
    """What the bank will do with one transfer, fixed when the instruction arrives."""

    answer: bool
    delay_seconds: float
    reject_code: str | None = None
    reject_reason: str = ""
    copies: int = 1
    reorder: bool = False


def plan_for(behaviour: Behaviour, defaults: Defaults) -> Plan:
    delay = behaviour.delay_seconds
    if behaviour.mode == "silent":
        return Plan(answer=False, delay_seconds=0.0)
    if behaviour.mode == "slow":
        return Plan(answer=True, delay_seconds=defaults.slow_delay_seconds if delay is None else delay)
    base = defaults.settle_delay_seconds if delay is None else delay
    if behaviour.mode == "reject":
        return Plan(
            answer=True,
            delay_seconds=base,
            reject_code=behaviour.reason_code or defaults.reject_reason_code,
            reject_reason=behaviour.reason or (defaults.reject_reason if not behaviour.reason_code else ""),
        )
    if behaviour.mode == "duplicate":
        return Plan(answer=True, delay_seconds=base, copies=2)
    if behaviour.mode == "reorder":
        return Plan(answer=True, delay_seconds=base, reorder=True)
    return Plan(answer=True, delay_seconds=base)


class BehaviourBook:
    """In memory on purpose: a restart returns every bank to normal."""

    def __init__(self) -> None:
        self._default = Behaviour()
        self._banks: dict[str, Behaviour] = {}

    def set(self, behaviour: Behaviour, bank_code: str | None = None) -> None:
        if bank_code is None:
            self._default = behaviour
            self._banks.clear()
        else:
            self._banks[bank_code] = behaviour

    def for_bank(self, bank_code: str) -> Behaviour:
        return self._banks.get(bank_code, self._default)

    def snapshot(self) -> dict[str, Any]:
        return {"default": self._default.as_dict(), "banks": {k: v.as_dict() for k, v in sorted(self._banks.items())}}
