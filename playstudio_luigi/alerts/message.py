"""Slack Block Kit messages that Slack accepts, whatever the size of the error.

Limits (https://api.slack.com/reference/block-kit): a header's plain text at most 150
characters, a section's text at most 3000, a section field at most 2000, at most 10 fields,
at most 50 blocks; plus a plain ``text`` fallback for notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from playstudio_luigi.redaction import redact

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_LIMIT = 10
BLOCKS_LIMIT = 50
TEXT_LIMIT = 3000
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def clip_tail(text: str, limit: int) -> str:
    """The last ``limit`` characters of ``text`` (a traceback's end says the most)."""
    return text if len(text) <= limit else ELLIPSIS + text[-(limit - 1) :]


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


@dataclass(frozen=True)
class Failure:
    """What an alert says about one failed task."""

    event: str
    task_family: str
    interval: str
    host: str
    error_type: str
    error_message: str
    traceback: str = ""
    rerun: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    channel: str = ""


def failure_payload(failure: Failure) -> dict[str, Any]:
    """The Block Kit payload for one failure; every string redacted, every limit respected."""
    failure = _redacted_failure(failure)
    where = f" #{failure.channel}" if failure.channel else ""
    header = f"{failure.task_family} {failure.event.lower()}: {failure.interval}"
    fields = [
        _mrkdwn(clip(f"*Task*\n{failure.task_family}", FIELD_LIMIT)),
        _mrkdwn(clip(f"*Interval*\n{failure.interval}", FIELD_LIMIT)),
        _mrkdwn(clip(f"*Host*\n{failure.host}", FIELD_LIMIT)),
        _mrkdwn(clip(f"*Error*\n{failure.error_type}", FIELD_LIMIT)),
    ]
    fields += [
        _mrkdwn(clip(f"*{name.replace('_', ' ').capitalize()}*\n{value:,}", FIELD_LIMIT))
        for name, value in failure.counts.items()
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(header, HEADER_LIMIT)}},
        {"type": "section", "fields": fields[:FIELDS_LIMIT]},
        {
            "type": "section",
            "text": _mrkdwn(clip(failure.error_message or "(no message)", SECTION_LIMIT)),
        },
    ]
    if failure.traceback:
        fence = "```"
        body = clip_tail(failure.traceback.strip(), SECTION_LIMIT - 2 * len(fence) - 2)
        blocks.append({"type": "section", "text": _mrkdwn(f"{fence}\n{body}\n{fence}")})
    if failure.rerun:
        rerun = clip(f"Rerun: `{failure.rerun}`{where}", SECTION_LIMIT)
        blocks.append({"type": "context", "elements": [_mrkdwn(rerun)]})
    text = f"{failure.task_family} {failure.event} for {failure.interval}: " + (
        f"{failure.error_type}: {failure.error_message}"
    )
    return {"text": clip(text, TEXT_LIMIT), "blocks": blocks[:BLOCKS_LIMIT]}


def digest_payload(
    family: str,
    failures: list[tuple[str, str]],
    total: int,
    host: str,
    channel: str = "",
    step: timedelta | None = None,
) -> dict[str, Any]:
    """One message for many failures of ``family``: ``failures`` are (interval, error) pairs,
    ``total`` counts them all (more may have been recorded than kept); ``step`` is the width of
    the family's intervals (see :func:`collapse`)."""
    header = clip(f"{family}: {total} more failure(s)", HEADER_LIMIT)
    by_error: dict[str, list[str]] = {}
    failures = [(interval, redact(error)) for interval, error in failures]
    for interval, error in failures:
        by_error.setdefault(error, []).append(interval)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {
            "type": "section",
            "text": _mrkdwn(
                clip(f"*Host* {host}{f'  #{channel}' if channel else ''}", SECTION_LIMIT)
            ),
        },
    ]
    for error, intervals in by_error.items():
        if len(blocks) >= BLOCKS_LIMIT - 1:
            break
        text = f"*{len(intervals)} interval(s):* {collapse(intervals, step)}\n>{error}"
        blocks.append({"type": "section", "text": _mrkdwn(clip(text, SECTION_LIMIT))})
    if total > len(failures):
        blocks.append(
            {"type": "context", "elements": [_mrkdwn(f"{total - len(failures)} more not listed")]}
        )
    text = f"{family}: {total} more failure(s): {collapse([i for i, _ in failures], step)}"
    return {"text": clip(text, TEXT_LIMIT), "blocks": blocks[:BLOCKS_LIMIT]}


