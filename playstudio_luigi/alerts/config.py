"""``[slack]`` settings. The webhook URL is a secret: it comes only from the environment."""

from __future__ import annotations

import os

import luigi

WEBHOOK_ENV = "PLAYSTUDIO_SLACK_WEBHOOK_URL"


class slack(luigi.Config):
    channel = luigi.Parameter(
        default="", description="Label shown in messages (the webhook decides the channel)."
    )
    timeout_seconds = luigi.FloatParameter(
        default=5.0, description="Connect and read timeout of one webhook request."
    )
    retries = luigi.IntParameter(
        default=3, description="Retries after a 429, a 5xx or a network error."
    )
    max_seconds = luigi.FloatParameter(
        default=20.0,
        description="Upper bound on the time one alert may take, retries and Retry-After "
        "waits included; past it the alert is dropped (and logged), the pipeline goes on.",
    )
    max_run_seconds = luigi.FloatParameter(
        default=60.0,
        description="Upper bound on the time all alerts of one run (one process) may take "
        "together; past it further alerts are dropped (and logged).",
    )
    min_interval_seconds = luigi.FloatParameter(
        default=3600.0,
        description="After an alert for a task family, further failures of that family are "
        "collected into one digest instead of one message each, for this long.",
    )
    quarantine_warn_ratio = luigi.FloatParameter(
        default=0.05,
        description="Alert (as a warning) when an interval quarantines more than this share "
        "of its rows, below the max_reject_ratio that fails the batch.",
    )
    stale_reminder_hours = luigi.FloatParameter(
        default=6.0,
        description="While the source stays stale, repeat its alert this often (0: never).",
    )


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_ENV) or None
