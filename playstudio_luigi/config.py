"""Configuration: ``[playstudio]`` in ``luigi.cfg``, with secrets and paths from the environment.

Environment variables win over ``luigi.cfg``:

* ``PLAYSTUDIO_DSN``: a ``postgresql://`` URL. Unset means "use the embedded PostgreSQL".
* ``PLAYSTUDIO_SOURCE``: the source: a workbook, a folder of export files, or a glob.
* ``PLAYSTUDIO_HOME``: directory for the embedded database and the parsed-source cache
  (default ``~/.playstudio``: one warehouse per user, whatever the working directory).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import luigi
from luigi.configuration import LuigiConfigParser

DEFAULT_CONFIG_PATH = str(files("playstudio_luigi") / "default.cfg")

DSN_ENV = "PLAYSTUDIO_DSN"
SOURCE_ENV = "PLAYSTUDIO_SOURCE"
HOME_ENV = "PLAYSTUDIO_HOME"
#: The user's home for local state, like ``~/airflow`` or ``~/.prefect``.
DEFAULT_HOME = Path("~/.playstudio")
#: Earlier releases kept local state under the working directory; such a folder still wins.
LEGACY_HOME = Path(".playstudio")
#: Written into a legacy home once its use has been announced, so cron logs say it once.
LEGACY_NOTICE_FILE = "home-notice-shown"

logger = logging.getLogger("playstudio_luigi")


def load_packaged_defaults() -> None:
    """Put the packaged ``default.cfg`` first in Luigi's config search path and re-read it.

    Luigi reads its paths in order and later files win, so our defaults sit below
    ``/etc/luigi/luigi.cfg``, ``./luigi.cfg`` and ``LUIGI_CONFIG_PATH``.
    """
    paths = LuigiConfigParser._config_paths
    if DEFAULT_CONFIG_PATH not in paths:
        paths.insert(0, DEFAULT_CONFIG_PATH)
        LuigiConfigParser.reload()


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message names the setting."""

    log_traceback = False  # one line per task says it (see redaction.RedactingFilter)


class playstudio(luigi.Config):
    source_path = luigi.Parameter(
        default="",
        description="The source: one workbook (.xlsx), a folder of export files (.xlsx, .csv, "
        ".parquet; recursive) or a glob (quote it: '/data/exports/**/*.csv'). "
        "The PLAYSTUDIO_SOURCE environment variable wins.",
    )
    watermark = luigi.ChoiceParameter(
        default="mtime",
        choices=["mtime", "none"],
        var_type=str,
        description="mtime: an interval is loaded once the newest export holding its sheet was "
        "written after the interval's end plus allowed_lateness_seconds (DESIGN 3.3). "
        "none: once the clock has passed that moment, whatever the exports.",
    )
    home_dir = luigi.Parameter(
        default="",
        description="Directory of the embedded PostgreSQL and the parsed-source cache "
        "(a relative path is relative to the working directory). PLAYSTUDIO_HOME wins. "
        "Empty: ./.playstudio if the working directory has one, else ~/.playstudio.",
    )
    allowed_lateness_seconds = luigi.IntParameter(
        default=300,
        description="An interval is processed only once its end plus this many seconds has passed.",
    )
    max_reject_ratio = luigi.FloatParameter(
        default=0.2,
        description="A batch whose quarantined share exceeds this fails as a whole (nothing is "
        "written), once it has at least reject_ratio_min_rows rows.",
    )
    reject_ratio_min_rows = luigi.IntParameter(
        default=20,
        description="Below this many source rows a batch is too small for the ratio to mean "
        "anything: bad rows are quarantined one by one.",
    )
    accepted_currencies = luigi.ListParameter(
        default=["USD"], description="Revenue currencies accepted (others are quarantined)."
    )
    max_revenue = luigi.FloatParameter(
        default=10_000.0, description="Largest believable single purchase, in USD."
    )
    max_spins = luigi.FloatParameter(
        default=1_000_000.0, description="Largest believable total_spins of one spin row."
    )
    accepted_countries = luigi.ListParameter(
        default=[],
        description="Known country codes. A code outside this list is a warning, not a reject. "
        "Empty: any two-letter code is accepted silently.",
    )
    freshness_hours = luigi.FloatParameter(
        default=2.0,
        description="`playstudio-luigi checks` warns when the newest loaded interval is older.",
    )
    # Stale source (DESIGN 3.3). A string read with luigi.TimeDeltaParameter's parser by
    # source_stale_after(): as a TimeDeltaParameter, one bad value would fail every
    # playstudio() with a message that does not name the key.
    source_stale_after = luigi.Parameter(
        default="30 minutes",
        description="The source is stale (one Slack alert, `status` and the data docs say so) "
        "when a sheet's watermark lags now by more than this: '30 minutes', '2 hours', "
        "'1 h 30 m' or ISO 8601 'PT30M' (a bare number is seconds).",
    )


