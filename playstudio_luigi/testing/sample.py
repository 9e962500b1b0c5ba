"""Deterministic generator of sample PlayStudio Excel exports.

The workbook follows the source contract of the pipeline:

* sheet ``Purchases``: ``date | userId | revenue | transaction_id``;
* sheet ``Spins Hourly``: ``date | userId | country | total_spins | total revenue |
  total purchases | Average revenue per purchase | Total Daily Revenue``.

Everything is drawn from ``random.Random(spec.seed)``, the workbook properties
carry a fixed timestamp and the zip entries a fixed date, so one spec always
gives a byte-identical file (with the same Python/zlib/openpyxl versions).

When :attr:`SampleSpec.quirks_guaranteed` holds (the default spec does), the
sample always contains the quirks that real exports have:

* exact duplicate purchase rows, appended after the time-ordered rows (never
  adjacent to their original);
* a purchase in an hour where its user has no spin row at all (every other
  hour with purchases has at least one spin row; so has that one, from another
  user, unless the spec has a single user);
* a user spinning in two different countries in two different hours (a given
  (hour, user) always has a single country);
* an (hour, user, country) key repeated on two spin rows (with different spins:
  downstream code must sum them);
* fractional spins, including the exact halves 12.5, 2.5 and 0.5 (round-half-up
  gives 13, 3 and 1, banker's rounding 12, 2 and 0) and a 0 (given at least
  four spin rows, which only a single-user spec with no spins to add can miss);
* the free-text note ``"to be filled by BI"`` in the ``Total Daily Revenue``
  cell of the first spin row;
* purchases exactly on boundaries: the first and the last second of the span,
  ``hh:00:00`` and the second before it, ``hh:05:00`` and ``hh:04:59``
  (``hh`` is hour index 22 of the span, or the last hour when it is shorter);
* ``padding_rows`` empty rows at the end of ``Spins Hourly``.

:func:`write_feed` writes the same rows as a *feed*: a folder of export files (purchases every
5 minutes or every hour, spins every hour; ``.xlsx``, ``.csv`` and ``.parquet`` in rotation),
each with the modification time of its export, as a backend exporting on a schedule leaves them.

Run ``python -m playstudio_luigi.testing.sample --out OUT.xlsx`` to write a sample
(``--out DIR --files-per 5min --formats csv,parquet,xlsx`` for a feed).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import string
import sys
import uuid
import warnings
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.resources import files
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

__all__ = [
    "BUNDLED_SAMPLE",
    "DATETIME_NUMBER_FORMAT",
    "EXCEL_MAX_ROWS",
    "EXPORT_DELAY",
    "FEED_FORMATS",
    "FILES_PER",
    "PRICES_USD",
    "PURCHASES_HEADER",
    "PURCHASES_SHEET",
    "SPINS_HEADER",
    "SPINS_NUMBER_FORMAT",
    "SPINS_SHEET",
    "TEMPLATE_NOTE",
    "SampleSpec",
    "SampleSummary",
    "main",
    "write_feed",
    "write_sample",
]

#: The sample workbook shipped with the package (``playstudio-luigi demo`` loads it).
BUNDLED_SAMPLE = files("playstudio_luigi.testing") / "sample_data" / "playstudio_sample.xlsx"

PURCHASES_SHEET = "Purchases"
SPINS_SHEET = "Spins Hourly"
PURCHASES_HEADER: tuple[str, ...] = ("date", "userId", "revenue", "transaction_id")
SPINS_HEADER: tuple[str, ...] = (
    "date",
    "userId",
    "country",
    "total_spins",
    "total revenue",
    "total purchases",
    "Average revenue per purchase",
    "Total Daily Revenue",
)
#: Store prices (USD) and their relative frequencies: cheap packs sell most.
PRICES_USD: tuple[str, ...] = ("0.99", "1.99", "4.99", "9.99", "19.99", "49.99", "99.99")
_PRICE_WEIGHTS: tuple[int, ...] = (30, 24, 20, 12, 8, 4, 2)
DATETIME_NUMBER_FORMAT = "yyyy-mm-dd hh:mm:ss"
SPINS_NUMBER_FORMAT = "0"
#: Number formats of the four empty template columns (as a BI template would have).
_TEMPLATE_NUMBER_FORMATS: tuple[str, ...] = ("0.00", "0", "0.00", "0.00")
#: Text format for the id columns of the padding rows.
_TEXT_NUMBER_FORMAT = "@"
TEMPLATE_NOTE = "to be filled by BI"
#: Rows of an Excel worksheet: Excel refuses to show more (openpyxl writes them anyway).
EXCEL_MAX_ROWS = 1_048_576
_NOTE_COLUMN = SPINS_HEADER.index("Total Daily Revenue")

_USER_ID_ALPHABET = string.ascii_uppercase + string.digits
_USER_ID_LENGTH = 7
_TRAVELLER_SHARE = 0.1
_SPINS_FROM_PURCHASERS = 0.8
#: Spin values forced on the first rows when quirks are guaranteed.
_FORCED_SPINS: tuple[float, ...] = (12.5, 2.5, 0.5, 0.0)
#: DOS date of every zip entry (the zip format cannot store anything earlier).
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o644 << 16
_ZIP_CREATE_SYSTEM_UNIX = 3
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class SampleSpec:
    """Parameters of a sample workbook; the same spec always gives the same file."""

    # Number of purchase rows BEFORE exact duplicates are added. Excel shows at most
    # EXCEL_MAX_ROWS rows: with 5% duplicates, 998_642 purchases is the most that fits.
    purchases: int = 400
    seed: int = 7
    start: datetime = datetime(2022, 4, 1, 0, 0)  # first hour (inclusive)
    hours: int = 48  # data spans [start, start + hours)
    users: int = 40
    countries: tuple[str, ...] = ("US", "CA", "GB", "DE", "FR", "BR")
    # Share of purchases repeated as exact duplicate rows (at least one when
    # quirks_guaranteed, even for 0).
    duplicate_ratio: float = 0.05
    # Spins rows = purchases * this (more if needed: at least 1 per hour used, and
    # the quirk rows when quirks_guaranteed).
    spins_per_purchase: float = 0.25
    padding_rows: int = 300  # fully empty padded rows at the end of Spins Hourly

    @property
    def end(self) -> datetime:
        """First instant after the data span (exclusive bound)."""
        return self.start + timedelta(hours=self.hours)

    @property
    def quirks_guaranteed(self) -> bool:
        """Whether every documented quirk is guaranteed to be in the sample.

        True for at least 50 purchases over at least 4 hours with at least 2
        countries (a traveller needs two); smaller specs get quirks only by chance.
        """
        return self.purchases >= 50 and self.hours >= 4 and len(self.countries) >= 2

    def validate(self) -> None:
        """Raise ``ValueError`` when the spec cannot describe a valid export."""
        if self.purchases < 1:
            raise ValueError("purchases must be >= 1")
        if self.hours < 1:
            raise ValueError("hours must be >= 1")
        if self.users < 1:
            raise ValueError("users must be >= 1")
        if self.users > len(_USER_ID_ALPHABET) ** _USER_ID_LENGTH // 2:
            raise ValueError("too many users for 7-character ids")
        if not self.countries or any(
            len(c) != 2 or not c.isascii() or not c.isalpha() or not c.isupper()
            for c in self.countries
        ):
            raise ValueError("countries must be non-empty two-letter uppercase codes")
        if len(set(self.countries)) != len(self.countries):
            raise ValueError("countries must be distinct")
        if not 0.0 <= self.duplicate_ratio <= 1.0:
            raise ValueError("duplicate_ratio must be within [0, 1]")
        if self.spins_per_purchase < 0:
            raise ValueError("spins_per_purchase must be >= 0")
        if self.padding_rows < 0:
            raise ValueError("padding_rows must be >= 0")
        if self.start.tzinfo is not None:
            raise ValueError("start must be naive (UTC)")
        if self.start != self.start.replace(minute=0, second=0, microsecond=0):
            raise ValueError("start must be on the hour")


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`write_sample` wrote."""

    path: Path
    purchase_rows: int  # data rows of Purchases, exact duplicates included
    unique_transactions: int  # distinct transaction_id values
    spin_rows: int  # data rows of Spins Hourly, padding rows excluded
    first_hour: datetime  # earliest hour with data in either sheet
    last_hour: datetime  # latest hour with data in either sheet (inclusive)


