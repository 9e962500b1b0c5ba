"""Luigi event handlers that turn failures into Slack alerts.

``FAILURE`` and ``BROKEN_TASK`` fire in the process that ran the task (a child process when
``--workers`` > 1); ``TIMEOUT`` and ``PROCESS_FAILURE`` fire only in the parent worker and are
not followed by ``FAILURE``. All four are handled, for every task of this package. Handlers
never raise: an alert problem is logged and the pipeline goes on.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import traceback
from datetime import timedelta
from typing import Any

import luigi

from playstudio_luigi import config
from playstudio_luigi.alerts.config import slack, webhook_url
from playstudio_luigi.alerts.message import Failure, digest_payload, failure_payload
from playstudio_luigi.alerts.throttle import AlertThrottle
from playstudio_luigi.alerts.webhook import post
from playstudio_luigi.redaction import redact

logger = logging.getLogger("playstudio_luigi.alerts")
_MAIN_PID = os.getpid()


def _throttle() -> AlertThrottle:
    return AlertThrottle(
        config.home_dir() / "alerts" / "slack-state.json", slack().min_interval_seconds
    )


def _interval_label(task: luigi.Task) -> str:
    window = getattr(task, "window", None)
    return f"{window.start:%Y-%m-%dT%H:%M}" if window is not None else task.task_id


def _width(family_key: str) -> timedelta | None:
    """The interval width of a digest's task family (keys read ``EVENT:Family``), if any."""
    try:
        task = luigi.task_register.Register.get_task_cls(family_key.rsplit(":", 1)[-1])
    except luigi.task_register.TaskClassException:
        return None
    width = getattr(task, "width", None)
    return width if isinstance(width, timedelta) else None


def rerun_command(task: luigi.Task) -> str:
    """The command that reruns just this task's interval."""
    params = " ".join(
        f"--{name.replace('_', '-')} {param.serialize(getattr(task, name))}"
        for name, param in task.get_params()
        if param.significant
    )
    return f"luigi --module playstudio_luigi {task.get_task_family()} {params} --local-scheduler"


def _counts(exception: BaseException | None) -> dict[str, int]:
    results = getattr(exception, "results", None) or []
    counts: dict[str, int] = {}
    for result in results:
        for sample in result.sample[:1]:
            if isinstance(sample, dict):
                counts.update({k: v for k, v in sample.items() if isinstance(v, int)})
        counts.setdefault("failing_rows", 0)
        counts["failing_rows"] += result.failing_rows
    return counts


def report(
    task: luigi.Task,
    event: str,
    message: str,
    error_type: str,
    traceback_text: str = "",
    counts: dict[str, int] | None = None,
) -> None:
    """Send (or queue for the digest) one alert about ``task``. Never raises."""
    if not webhook_url():
        return
    try:
        family = task.get_task_family()
        label = _interval_label(task)
        first_line = redact(f"{error_type}: {message}".splitlines()[0])[:300]
        if not _throttle().record(f"{event}:{family}", label, first_line).send_now:
            return
        failure = Failure(
            event=event,
            task_family=family,
            interval=label,
            host=socket.gethostname(),
            error_type=error_type,
            error_message=message,
            traceback=traceback_text,
            rerun=rerun_command(task),
            counts=counts or {},
            channel=slack().channel,
        )
        post(failure_payload(failure))
    except Exception as exc:
        logger.warning("could not send a Slack alert: %s", redact(f"{type(exc).__name__}: {exc}"))


def flush_digests() -> None:
    """Send the digests that are due (one per family and min interval). Never raises."""
    if not webhook_url():
        return
    try:
        for family, failures, total in _throttle().take_digests():
            payload = digest_payload(
                family, failures, total, socket.gethostname(), slack().channel, _width(family)
            )
            post(payload)
    except Exception as exc:
        logger.warning("could not send a Slack digest: %s", redact(f"{type(exc).__name__}: {exc}"))


def _on_exception(event: str) -> Any:
    def handler(task: luigi.Task, exception: BaseException) -> None:
        # The frames only: the exception's own text already has its section.
        text = "Traceback (most recent call last):\n" + "".join(
            traceback.format_tb(exception.__traceback__)
        )
        report(task, event, str(exception), type(exception).__name__, text, _counts(exception))

    return handler


def _on_message(event: str, error_type: str) -> Any:
    def handler(task: luigi.Task, error_message: str = "", *args: Any) -> None:
        report(task, event, str(error_message), error_type)

    return handler


def _flush_at_exit() -> None:
    if os.getpid() == _MAIN_PID:  # Luigi's task processes leave with os._exit; be sure
        flush_digests()


_registered = False


def register(*task_classes: type[luigi.Task]) -> None:
    """Attach the handlers to ``task_classes`` and their subclasses (once)."""
    global _registered
    if _registered:
        return
    for task_class in task_classes:
        task_class.event_handler(luigi.Event.FAILURE)(_on_exception("FAILURE"))
        task_class.event_handler(luigi.Event.BROKEN_TASK)(_on_exception("BROKEN_TASK"))
        task_class.event_handler(luigi.Event.TIMEOUT)(_on_message("TIMEOUT", "Timeout"))
        task_class.event_handler(luigi.Event.PROCESS_FAILURE)(
            _on_message("PROCESS_FAILURE", "ProcessFailure")
        )
    atexit.register(_flush_at_exit)
    _registered = True
