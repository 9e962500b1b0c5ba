"""Slack alerts: Luigi failure events and validation problems, posted to an incoming webhook.

``PLAYSTUDIO_SLACK_WEBHOOK_URL`` (environment only) enables them; no URL, no alerts.
"""

from playstudio_luigi.alerts.config import WEBHOOK_ENV, slack

__all__ = ["WEBHOOK_ENV", "slack"]
