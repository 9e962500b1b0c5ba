"""Two versions of one small export, and the ways a file gets changed under the pipeline's feet:
an equal-size copy written in place with the old mtime restored, a rewrite without truncation,
and damage to the parse cache."""

from __future__ import annotations

import os
import random
import shutil
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from source_rows import tx

from playstudio_luigi.testing import write_workbook

#: The hours both versions cover.
H0, H1 = datetime(2022, 4, 1, 22), datetime(2022, 4, 1, 23)
#: The revenue the corrected export changes (on the first purchase of H0), same length.
OLD_REVENUE, NEW_REVENUE = "PriceInUSD=4.99", "PriceInUSD=7.49"


def export(path: Path, first_revenue: str = OLD_REVENUE) -> Path:
    """40 purchases and 6 spin rows over H0 and H1; ``first_revenue`` on the first purchase."""
    purchases = [
        (
            H0 + timedelta(minutes=3 * i, seconds=i),
            f"U{i % 5}",
            first_revenue if i == 0 else f"PriceInUSD={1 + i % 7}.99",
            tx(i),
        )
        for i in range(40)
    ]
    spins = [(hour, f"U{u}", "US", 3 + u) for hour in (H0, H1) for u in range(3)]
    return write_workbook(path, purchases, spins)


def two_versions(directory: Path) -> tuple[Path, Path]:
    """The export before and after a correction, padded (zip comment) to the same size."""
    old = export(directory / "old.xlsx")
    new = export(directory / "new.xlsx", NEW_REVENUE)
    sizes = {old: old.stat().st_size, new: new.stat().st_size}
    smaller = min(sizes, key=sizes.get)
    with zipfile.ZipFile(smaller, "a") as archive:
        archive.comment = b" " * abs(sizes[old] - sizes[new])
    assert old.stat().st_size == new.stat().st_size
    return old, new


def overwrite_in_place(target: Path, data: bytes, *, truncate: bool = True) -> None:
    """Write ``data`` over ``target`` in place (same inode), then restore its old mtime, as
    ``cp`` into an existing file followed by ``touch -d`` would."""
    before = target.stat()
    with open(target, "r+b") as stream:
        stream.write(data)
        if truncate:
            stream.truncate()
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))


#: In a cache file of each sheet, text followed by a digit of a value: the first revenue, the
#: second user id.
VALUE_DIGIT_AFTER = {"purchases": b"PriceInUSD=", "spins": b"U0U"}


def flip_value_digit(data: bytes, kind: str) -> bytes:
    """``data`` (a cache file of sheet ``kind``) with one digit of a value changed: a one-byte
    change that still reads as a valid Arrow file."""
    at = data.index(VALUE_DIGIT_AFTER[kind]) + len(VALUE_DIGIT_AFTER[kind])
    return data[:at] + (b"8" if data[at : at + 1] != b"8" else b"6") + data[at + 1 :]


def cache_damages(other_version: Path, kind: str) -> dict[str, Callable[[Path], None]]:
    """Ways to damage a cache file of sheet ``kind``, each a function of the file;
    ``other_version`` is the same sheet's cache file of another version (for a swap)."""

    def truncate(path: Path) -> None:
        with open(path, "r+b") as stream:
            stream.truncate(path.stat().st_size // 2)

    def zero(path: Path) -> None:
        path.write_bytes(bytes(path.stat().st_size))

    def random_bytes(path: Path) -> None:
        path.write_bytes(random.Random(7).randbytes(path.stat().st_size))

    def flipped_byte(path: Path) -> None:
        path.write_bytes(flip_value_digit(path.read_bytes(), kind))

    def swapped(path: Path) -> None:
        shutil.copyfile(other_version, path)

    return {
        "truncate": truncate,
        "zero": zero,
        "random bytes": random_bytes,
        "flipped byte": flipped_byte,
        "swapped": swapped,
    }


def sidecar_holding(cache_root: Path, sha256: str) -> Path:
    """The hash sidecar that remembers ``sha256``."""
    (found,) = [p for p in (cache_root / "hashes").iterdir() if p.read_text().startswith(sha256)]
    return found


def temporaries(root: Path) -> list[Path]:
    """Temporary files left anywhere under ``root``."""
    return sorted(p for p in root.rglob("*") if p.name.endswith(".tmp"))
