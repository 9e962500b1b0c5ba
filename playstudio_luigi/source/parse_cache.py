"""The parse cache's files: Arrow IPC tables that are verified before they are read.

A cache file is the Arrow IPC file of one parsed sheet followed by a fixed trailer::

    magic | format | sheet kind | SHA-256 of the source workbook | body length | XXH3-64 of body

The reader checks the trailer and the checksum of the whole body *before* Arrow parses a byte
of it (Arrow trusts the offsets in the file: random bytes used to crash the process), then
checks the schema. So a truncated, zeroed, overwritten or bit-flipped file, or one copied from
another version's or sheet's directory, is reported as :class:`CacheDamaged` and never served.
XXH3-64 misses accidental damage with probability 2**-64 and runs at memory speed (103 MB, the
cache of 1M purchases: about 10 ms, against 60-100 ms for zlib's CRC-32 and 130-200 ms for
SHA-256 on the same machine); it guards against damage, not forgery (whoever can write the
cache can write the warehouse). The trailer's source hash and kind bind the file to its version
and sheet, which a checksum alone would not.

Every file is written beside its target under a temporary name and renamed over it: a reader
sees the old file or the whole new one, and a failed write (disk full) leaves nothing behind.
Directories and files are created only by :func:`make_dir`, :func:`atomic_file` and
:func:`locked`.
"""

from __future__ import annotations

import fcntl
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pyarrow as pa
import xxhash

from playstudio_luigi.private import open_private, private_dir

MAGIC = b"PSLCACHE"
#: Bump when the parse changes what it produces: older cache files then fail verification.
FORMAT = 1
_TRAILER = struct.Struct("<8sI16s32sQQ")


class CacheDamaged(Exception):
    """A cache file failed verification; the message says how."""


def make_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed, owner-only: the one place cache
    directories are made."""
    return private_dir(path)


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """A new temporary file beside ``target`` for the block to write; renamed onto ``target``
    when the block succeeds, removed when it fails (an ``OSError`` such as a full disk
    included). Unique per call, so threads and processes never share one; owner-only (0600,
    as ``mkstemp`` makes it)."""
    make_dir(target.parent)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(name)
        os.replace(name, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(name)
        raise


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the block."""
    make_dir(lock_path.parent)
    with open(open_private(lock_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_temporaries(directory: Path, name: str) -> None:
    """Remove temporary files of ``name`` left in ``directory`` by killed writers (call it only
    while holding the lock that serialises the writers of ``name``)."""
    for stale in directory.glob(f".{name}.*.tmp"):
        with suppress(FileNotFoundError):
            stale.unlink()


def _digest(buffer: pa.Buffer) -> int:
    return xxhash.xxh3_64_intdigest(memoryview(buffer))


def _kind_field(kind: str) -> bytes:
    return kind.encode().ljust(16, b"\0")[:16]


def write_table(target: Path, table: pa.Table, *, kind: str, source_sha256: str) -> None:
    """Write ``table`` as the cache file ``target`` of sheet ``kind`` of the source version
    ``source_sha256``; the checksum is computed on what is read back from the written file."""
    with atomic_file(target) as tmp:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=65536)
        with pa.memory_map(str(tmp)) as written:
            body = written.read_buffer()
            trailer = _TRAILER.pack(
                MAGIC,
                FORMAT,
                _kind_field(kind),
                bytes.fromhex(source_sha256),
                body.size,
                _digest(body),
            )
            del body
        with open(tmp, "ab") as stream:
            stream.write(trailer)


def read_table(path: Path, *, kind: str, source_sha256: str, schema: pa.Schema) -> pa.Table:
    """The table of the cache file ``path`` after verifying it (memory-mapped, not copied).

    Raises :class:`FileNotFoundError` when there is no such file and :class:`CacheDamaged`
    when it is not an intact cache file of sheet ``kind`` of ``source_sha256`` with ``schema``.
    """
    # Not closed here: the returned table's buffers point into the mapping.
    mapped = pa.memory_map(str(path))
    size = mapped.size()
    if size < _TRAILER.size:
        raise CacheDamaged(f"{size} bytes, shorter than its {_TRAILER.size}-byte trailer")
    whole = mapped.read_buffer()
    magic, version, kind_field, sha, length, digest = _TRAILER.unpack(
        whole.slice(size - _TRAILER.size).to_pybytes()
    )
    if magic != MAGIC:
        raise CacheDamaged("no cache trailer (truncated, overwritten or not a cache file)")
    if version != FORMAT:
        raise CacheDamaged(f"cache format {version}, this release writes {FORMAT}")
    if kind_field != _kind_field(kind) or sha.hex() != source_sha256:
        found = kind_field.rstrip(b"\0").decode(errors="replace")
        raise CacheDamaged(
            f"holds sheet {found!r} of source "
            f"{sha.hex()[:12]}, not {kind!r} of {source_sha256[:12]} (a file from another "
            "version or sheet)"
        )
    if length != size - _TRAILER.size:
        raise CacheDamaged(f"body of {size - _TRAILER.size} bytes, its trailer says {length}")
    body = whole.slice(0, length)
    if _digest(body) != digest:
        raise CacheDamaged("checksum mismatch (the file's bytes changed after it was written)")
    try:
        table = pa.ipc.open_file(body).read_all()
    except (pa.ArrowException, OSError) as exc:  # intact but unreadable: a writer bug
        raise CacheDamaged(f"not a readable Arrow file: {exc}") from exc
    if not table.schema.equals(schema):
        raise CacheDamaged(f"schema {table.schema} is not the expected {schema}")
    return table
