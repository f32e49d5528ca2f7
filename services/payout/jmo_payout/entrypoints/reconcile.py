"""Reconcile one bank's business day from the command line, or from code.

    python -m jmo_payout.entrypoints.reconcile --bank 014 --date 2026-11-23

Uses the payout settings (MONGODB_URI, PAYOUT_DB_NAME, PAYOUT_STATEMENT_SOURCE(S), ...), stores the
run like the API and the daily job do, prints the report as JSON, and exits 0 when clean,
1 with mismatches, 2 when it could not run (e.g. the statement is unavailable).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date, timedelta

import structlog

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.errors import DomainError
from jmo_shared.logging import configure_logging
from jmo_shared.mongo import Database, make_client

from ..adapters.statements import StatementSources
from ..bootstrap import statement_client
from ..service_layer.context import PayoutContext
from ..service_layer.reconciliation import ReconciliationPolicy, ReconciliationService, ReconciliationView
from ..settings import PayoutSettings


async def reconcile(
    target: PayoutSettings | ReconciliationService,
    bank_code: str,
    business_date: date | str,
    trigger: str = "cli",
    requested_by: str | None = None,
    clock: Clock | None = None,
) -> ReconciliationView:
    """Run and store one reconciliation; the report. Raises DomainError (e.g. `statement_unavailable`,
    `reconciliation_running`, `not_a_partner_bank`). `target`: settings (opens and closes its own
    clients) or a running service's ReconciliationService."""
    day = date.fromisoformat(business_date) if isinstance(business_date, str) else business_date
    if isinstance(target, ReconciliationService):
        report = await target.run(bank_code, day, trigger=trigger, requested_by=requested_by)
        assert report is not None
        return report
    settings = target
    client = make_client(settings.mongodb_uri)
    try:
        async with statement_client(settings) as http:
            db = Database(client, settings.db_name, source=f"/jmo/{settings.service_name}")
            service = ReconciliationService(
                db,
                PayoutContext.from_settings(settings, clock or SystemClock()),
                StatementSources(http, settings.statement_source, dict(settings.statement_sources)),
                ReconciliationPolicy.from_settings(settings),
            )
            await service.ensure_indexes()
            return await reconcile(service, bank_code, day, trigger, requested_by)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    settings = PayoutSettings()
    yesterday = (SystemClock().now().astimezone(settings.tzinfo()) - timedelta(days=1)).date()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bank", required=True, help="3-digit partner bank code, e.g. 014")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=yesterday,
        help=f"business day in {settings.local_timezone}, YYYY-MM-DD (default: yesterday)",
    )
    args = parser.parse_args(argv)
    configure_logging(settings.service_name, settings.log_level)
    # The report owns stdout; the log lines (each mismatch, the summary) go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    try:
        report = asyncio.run(reconcile(settings, args.bank, args.date))
    except DomainError as exc:
        print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
