"""Posting to the Slack webhook without ever hurting the pipeline.

Every request has a timeout; 429 and 5xx answers and network errors are retried a bounded
number of times with exponential backoff, honouring ``Retry-After``; the whole attempt never
takes longer than ``[slack] max_seconds``, and all alerts of one process (one run) together
never longer than ``[slack] max_run_seconds``. Failures are logged (redacted: the URL and every
part of it), never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from playstudio_luigi.alerts.config import slack, webhook_url
from playstudio_luigi.redaction import redact, webhook_secrets

logger = logging.getLogger("playstudio_luigi.alerts")


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout_seconds: float
    retries: int
    max_seconds: float
    max_run_seconds: float = float("inf")

    @classmethod
    def from_config(cls) -> DeliveryPolicy:
        settings = slack()
        return cls(
            settings.timeout_seconds,
            settings.retries,
            settings.max_seconds,
            settings.max_run_seconds,
        )


class _RunBudget:
    """Seconds this process has spent posting alerts (a run's alerts share one budget)."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self.spent += seconds


RUN_BUDGET = _RunBudget()


class _DeadlinePassed(Exception):
    pass


def _post_within(url: str, payload: dict[str, Any], timeout: float, limit: float):
    """``requests.post`` abandoned after ``limit`` seconds.

    requests' timeout bounds each socket read, not the request: a server sending a byte every
    few seconds held one alert for minutes. So the request runs in a daemon thread that the
    caller stops waiting for at the deadline (it ends with its next read timeout or the
    process, whichever comes first).
    """
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = requests.post(url, json=payload, timeout=timeout)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=send, name="slack-webhook", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise _DeadlinePassed
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


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
    left_in_run = policy.max_run_seconds - RUN_BUDGET.spent
    if left_in_run <= 0:
        logger.warning(
            "Slack alert dropped: this run's alerts already took %.0f s ([slack] max_run_seconds)",
            RUN_BUDGET.spent,
        )
        return False
    started = clock()
    try:
        return _deliver(payload, url, policy, min(policy.max_seconds, left_in_run), clock, sleep)
    finally:
        RUN_BUDGET.add(clock() - started)


def _deliver(
    payload: dict[str, Any],
    url: str,
    policy: DeliveryPolicy,
    budget: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bool:
    secrets = webhook_secrets(url)
    deadline = clock() + budget
    for attempt in range(policy.retries + 1):
        remaining = deadline - clock()
        if remaining <= 0:
            break
        wait: float | None = 0.5 * 2**attempt
        try:
            response = _post_within(url, payload, min(policy.timeout_seconds, remaining), remaining)
        except _DeadlinePassed:
            break
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code != 429 and response.status_code < 500:
                logger.warning(
                    "Slack refused an alert (%s); not retrying", redact(problem, secrets)
                )
                return False
            wait = _retry_after(response) if response.status_code == 429 else wait
            wait = 1.0 if wait is None else wait
        if attempt == policy.retries or clock() + wait >= deadline:
            logger.warning("Slack alert not delivered: %s", redact(problem, secrets))
            return False
        sleep(wait)
    logger.warning("Slack alert not delivered within %.0f s", budget)
    return False