def source_path() -> Path:
    """The source (a workbook, a folder of exports or a glob): ``PLAYSTUDIO_SOURCE``, else
    ``[playstudio] source_path``."""
    raw = os.environ.get(SOURCE_ENV) or playstudio().source_path
    if not raw:
        raise ConfigurationError(
            f"no source configured: set {SOURCE_ENV} or [playstudio] source_path to the export "
            "workbook, folder or glob"
        )
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from the environment (surrogate escapes)
        raise ConfigurationError(
            f"source path {os.fsencode(raw)!r} is not valid UTF-8: rename the file or its folder"
        ) from None
    return Path(raw).expanduser()


def home_dir() -> Path:
    """Directory for local state: embedded database and parsed-source cache.

    ``PLAYSTUDIO_HOME``, else ``[playstudio] home_dir``, else ``./.playstudio`` when the working
    directory has one (made by an earlier release; announced once), else ``~/.playstudio``.
    """
    raw = os.environ.get(HOME_ENV) or playstudio().home_dir
    if raw:
        return Path(raw).expanduser().absolute()
    default = DEFAULT_HOME.expanduser().absolute()
    legacy = LEGACY_HOME.absolute()
    if legacy != default and legacy.is_dir():
        _announce_legacy_home(legacy, default)
        return legacy
    return default


def _announce_legacy_home(legacy: Path, default: Path) -> None:
    """Say once (per legacy home) that it is used instead of the per-user default."""
    notice = legacy / LEGACY_NOTICE_FILE
    if notice.exists():
        return
    logger.warning(
        "using the warehouse in %s (found in the working directory) instead of %s; "
        "set %s to choose one explicitly (this is said once)",
        legacy,
        default,
        HOME_ENV,
    )
    with contextlib.suppress(OSError):  # a read-only home: the notice comes again, that is all
        notice.write_text(f"{legacy} is used instead of {default} from this directory\n")


def configured_dsn() -> str | None:
    """The external database URL, or ``None`` when the embedded database should be used."""
    return os.environ.get(DSN_ENV) or None


def watermark_mode() -> str:
    """``mtime`` (the exports' watermark decides when an interval is closed) or ``none``."""
    try:
        return playstudio().watermark
    except ValueError as exc:  # Luigi's message lists the choices
        raise ConfigurationError(f"[playstudio] watermark: {exc}") from None


#: The whole of a duration that luigi.TimeDeltaParameter reads: its parser matches a prefix
#: only, so '30 months' would be 30 minutes and '1 hour later' one hour.
_DURATION = re.compile(
    r"\d+(\.\d+)?"  # seconds
    r"|P(\d+W|(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?)"  # ISO 8601
    + "|"
    + "".join(rf"(\d+ ?{u[0]}({u[1:-1]})?s? ?)?" for u in ("weeks", "days", "hours", "minutes"))
    + r"(\d+ ?s(econd)?s?)?"
)


def source_stale_after() -> timedelta:
    """``[playstudio] source_stale_after`` as a positive duration."""
    raw = playstudio().source_stale_after
    text = raw.strip()
    try:
        value = luigi.TimeDeltaParameter().parse(text) if _DURATION.fullmatch(text) else None
    except (luigi.parameter.ParameterException, ValueError, OverflowError):
        value = None
    if value is None or value <= timedelta(0):
        raise ConfigurationError(
            f"[playstudio] source_stale_after = {raw!r} is not a positive duration: "
            "write e.g. '30 minutes', '2 hours' or 'PT30M'"
        )
    return value


def allowed_lateness() -> timedelta:
    seconds = playstudio().allowed_lateness_seconds
    if seconds < 0:
        raise ConfigurationError("[playstudio] allowed_lateness_seconds must be >= 0")
    return timedelta(seconds=seconds)
