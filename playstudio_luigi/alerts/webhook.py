"""Posting to the Slack webhook without ever hurting the pipeline.

Every request has a timeout; 429 and 5xx answers and network errors are retried a bounded
number of times with exponential backoff, honouring ``Retry-After``; the whole attempt never
takes longer than ``[slack] max_seconds``. Failures are logged (redacted), never raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from playstudio_luigi.alerts.config import slack, webhook_url
from playstudio_luigi.redaction import redact

logger = logging.getLogger("playstudio_luigi.alerts")


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout_seconds: float
    retries: int
    max_seconds: float

    @classmethod
    def from_config(cls) -> DeliveryPolicy:
        settings = slack()
        return cls(settings.timeout_seconds, settings.retries, settings.max_seconds)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def post(
    payload: dict[str, Any],
    url: str | None = None,
    policy: DeliveryPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Post ``payload``; True when Slack accepted it. Never raises, never exceeds the budget."""
    url = url or webhook_url()
    if not url:
        return False
    policy = policy or DeliveryPolicy.from_config()
    deadline = clock() + policy.max_seconds
    for attempt in range(policy.retries + 1):
        remaining = deadline - clock()
        if remaining <= 0:
            break
        wait: float | None = 0.5 * 2**attempt
        try:
            response = requests.post(
                url, json=payload, timeout=min(policy.timeout_seconds, remaining)
            )
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code != 429 and response.status_code < 500:
                logger.warning("Slack refused an alert (%s); not retrying", redact(problem))
                return False
            wait = _retry_after(response) if response.status_code == 429 else wait
            wait = 1.0 if wait is None else wait
        if attempt == policy.retries or clock() + wait >= deadline:
            logger.warning("Slack alert not delivered: %s", redact(problem))
            return False
        sleep(wait)
    logger.warning("Slack alert not delivered within %.0f s", policy.max_seconds)
    return False