def collapse(intervals: list[str], step: timedelta | None = None) -> str:
    """Sorted interval labels, runs of consecutive ones written ``first … last (n)``.

    Labels are compared as written (ISO timestamps sort in time order). Consecutive means one
    ``step`` apart: the intervals' width. Without it, the smallest gap between two labels
    stands in for it, so two labels further apart are never one run.
    """

    def parse(label: str) -> datetime | None:
        try:
            return datetime.fromisoformat(label)
        except ValueError:
            return None

    labels = sorted(set(intervals))
    parsed = [parse(label) for label in labels]
    if any(p is None for p in parsed) or len(labels) < 2:
        return ", ".join(labels)
    gaps = [later - earlier for earlier, later in pairwise(parsed)]
    step = step or min(gaps)
    runs, start = [], 0
    for i, gap in enumerate([*gaps, None], start=1):
        if gap == step:
            continue
        run = labels[start:i]
        runs.append(run[0] if len(run) == 1 else f"{run[0]} … {run[-1]} ({len(run)})")
        start = i
    return ", ".join(runs)


def validate_payload(payload: dict[str, Any]) -> list[str]:
    """Problems that would make Slack refuse ``payload`` (empty list: it is valid)."""
    problems = []
    blocks = payload.get("blocks", [])
    if not payload.get("text"):
        problems.append("no fallback text")
    if len(payload.get("text", "")) > TEXT_LIMIT:
        problems.append("fallback text too long")
    if len(blocks) > BLOCKS_LIMIT:
        problems.append(f"{len(blocks)} blocks > {BLOCKS_LIMIT}")
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header":
            text = block["text"]
            if text["type"] != "plain_text" or not 0 < len(text["text"]) <= HEADER_LIMIT:
                problems.append(f"block {index}: bad header")
        elif kind == "section":
            if "text" in block and not 0 < len(block["text"]["text"]) <= SECTION_LIMIT:
                problems.append(f"block {index}: section text length {len(block['text']['text'])}")
            fields = block.get("fields", [])
            if len(fields) > FIELDS_LIMIT or any(len(f["text"]) > FIELD_LIMIT for f in fields):
                problems.append(f"block {index}: bad fields")
            if "text" not in block and not fields:
                problems.append(f"block {index}: empty section")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= 10:
                problems.append(f"block {index}: bad context")
        else:
            problems.append(f"block {index}: unexpected type {kind!r}")
    return problems


def _redacted_failure(failure: Failure) -> Failure:
    """Secrets removed *before* clipping, so that no cut can leave half a secret."""
    return replace(
        failure,
        error_message=redact(failure.error_message),
        traceback=redact(failure.traceback),
        rerun=redact(failure.rerun),
        interval=redact(failure.interval),
    )


# Stale source --------------------------------------------------------------------------------

STALE, REMINDER, RECOVERY = "stale", "reminder", "recovery"
_HEADERS = {
    STALE: "Source stale: {sheet}",
    REMINDER: "Source still stale: {sheet}",
    RECOVERY: "Source caught up: {sheet}",
}


