"""The whole system for end-to-end tests: every service's API and worker and the
partner-bank simulator as real processes on free ports (jmo_local.system).

Each system gets a Kafka broker and a SecantusDB of its own (jmo_local.stack,
a few seconds to start), not the session's shared `infra`: a fresh system's
consumers read every topic from the first offset, so on a shared broker they
first wade through everything other suites ever published (measured: over 90 s
before a new member's balance appeared), and other systems' services answer our
events (another balance service rejected our claims as `card_not_found`).

`system` serves this package's files (the claim flow, the back office's browser test, the risk flow
and, last, the rolling restart, which stops and starts every process and leaves them all running);
test_faults.py builds its own with the same pieces, since it kills the broker and makes the bank
misbehave.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jmo_local.system import RunningSystem, own_stack, start_system

__all__ = ["RunningSystem", "start_system"]


# Package scope: the stack stops once a worker has run the e2e files that use it and goes on to other
# directories, instead of idling beside the rest of the suite until the session ends.
@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    # Claims wait for risk's verdict before paying (up to 15 s), as in production: test_risk_flow.py
    # sees a flagged claim go to an officer on this same system.
    with own_stack(tmp_path_factory.mktemp("system"), extra_env={"CLAIMS_RISK_VERDICT_WAIT_SECONDS": "15"}) as (
        _,
        running,
    ):
        yield running
