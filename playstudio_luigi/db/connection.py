"""Connections to the warehouse: ``PLAYSTUDIO_DSN`` when set, else the embedded PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

from playstudio_luigi import config
from playstudio_luigi.db.embedded import EmbeddedPostgres
from playstudio_luigi.db.migrations import ensure_schema
from playstudio_luigi.redaction import describe_dsn, dsn_secrets, redact

_SESSION_OPTIONS = "-c timezone=UTC -c application_name=playstudio_luigi"


class DatabaseUnavailableError(psycopg2.OperationalError):
    """The warehouse cannot be reached, or the connection was lost: one clear line naming the
    database (password masked) instead of a driver traceback. A task failing with it is safe
    to retry: its transaction rolled back."""

    log_traceback = False  # the message says it all (see redaction.RedactingFilter)


def _unavailable(what: str, dsn: str, error: BaseException) -> DatabaseUnavailableError:
    if isinstance(error, psycopg2.InterfaceError) and error.__context__ is not None:
        error = error.__context__  # "connection already closed": say why it closed
    reason = " ".join(str(error).split())[:300] or type(error).__name__
    message = f"{what} {describe_dsn(dsn)}: {reason}"
    return DatabaseUnavailableError(redact(message, extra=dsn_secrets(dsn)))


class NoWarehouseError(RuntimeError):
    """A command that only reads found no embedded warehouse, and made none."""

    def __init__(self, home: os.PathLike[str]) -> None:
        super().__init__(
            f"no warehouse in {home} yet (nothing was created): `playstudio-luigi demo` loads "
            "the bundled sample into one, `playstudio-luigi backfill --start ... --stop ...` "
            f"your exports; or set {config.HOME_ENV} or {config.DSN_ENV} to use another"
        )


def without_password(dsn: str) -> str:
    """``dsn`` as a libpq connection string without its password (URL or ``key=value`` form):
    what ``psql`` can use, asking for the password or reading ``~/.pgpass``/``PGPASSWORD``."""
    params = psycopg2.extensions.parse_dsn(dsn)
    params.pop("password", None)
    return psycopg2.extensions.make_dsn(**params)


_dsn_cache: dict[int, str] = {}
_reader_cache: dict[int, psycopg2.extensions.connection] = {}
_schema_ready: set[tuple[int, str]] = set()


def database_url(*, create: bool = True) -> str:
    """The DSN in use. Starts (or reuses) the embedded server only when no DSN is configured;
    with ``create=False`` an embedded warehouse that does not exist yet is
    :class:`NoWarehouseError` instead of a new one."""
    pid = os.getpid()
    if pid not in _dsn_cache:
        dsn = config.configured_dsn()
        if dsn is None:
            server = EmbeddedPostgres(config.home_dir())
            if not create and not server.exists():
                raise NoWarehouseError(server.home)
            dsn = server.start()
        _dsn_cache.clear()
        _dsn_cache[pid] = dsn
    return _dsn_cache[pid]


def connect(*, create: bool = True) -> psycopg2.extensions.connection:
    """A new connection (UTC session), the warehouse migrated to this code's schema if need be.

    ``create=False`` is for commands that only read: they never make an embedded warehouse
    (:class:`NoWarehouseError`), though they start an existing one that is stopped.
    """
    dsn = database_url(create=create)
    try:
        connection = psycopg2.connect(dsn, options=_SESSION_OPTIONS)
    except (psycopg2.OperationalError, psycopg2.ProgrammingError) as exc:  # down, or bad DSN
        raise _unavailable("cannot connect to PostgreSQL at", dsn, exc) from None
    key = (os.getpid(), dsn)
    if key not in _schema_ready:
        try:
            ensure_schema(connection)
        except BaseException:
            connection.close()
            raise
        _schema_ready.add(key)
    return connection


_writer_cache: dict[int, psycopg2.extensions.connection] = {}


@contextmanager
def transaction() -> Iterator[psycopg2.extensions.connection]:
    """One transaction: committed on success, rolled back on any error.

    The connection is kept for the next transaction of this process (a backfill runs thousands
    of small tasks; a new connection each costs more than many of them), and dropped whenever
    anything went wrong with it.
    """
    pid = os.getpid()
    connection = _writer_cache.pop(pid, None)
    if connection is None or connection.closed:
        _writer_cache.clear()  # inherited through fork(): never use a parent's connection
        connection = connect()
    try:
        with connection:  # psycopg2: commit on success, rollback on exception
            yield connection
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        lost = bool(connection.closed) and not isinstance(exc, DatabaseUnavailableError)
        connection.close()
        if lost:  # the server went away mid-transaction: nothing was committed
            lost_at = database_url()
            raise _unavailable("lost the connection to PostgreSQL at", lost_at, exc) from None
        raise
    except BaseException:
        connection.close()
        raise
    _writer_cache[pid] = connection


def reader() -> psycopg2.extensions.connection:
    """A per-process autocommit connection for cheap reads such as marker checks.

    Luigi asks ``complete()`` of every task in a graph; one connection per question would cost
    more than the question. Connections do not survive ``fork()``, hence one per process id.
    """
    pid = os.getpid()
    connection = _reader_cache.get(pid)
    if connection is None or connection.closed:
        _reader_cache.clear()  # inherited from a parent process: never use it here
        connection = connect()
        connection.autocommit = True
        _reader_cache[pid] = connection
    return connection


def forget_reader() -> None:
    """Drop this process's read connection (after the server went away)."""
    connection = _reader_cache.pop(os.getpid(), None)
    if connection is not None and not connection.closed:
        connection.close()


def reset() -> None:
    """Forget cached DSNs and connections (tests switch databases; config may change)."""
    pid = os.getpid()
    for cache in (_reader_cache, _writer_cache):
        connection = cache.get(pid)
        if connection is not None and not connection.closed:
            connection.close()
        cache.clear()
    _dsn_cache.clear()
    _schema_ready.clear()
