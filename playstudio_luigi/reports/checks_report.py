"""The ``playstudio-luigi checks`` report: recent check results, quarantine, freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

from playstudio_luigi.db.sql import render


@dataclass(frozen=True)
class CheckReport:
    since: datetime
    now: datetime
    checks: list[tuple]
    quarantine: list[tuple]
    freshness: list[tuple]
    freshness_limit: timedelta

    @property
    def errors_failed(self) -> bool:
        return any(severity == "error" and failed for _, _, severity, _, failed, *_ in self.checks)

    def stale_sheets(self) -> list[str]:
        return [sheet for sheet, until in self.freshness if until < self.now - self.freshness_limit]

    def render(self) -> str:
        lines = [f"Data checks since {self.since:%Y-%m-%d %H:%M} UTC"]
        if not self.checks:
            lines.append("  no check ran in this window")
        for layer, name, severity, runs, failed, rows, last, interval in self.checks:
            status = "FAIL" if failed else "ok"
            line = f"  {status:<4} {severity:<5} {layer}.{name}: {runs} run(s)"
            if failed:
                line += (
                    f", {failed} failed ({rows} failing rows), last on interval "
                    f"{interval:%Y-%m-%d %H:%M} at {last:%Y-%m-%d %H:%M}"
                )
            lines.append(line)
        lines.append("Quarantined rows by reason")
        if not self.quarantine:
            lines.append("  none")
        for sheet, kind, rows in self.quarantine:
            lines.append(f"  {rows:>7}  {sheet}: {kind}")
        lines.append("Freshness")
        if not self.freshness:
            lines.append("  nothing loaded yet")
        stale = set(self.stale_sheets())
        for sheet, until in self.freshness:
            flag = "WARN" if sheet in stale else "ok"
            lines.append(f"  {flag:<4} {sheet}: loaded until {until:%Y-%m-%d %H:%M} UTC")
        return "\n".join(lines)


def check_report(
    connection: psycopg2.extensions.connection,
    since: datetime,
    now: datetime,
    freshness_limit: timedelta,
) -> CheckReport:
    with connection.cursor() as cursor:
        cursor.execute(render("reports/check_summary.sql"), {"since": since})
        checks = cursor.fetchall()
        cursor.execute(render("reports/quarantine_by_reason.sql"), {"since": since})
        quarantine = cursor.fetchall()
        cursor.execute(render("reports/freshness.sql"))
        freshness = cursor.fetchall()
    return CheckReport(since, now, checks, quarantine, freshness, freshness_limit)
