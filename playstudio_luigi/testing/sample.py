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

Run ``python -m playstudio_luigi.testing.sample OUT.xlsx`` to write a sample.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import sys
import uuid
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

__all__ = [
    "BUNDLED_SAMPLE",
    "DATETIME_NUMBER_FORMAT",
    "EXCEL_MAX_ROWS",
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


def _write_purchases(wb: Workbook, spec: SampleSpec, data: _SampleData) -> None:
    ws = wb.create_sheet(PURCHASES_SHEET)
    ws.append(list(PURCHASES_HEADER))
    revenues = [f"PriceInUSD={price}" for price in PRICES_USD]
    user_ids = data.user_ids
    start = spec.start
    # One styled cell reused for every row: openpyxl serialises each appended
    # row before the next append, and a new styled cell per row costs ~15% more time.
    date_cell = _styled(ws, DATETIME_NUMBER_FORMAT)
    append = ws.append
    for offset, user, price, tx_id in data.purchases:
        date_cell.value = start + timedelta(seconds=offset)
        append([date_cell, user_ids[user], revenues[price], tx_id])


def _write_spins(wb: Workbook, spec: SampleSpec, data: _SampleData) -> None:
    ws = wb.create_sheet(SPINS_SHEET)
    ws.append(list(SPINS_HEADER))
    date_cell = _styled(ws, DATETIME_NUMBER_FORMAT)
    spins_cell = _styled(ws, SPINS_NUMBER_FORMAT)
    # The template columns are formatted but empty, except for one note.
    template = [_styled(ws, fmt) for fmt in _TEMPLATE_NUMBER_FORMATS]
    note_cell = template[_NOTE_COLUMN - len(SPINS_HEADER) + len(template)]
    for i, (hour, user, country, spins) in enumerate(data.spins):
        date_cell.value = spec.start + timedelta(hours=hour)
        spins_cell.value = spins
        note_cell.value = TEMPLATE_NOTE if i == 0 else None
        ws.append([date_cell, data.user_ids[user], spec.countries[country], spins_cell, *template])
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

    wb = Workbook(write_only=True)
    exported_at = spec.end  # the export is made when the span is over
    wb.properties.created = exported_at
    wb.properties.modified = exported_at
    wb.properties.creator = "playstudio_luigi sample generator"
    wb.properties.title = "PlayStudio sample export"
    _write_purchases(wb, spec, data)
    _write_spins(wb, spec, data)

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # ExcelWriter rather than wb.save(): save() stamps properties.modified
        # with the current time and uses a plain ZipFile (current-time entries).
        archive = _FixedDateZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        try:
            ExcelWriter(wb, archive).save()
        finally:
            archive.close()  # no-op after a successful save()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``playstudio-luigi sample`` (and ``python -m ...source.sample``)."""
    default = SampleSpec()
    parser.add_argument("--out", type=Path, help="path of the .xlsx to write")
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m playstudio_luigi.testing.sample --out OUT.xlsx [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m playstudio_luigi.testing.sample",
        description="Write a deterministic sample PlayStudio export (.xlsx).",
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