# A purchase: (seconds since spec.start, user index, price index, transaction id).
_Purchase = tuple[int, int, int, str]
# A spin row: (hour index, user index, country index, total_spins).
_Spin = tuple[int, int, int, float]


@dataclass(frozen=True)
class _SampleData:
    user_ids: list[str]
    purchases: list[_Purchase]  # time ordered, duplicates appended at the end
    unique_transactions: int
    spins: list[_Spin]  # ordered by hour


def _user_ids(rng: random.Random, users: int) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < users:
        uid = "".join(rng.choices(_USER_ID_ALPHABET, k=_USER_ID_LENGTH))
        if uid not in seen:
            seen.add(uid)
            ids.append(uid)
    return ids


def _boundary_offsets(hours: int) -> list[int]:
    """Seconds (since start) of the boundary purchases injected for the quirks."""
    span = hours * 3600
    hour = min(22, hours - 1) * 3600
    candidates = [0, span - 1, hour, hour - 1, hour + 300, hour + 299]
    return sorted({s for s in candidates if 0 <= s < span})


def _generate_purchases(rng: random.Random, spec: SampleSpec) -> tuple[list[_Purchase], int]:
    n = spec.purchases
    span = spec.hours * 3600
    offsets = [rng.randrange(span) for _ in range(n)]
    if spec.quirks_guaranteed:
        boundaries = _boundary_offsets(spec.hours)
        offsets[: len(boundaries)] = boundaries
    offsets.sort()
    # A few whales buy much more than the rest (Zipf-like weights).
    user_weights = [1.0 / (rank + 1) for rank in range(spec.users)]
    buyers = rng.choices(range(spec.users), weights=user_weights, k=n)
    prices = rng.choices(range(len(PRICES_USD)), weights=_PRICE_WEIGHTS, k=n)
    getrandbits = rng.getrandbits
    tx_ids = [str(uuid.UUID(int=getrandbits(128), version=4)) for _ in range(n)]
    rows: list[_Purchase] = list(zip(offsets, buyers, prices, tx_ids, strict=True))

    n_dup = int(n * spec.duplicate_ratio + 0.5)
    if spec.quirks_guaranteed:
        n_dup = max(n_dup, 1)
    n_dup = min(n_dup, n - 1)  # the last row is never duplicated: no adjacent duplicate
    if n_dup > 0:
        rows.extend(rows[i] for i in rng.sample(range(n - 1), n_dup))
    return rows, n