@dataclass(frozen=True)
class SourceNotice:
    """What a stale-source alert (``stale``, ``reminder``) or its ``recovery`` says about one
    sheet. Times are naive UTC; ``stale_since`` is when the episode began (for a recovery:
    the one that just ended)."""

    kind: str
    sheet: str
    watermark: datetime | None
    newest_file: str | None
    waiting_intervals: int
    stale_since: datetime
    checked_at: datetime
    stale_after: timedelta
    host: str
    channel: str = ""
    reminder: timedelta | None = None
    #: An unreadable export holding the watermark back, if any.
    held_by: str | None = None


def duration(span: timedelta) -> str:
    """``span`` the way a person says it: ``45 s``, ``25 min``, ``1 h 25 min``, ``2 d 3 h``."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def _escaped(text: str) -> str:
    """``text`` as Slack mrkdwn shows it literally (``&``, ``<``, ``>`` are control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _utc(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def source_payload(notice: SourceNotice) -> dict[str, Any]:
    """The Block Kit payload of a stale, reminder or recovery notice; every string redacted
    (before clipping), every limit respected."""
    sheet = redact(notice.sheet)
    newest_file = redact(notice.newest_file) if notice.newest_file else None
    held_by = redact(notice.held_by) if notice.held_by else None
    header = clip(_HEADERS[notice.kind].format(sheet=sheet), HEADER_LIMIT)
    waiting = f"{notice.waiting_intervals:,}"
    if notice.kind == RECOVERY:
        summary = (
            f"*{_escaped(sheet)}* exports are current again: the newest was written at "
            f"{_utc(notice.watermark)}. The source had been stale since "
            f"{_utc(notice.stale_since)} ({duration(notice.checked_at - notice.stale_since)}); "
            f"{waiting} interval(s) still wait and load on the next runs."
        )
    elif notice.watermark is None:
        summary = (
            f"No export holds the *{_escaped(sheet)}* sheet: {waiting} interval(s) wait, "
            "nothing is loaded or marked complete for them. Silence from the feed is a failure, "
            "not a quiet night: check the export job and the source path."
        )
    else:
        summary = (
            f"No *{_escaped(sheet)}* export newer than {_utc(notice.watermark)} "
            f"({duration(notice.checked_at - notice.watermark)} ago, more than the "
            f"{duration(notice.stale_after)} allowed): {waiting} interval(s) wait, nothing is "
            "loaded or marked complete for them. Silence from the feed is a failure, not a "
            "quiet night: check the export job."
        )
    if held_by and notice.kind != RECOVERY:
        summary += (
            f" The watermark is held back by {_escaped(held_by)}, which cannot be read: "
            "fix or remove it."
        )
    fields = [
        _mrkdwn(clip(f"*Sheet*\n{_escaped(sheet)}", FIELD_LIMIT)),
        _mrkdwn(f"*Stale since*\n{_utc(notice.stale_since)}"),
        _mrkdwn(f"*Newest export written*\n{_utc(notice.watermark)}"),
        _mrkdwn(f"*Waiting intervals*\n{waiting}"),
        _mrkdwn(clip(f"*Host*\n{_escaped(notice.host)}", FIELD_LIMIT)),
    ]
    if newest_file:
        fields.append(_mrkdwn(clip(f"*Newest file*\n{_escaped(newest_file)}", FIELD_LIMIT)))
    if held_by:
        fields.append(_mrkdwn(clip(f"*Held back by*\n{_escaped(held_by)}", FIELD_LIMIT)))
    context = f"Checked at {_utc(notice.checked_at)}"
    if notice.kind != RECOVERY and notice.reminder:
        context += f"; reminder every {duration(notice.reminder)} while it lasts"
    if notice.channel:
        context += f"  #{_escaped(notice.channel)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": _mrkdwn(clip(summary, SECTION_LIMIT))},
        {"type": "section", "fields": fields[:FIELDS_LIMIT]},
        {"type": "context", "elements": [_mrkdwn(clip(context, SECTION_LIMIT))]},
    ]
    text = f"{header} (newest export {_utc(notice.watermark)}, {waiting} interval(s) waiting)"
    return {"text": clip(text, TEXT_LIMIT), "blocks": blocks}
