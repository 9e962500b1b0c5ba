"""What luigid's UI shows for a running task: a status message and a progress percentage."""

from __future__ import annotations

from typing import Any


def report_progress(task: Any, message: str, percent: int | None = None) -> None:
    """Show ``message`` (and a percentage) in luigid's UI, when a scheduler is listening."""
    if callable(getattr(task, "set_status_message", None)):
        task.set_status_message(message)
    if percent is not None and callable(getattr(task, "set_progress_percentage", None)):
        task.set_progress_percentage(percent)