def _generate_spins(
    rng: random.Random, spec: SampleSpec, purchases: Sequence[_Purchase]
) -> list[_Spin]:
    n_countries = len(spec.countries)
    home = [rng.randrange(n_countries) for _ in range(spec.users)]
    # Travellers switch to a second country from a given hour on.
    travel: dict[int, tuple[int, int]] = {}
    if n_countries >= 2 and spec.hours >= 2:
        for user in range(spec.users):
            if rng.random() < _TRAVELLER_SHARE:
                other = (home[user] + rng.randrange(1, n_countries)) % n_countries
                travel[user] = (rng.randrange(1, spec.hours), other)

    purchase_pairs: list[tuple[int, int]] = []  # distinct (hour, user), first-seen order
    purchasers: dict[int, list[int]] = {}
    seen_pairs: set[tuple[int, int]] = set()
    for offset, user, _price, _tx in purchases:
        pair = (offset // 3600, user)
        if pair not in seen_pairs:
            seen_pairs.add(pair)
            purchase_pairs.append(pair)
            purchasers.setdefault(pair[0], []).append(user)

    keys: list[tuple[int, int]] = []  # (hour, user) of each spin row
    reserved: tuple[int, int] | None = None  # a purchase pair that gets no spins
    quirks = spec.quirks_guaranteed
    if quirks:
        traveller = rng.randrange(spec.users)
        other = (home[traveller] + rng.randrange(1, n_countries)) % n_countries
        travel[traveller] = (rng.randrange(1, spec.hours), other)
        keys += [(0, traveller), (spec.hours - 1, traveller)]
        spun = set(keys)
        candidates = [pair for pair in purchase_pairs if pair not in spun]
        reserved = rng.choice(candidates)

    # At least one spin row in every hour with purchases.
    covered = {hour for hour, _user in keys}
    for hour in sorted(purchasers):
        if hour in covered:
            continue
        choices = [u for u in purchasers[hour] if (hour, u) != reserved]
        if not choices:
            choices = [u for u in range(spec.users) if (hour, u) != reserved]
        if choices:
            keys.append((hour, rng.choice(choices)))
            covered.add(hour)

    if quirks:
        keys.append(keys[rng.randrange(len(keys))])  # same (hour, user, country) twice

    target = round(spec.purchases * spec.spins_per_purchase)
    while len(keys) < target:
        if purchase_pairs and rng.random() < _SPINS_FROM_PURCHASERS:
            pair = purchase_pairs[rng.randrange(len(purchase_pairs))]
        else:
            pair = (rng.randrange(spec.hours), rng.randrange(spec.users))
        if pair != reserved:
            keys.append(pair)

    def country(hour: int, user: int) -> int:
        switch = travel.get(user)
        if switch is not None and hour >= switch[0]:
            return switch[1]
        return home[user]

    spins: list[_Spin] = []
    for i, (hour, user) in enumerate(keys):
        if quirks and i < len(_FORCED_SPINS):
            value = _FORCED_SPINS[i]
        elif rng.random() < 0.4:
            value = float(rng.randint(1, 400))
        else:
            value = round(rng.uniform(0.01, 400.0), rng.choice((1, 2)))
        spins.append((hour, user, country(hour, user), value))
    rng.shuffle(spins)
    spins.sort(key=lambda row: row[0])  # stable: random order within an hour
    return spins


def _generate(spec: SampleSpec) -> _SampleData:
    rng = random.Random(spec.seed)
    user_ids = _user_ids(rng, spec.users)
    purchases, unique = _generate_purchases(rng, spec)
    spins = _generate_spins(rng, spec, purchases[:unique])
    return _SampleData(user_ids, purchases, unique, spins)


class _FixedDateZipFile(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same date, mode and creator system.

    ``zipfile`` stamps entries with the current time (and, for files, their
    mtime): this class makes the archive bytes depend on the content only.
    """

    def _zinfo(self, arcname: str, compress_type: int | None) -> zipfile.ZipInfo:
        zinfo = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE_TIME)
        zinfo.compress_type = self.compression if compress_type is None else compress_type
        zinfo.external_attr = _ZIP_FILE_MODE
        zinfo.create_system = _ZIP_CREATE_SYSTEM_UNIX
        return zinfo

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: str | bytes,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._zinfo(zinfo_or_arcname, compress_type)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: str | os.PathLike[str],
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if compresslevel is not None:
            raise NotImplementedError("per-entry compresslevel is not supported")
        zinfo = self._zinfo(arcname or os.path.basename(filename), compress_type)
        zinfo.file_size = os.path.getsize(filename)  # lets zipfile decide on zip64
        with open(filename, "rb") as src, self.open(zinfo, "w") as dst:
            shutil.copyfileobj(src, dst, _COPY_CHUNK)


def _styled(ws: WriteOnlyWorksheet, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    cell.number_format = number_format
    return cell


def _write_purchases(
    wb: Workbook, start: datetime, user_ids: Sequence[str], rows: Sequence[_Purchase]
) -> None:
    ws = wb.create_sheet(PURCHASES_SHEET)
    ws.append(list(PURCHASES_HEADER))
    revenues = [f"PriceInUSD={price}" for price in PRICES_USD]
    # One styled cell reused for every row: openpyxl serialises each appended
    # row before the next append, and a new styled cell per row costs ~15% more time.
    date_cell = _styled(ws, DATETIME_NUMBER_FORMAT)
    append = ws.append
    for offset, user, price, tx_id in rows:
        date_cell.value = start + timedelta(seconds=offset)
        append([date_cell, user_ids[user], revenues[price], tx_id])


def _write_spins(
    wb: Workbook,
    spec: SampleSpec,
    user_ids: Sequence[str],
    rows: Sequence[_Spin],
    *,
    note: bool = True,
) -> None:
    """The spin ``rows`` (the note in the first one's template cell when ``note``), then the
    spec's padding rows."""
    ws = wb.create_sheet(SPINS_SHEET)
    ws.append(list(SPINS_HEADER))
    date_cell = _styled(ws, DATETIME_NUMBER_FORMAT)
    spins_cell = _styled(ws, SPINS_NUMBER_FORMAT)
    # The template columns are formatted but empty, except for one note.
    template = [_styled(ws, fmt) for fmt in _TEMPLATE_NUMBER_FORMATS]
    note_cell = template[_NOTE_COLUMN - len(SPINS_HEADER) + len(template)]
    for i, (hour, user, country, spins) in enumerate(rows):
        date_cell.value = spec.start + timedelta(hours=hour)
        spins_cell.value = spins
        note_cell.value = TEMPLATE_NOTE if i == 0 and note else None
        ws.append([date_cell, user_ids[user], spec.countries[country], spins_cell, *template])
    # Padding as real exports have it: rows whose cells hold only a number
    # format (``<c r="A123" s="1" t="n"/>``). openpyxl skips cells that have
    # neither a value nor a style, so an unstyled None row would be a bare
    # ``<row r="123"/>``. Readers: openpyxl yields these rows as all-None tuples;
    # fastexcel 0.21 drops trailing empty rows (sheet height == data rows), and
    # it does the same for rows of "" inline strings (``<c t="inlineStr"/>``).
    padding = [
        _styled(ws, fmt)
        for fmt in (
            DATETIME_NUMBER_FORMAT,
            _TEXT_NUMBER_FORMAT,
            _TEXT_NUMBER_FORMAT,
            SPINS_NUMBER_FORMAT,
            *_TEMPLATE_NUMBER_FORMATS,
        )
    ]
    for _ in range(spec.padding_rows):
        ws.append(padding)


def _warn_if_beyond_excel(sheet: str, rows: int) -> None:
    if rows > EXCEL_MAX_ROWS:
        warnings.warn(
            f"sheet {sheet!r} has {rows} rows, more than Excel's {EXCEL_MAX_ROWS}: "
            "Excel would not load them all (fastexcel and openpyxl read them)",
            stacklevel=3,
        )


def _workbook(exported_at: datetime) -> Workbook:
    wb = Workbook(write_only=True)
    wb.properties.created = exported_at
    wb.properties.modified = exported_at
    wb.properties.creator = "playstudio_luigi sample generator"
    wb.properties.title = "PlayStudio sample export"
    return wb


def _save_workbook(wb: Workbook, path: Path) -> None:
    def save(tmp: Path) -> None:
        # ExcelWriter rather than wb.save(): save() stamps properties.modified
        # with the current time and uses a plain ZipFile (current-time entries).
        archive = _FixedDateZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        try:
            ExcelWriter(wb, archive).save()
        finally:
            archive.close()  # no-op after a successful save()

    _write_atomically(path, save)


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write`` a temporary file next to ``path``, then rename it: a reader never sees a
    half-written file (the temporary name is hidden and has no export suffix)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_sample(path: Path | str, spec: SampleSpec = SampleSpec()) -> SampleSummary:
    """Write a sample export for ``spec`` to ``path`` and summarise it.

    The file is written next to ``path`` under a temporary name, then renamed,
    so a reader never sees a half-written workbook. Warns (``UserWarning``) when
    a sheet has more rows than Excel can hold.
    """
    spec.validate()
    path = Path(path)
    data = _generate(spec)
    _warn_if_beyond_excel(PURCHASES_SHEET, 1 + len(data.purchases))
    _warn_if_beyond_excel(SPINS_SHEET, 1 + len(data.spins) + spec.padding_rows)

    wb = _workbook(exported_at=spec.end)  # the export is made when the span is over
    _write_purchases(wb, spec.start, data.user_ids, data.purchases)
    _write_spins(wb, spec, data.user_ids, data.spins)
    _save_workbook(wb, path)

    hours = [offset // 3600 for offset, *_ in data.purchases[: data.unique_transactions]]
    hours += [hour for hour, *_ in data.spins]
    return SampleSummary(
        path=path,
        purchase_rows=len(data.purchases),
        unique_transactions=data.unique_transactions,
        spin_rows=len(data.spins),
        first_hour=spec.start + timedelta(hours=min(hours)),
        last_hour=spec.start + timedelta(hours=max(hours)),
    )


# --- feeds: the same rows as the workbook, split into export files -----------------------

#: How often ``write_feed`` writes a purchases file; spins are always one file per hour.
FILES_PER: dict[str, timedelta] = {"hour": timedelta(hours=1), "5min": timedelta(minutes=5)}
FEED_FORMATS: tuple[str, ...] = ("xlsx", "csv", "parquet")
#: How long after the end of its period an export file is written (its mtime).
EXPORT_DELAY = timedelta(seconds=30)
_CSV_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_TEMPLATE_HEADER = SPINS_HEADER[4:]
_PARQUET_TEMPLATE_TYPES = (pa.float64(), pa.int64(), pa.float64(), pa.string())


@dataclass(frozen=True)
class _FeedFile:
    """One export file of a feed: what it holds, in which format, and when it is written."""

    kinds: tuple[str, ...]  # "purchases", "spins" (both: an hourly workbook of both sheets)
    start: datetime  # the period covered, [start, end)
    end: datetime
    fmt: str

    def path(self, out_dir: Path) -> Path:
        name = self.kinds[0] if len(self.kinds) == 1 else "export"
        return out_dir / f"{self.start:%Y-%m-%d}" / f"{name}-{self.start:%Y-%m-%dT%H%M}.{self.fmt}"


def _feed_plan(
    spec: SampleSpec, files_per: str, formats: Sequence[str], both_sheets: bool
) -> list[_FeedFile]:
    """The files of the feed in the order they are exported; formats used in rotation."""
    width = FILES_PER[files_per]
    hour = timedelta(hours=1)
    plan: list[_FeedFile] = []
    moment = spec.start
    while moment < spec.end:
        end = moment + width
        if both_sheets:  # hourly: one export per hour, one workbook or two files
            fmt = formats[(moment - spec.start) // hour % len(formats)]
            if fmt == "xlsx":
                plan.append(_FeedFile(("purchases", "spins"), moment, end, fmt))
            else:
                plan += [_FeedFile((kind,), moment, end, fmt) for kind in ("purchases", "spins")]
        else:
            plan.append(_FeedFile(("purchases",), moment, end, formats[len(plan) % len(formats)]))
            if end.minute == 0:  # the hour is over: its spins are exported too
                fmt = formats[len(plan) % len(formats)]
                plan.append(_FeedFile(("spins",), end - hour, end, fmt))
        moment = end
    return plan


def write_feed(
    out_dir: Path | str,
    spec: SampleSpec = SampleSpec(),
    *,
    files_per: str = "hour",
    formats: Sequence[str] = ("xlsx",),
    both_sheets: bool = False,
    export_delay: timedelta = EXPORT_DELAY,
) -> list[Path]:
    """Write the rows of ``write_sample(spec)`` as a feed of export files under ``out_dir``.

    Purchases go to one file per ``files_per`` (``"hour"`` or ``"5min"``) of event time,
    spins to one file per hour; each row is in the file of its period (an exact duplicate
    after the period's time-ordered rows, as the workbook has them at the end). ``formats``
    (``xlsx``, ``csv``, ``parquet``) are used in rotation, file after file; with
    ``both_sheets`` (hourly files only) an xlsx file holds the hour's purchases and spins.
    Every period gets its file, an empty one holding only its header, as a backend exporting
    on a schedule writes it. Files are ``<out>/<day>/<purchases|spins|export>-<start>.<fmt>``,
    each with the mtime of its export: the end of its period plus ``export_delay``; the
    workbooks' spin sheets carry the spec's padding rows. Returns the paths in export order.
    """
    spec.validate()
    if files_per not in FILES_PER:
        raise ValueError(f"files_per must be one of {', '.join(FILES_PER)}, not {files_per!r}")
    unknown = [fmt for fmt in formats if fmt not in FEED_FORMATS]
    if not formats or unknown:
        raise ValueError(
            f"formats must be a non-empty list of {', '.join(FEED_FORMATS)} "
            f"(unknown: {', '.join(unknown) or 'none given'})"
        )
    if both_sheets and files_per != "hour":
        raise ValueError("both_sheets needs hourly files (files_per='hour')")
    out_dir = Path(out_dir)
    data = _generate(spec)
    # Rows in the workbook's order: the duplicates after the time-ordered rows of their period.
    purchases: dict[datetime, list[_Purchase]] = defaultdict(list)
    width = FILES_PER[files_per]
    for row in data.purchases:
        moment = spec.start + timedelta(seconds=row[0])
        purchases[moment - (moment - spec.start) % width].append(row)
    spins: dict[int, list[_Spin]] = defaultdict(list)
    for row in data.spins:
        spins[row[0]].append(row)
    first_spins_hour = data.spins[0][0] if data.spins else None

    paths = []
    for file in _feed_plan(spec, files_per, formats, both_sheets):
        path = file.path(out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        hour = (file.end - spec.start) // timedelta(hours=1) - 1
        rows = {
            "purchases": purchases.get(file.start, []),
            "spins": spins.get(hour, []),
        }
        exported_at = file.end + export_delay
        write = partial(
            _FEED_WRITERS[file.fmt],
            spec=spec,
            data=data,
            kinds=file.kinds,
            rows=rows,
            note=hour == first_spins_hour,
            exported_at=exported_at,
        )
        _write_atomically(path, write)
        stamp = exported_at.replace(tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


def _feed_xlsx(
    path: Path,
    spec: SampleSpec,
    data: _SampleData,
    kinds: Sequence[str],
    rows: dict[str, list],
    note: bool,
    exported_at: datetime,
) -> None:
    wb = _workbook(exported_at)
    if "purchases" in kinds:
        _write_purchases(wb, spec.start, data.user_ids, rows["purchases"])
    if "spins" in kinds:
        _write_spins(wb, spec, data.user_ids, rows["spins"], note=note)
    _save_workbook(wb, path)


def _spins_text(value: float) -> str:
    """A spin count as a spreadsheet (and Arrow) prints it: ``379``, ``12.5``."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _feed_csv(
    path: Path,
    spec: SampleSpec,
    data: _SampleData,
    kinds: Sequence[str],
    rows: dict[str, list],
    note: bool,
    exported_at: datetime,
) -> None:
    (kind,) = kinds
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        if kind == "purchases":
            writer.writerow(PURCHASES_HEADER)
            for offset, user, price, tx_id in rows["purchases"]:
                moment = spec.start + timedelta(seconds=offset)
                writer.writerow(
                    [
                        f"{moment:{_CSV_DATE_FORMAT}}",
                        data.user_ids[user],
                        f"PriceInUSD={PRICES_USD[price]}",
                        tx_id,
                    ]
                )
            return
        writer.writerow(SPINS_HEADER)
        for i, (hour, user, country, value) in enumerate(rows["spins"]):
            moment = spec.start + timedelta(hours=hour)
            template = ["", "", "", TEMPLATE_NOTE if i == 0 and note else ""]
            writer.writerow(
                [
                    f"{moment:{_CSV_DATE_FORMAT}}",
                    data.user_ids[user],
                    spec.countries[country],
                    _spins_text(value),
                    *template,
                ]
            )


def _feed_parquet(
    path: Path,
    spec: SampleSpec,
    data: _SampleData,
    kinds: Sequence[str],
    rows: dict[str, list],
    note: bool,
    exported_at: datetime,
) -> None:
    (kind,) = kinds
    # Dates as a backend's dataframe writes them: microsecond timestamps, naive UTC.
    date_type = pa.timestamp("us")
    if kind == "purchases":
        chosen = rows["purchases"]
        columns = {
            "date": pa.array([spec.start + timedelta(seconds=row[0]) for row in chosen], date_type),
            "userId": pa.array([data.user_ids[row[1]] for row in chosen], pa.string()),
            "revenue": pa.array(
                [f"PriceInUSD={PRICES_USD[row[2]]}" for row in chosen], pa.string()
            ),
            "transaction_id": pa.array([row[3] for row in chosen], pa.string()),
        }
    else:
        chosen = rows["spins"]
        columns = {
            "date": pa.array([spec.start + timedelta(hours=row[0]) for row in chosen], date_type),
            "userId": pa.array([data.user_ids[row[1]] for row in chosen], pa.string()),
            "country": pa.array([spec.countries[row[2]] for row in chosen], pa.string()),
            "total_spins": pa.array([row[3] for row in chosen], pa.float64()),
        }
        for name, type_ in zip(_TEMPLATE_HEADER, _PARQUET_TEMPLATE_TYPES, strict=True):
            columns[name] = pa.nulls(len(chosen), type_)
        if note and chosen:
            notes = [TEMPLATE_NOTE] + [None] * (len(chosen) - 1)
            columns[_TEMPLATE_HEADER[-1]] = pa.array(notes, pa.string())
    pq.write_table(pa.table(columns), path)


_FEED_WRITERS: dict[str, Callable[..., None]] = {
    "xlsx": _feed_xlsx,
    "csv": _feed_csv,
    "parquet": _feed_parquet,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``playstudio-luigi sample`` (and ``python -m ...source.sample``)."""
    default = SampleSpec()
    parser.add_argument(
        "--out", type=Path, help="path of the .xlsx to write (with --files-per: a folder)"
    )
    parser.add_argument(
        "--bundled-path",
        action="store_true",
        help="print the path of the bundled sample workbook instead (2022-04-01 and 04-02), "
        "e.g. export PLAYSTUDIO_SOURCE=$(playstudio-luigi sample --bundled-path)",
    )
    parser.add_argument(
        "--purchases",
        type=int,
        default=default.purchases,
        help="purchase rows before duplicates (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=default.seed, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=default.start,
        help="first hour, ISO format, naive UTC (default: %(default)s)",
    )
    parser.add_argument(
        "--hours",
        type=int,
        default=default.hours,
        help="hours spanned by the data (default: %(default)s)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=default.users,
        help="number of distinct users (default: %(default)s)",
    )
    parser.add_argument(
        "--padding-rows",
        type=int,
        default=default.padding_rows,
        help="empty rows after Spins Hourly data (default: %(default)s)",
    )
    parser.add_argument(
        "--files-per",
        choices=list(FILES_PER),
        help="write a feed instead of one workbook: a folder of export files, purchases one "
        "file per hour or per 5 minutes, spins one per hour, each with the mtime of its export",
    )
    parser.add_argument(
        "--formats",
        type=parse_formats,
        help="with --files-per: comma list of file formats used in rotation, from "
        f"{','.join(FEED_FORMATS)} (default: xlsx)",
    )
    parser.add_argument(
        "--both-sheets",
        action="store_true",
        help="with --files-per hour: an xlsx file holds the hour's purchases and spins",
    )


def parse_formats(text: str) -> tuple[str, ...]:
    """``csv,parquet,xlsx`` as a tuple of feed formats."""
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [fmt for fmt in formats if fmt not in FEED_FORMATS]
    if not formats or unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: formats are a comma list of {', '.join(FEED_FORMATS)}"
        )
    return formats


def run_from_args(args: argparse.Namespace) -> int:
    """Write the sample the parsed options describe (or print the bundled sample's path, with
    ``--bundled-path``); returns the process exit status."""
    if args.bundled_path:
        print(BUNDLED_SAMPLE)
        return 0
    if args.out is None:
        print("error: --out PATH is required (or --bundled-path)", file=sys.stderr)
        return 2
    spec = SampleSpec(
        purchases=args.purchases,
        seed=args.seed,
        start=args.start,
        hours=args.hours,
        users=args.users,
        padding_rows=args.padding_rows,
    )
    if args.files_per is None and (args.formats or args.both_sheets):
        print("error: --formats and --both-sheets need --files-per", file=sys.stderr)
        return 2
    if args.files_per is not None:
        return _run_feed(args, spec)
    try:
        summary = write_sample(args.out, spec)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {summary.path}: {summary.purchase_rows} purchase rows "
        f"({summary.unique_transactions} unique transactions), {summary.spin_rows} spin rows, "
        f"hours {summary.first_hour:%Y-%m-%d %H:%M} .. {summary.last_hour:%Y-%m-%d %H:%M}"
    )
    return 0


def _run_feed(args: argparse.Namespace, spec: SampleSpec) -> int:
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file; a feed is written to a folder", file=sys.stderr)
        return 2
    try:
        paths = write_feed(
            args.out,
            spec,
            files_per=args.files_per,
            formats=args.formats or ("xlsx",),
            both_sheets=args.both_sheets,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(
        f"{sum(p.suffix == f'.{fmt}' for p in paths)} .{fmt}"
        for fmt in FEED_FORMATS
        if any(p.suffix == f".{fmt}" for p in paths)
    )
    every = "hour" if args.files_per == "hour" else "5 minutes"
    print(
        f"wrote {len(paths)} export files to {args.out} ({counts}): purchases every {every}, "
        f"spins every hour, {spec.start:%Y-%m-%d %H:%M} .. {spec.end:%Y-%m-%d %H:%M}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m playstudio_luigi.testing.sample --out OUT.xlsx [options]`` (or ``--out DIR
    --files-per hour|5min [--formats xlsx,csv,parquet]`` for a feed)."""
    parser = argparse.ArgumentParser(
        prog="python -m playstudio_luigi.testing.sample",
        description="Write a deterministic sample PlayStudio export: one workbook (.xlsx), "
        "or with --files-per a feed folder of .xlsx, .csv and .parquet export files.",
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
