"""The embedded server of one ``home``: start or reuse it, report on it, stop it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playstudio_luigi.db.embedded.access import secure_cluster
from playstudio_luigi.db.embedded.commands import RunAs
from playstudio_luigi.db.embedded.connections import (
    accepts_connections,
    dsn_for,
    ensure_database,
    wait_until_ready,
)
from playstudio_luigi.db.embedded.constants import NOT_RUNNING_MESSAGE, START_TIMEOUT, SUPERUSER
from playstudio_luigi.db.embedded.credentials import (
    PIPELINE_ROLE,
    Credentials,
    ensure_credentials,
    passfile_of,
)
from playstudio_luigi.db.embedded.datadir import home_hash, initdb, locate_data_dir
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.locks import flock
from playstudio_luigi.db.embedded.processes import (
    Postmaster,
    kill_orphans,
    live_postmaster,
    terminate,
)
from playstudio_luigi.db.embedded.runtime import existing_server_user, prepare_runtime
from playstudio_luigi.db.embedded.sockets import prepare_socket_dir, socket_dir_for
from playstudio_luigi.db.embedded.startup import (
    check_usable_path,
    clear_stale_state,
    pg_ctl_start,
    write_settings,
)
from playstudio_luigi.private import private_home


@dataclass(frozen=True)
class EmbeddedStatus:
    """A snapshot of the embedded server's state."""

    running: bool
    pid: int | None
    data_dir: Path
    socket_dir: Path | None
    dsn: str | None


class EmbeddedPostgres:
    """Start, reuse, inspect and stop the embedded PostgreSQL server of one ``home`` directory.

    The server is deliberately not tied to this object or to the Python process: it keeps
    running until ``stop()`` so that later processes reuse it.
    """

    def __init__(self, home: Path) -> None:
        self.home = Path(home).expanduser().resolve()
        self._lock_path = self.home / "embedded.lock"
        self._home_hash = home_hash(self.home)

    def start(self) -> str:
        """Ensure the cluster exists, the server runs and database ``playstudio`` exists.

        Idempotent and safe to call from several processes at once. Returns the pipeline
        role's DSN (not a superuser; its password is read by libpq from ``<home>/pgpass``).
        """
        return self._start(PIPELINE_ROLE)

    def admin_url(self) -> str:
        """Like ``start()``, but the superuser's DSN: for administration (and tests) only."""
        return self._start(SUPERUSER)

    def _start(self, user: str) -> str:
        private_home(self.home)
        with flock(self._lock_path, "embedded PostgreSQL"):
            run_as, bin_dir = prepare_runtime()
            data_dir = locate_data_dir(self.home, run_as)
            check_usable_path(data_dir)
            if run_as is not None and data_dir.parent == self.home:
                private_home(self.home, server_uid=run_as.uid)
            credentials = ensure_credentials(self.home)

            postmaster = live_postmaster(data_dir)
            if postmaster is not None:
                if wait_until_ready(postmaster, START_TIMEOUT):
                    return self._ready(postmaster, data_dir, credentials, run_as, user)
                # Alive but not answering for a full start timeout (hung, or its socket
                # was deleted): restart it, gracefully if it still obeys signals.
                terminate(data_dir, postmaster.pid, graceful=True)

            initdb(self.home, data_dir, bin_dir, run_as, credentials.passwords[SUPERUSER])
            socket_dir = socket_dir_for(data_dir)
            prepare_socket_dir(socket_dir, data_dir, run_as)
            clear_stale_state(data_dir, socket_dir, run_as)
            write_settings(data_dir, socket_dir, run_as)
            postmaster = pg_ctl_start(data_dir, bin_dir, run_as)
            return self._ready(postmaster, data_dir, credentials, run_as, user)

    @staticmethod
    def _ready(
        postmaster: Postmaster,
        data_dir: Path,
        credentials: Credentials,
        run_as: RunAs | None,
        user: str,
    ) -> str:
        ensure_database(postmaster, credentials.passfile)
        secure_cluster(postmaster, data_dir, credentials, run_as)
        return dsn_for(postmaster, credentials.passfile, user)

    def stop(self) -> None:
        """Fast shutdown (roll back open transactions, checkpoint). No-op when not running."""
        if not self.home.is_dir():
            return
        with flock(self._lock_path, "embedded PostgreSQL"):
            data_dir = locate_data_dir(self.home, existing_server_user())
            if not data_dir.is_dir():
                return
            postmaster = live_postmaster(data_dir)
            if postmaster is not None:
                terminate(data_dir, postmaster.pid, graceful=True)
            # Children of a dead postmaster still pin its shared memory.
            kill_orphans(data_dir)

    def exists(self) -> bool:
        """Whether this home has a cluster (initdb has run). Never creates or starts anything."""
        return (locate_data_dir(self.home, existing_server_user()) / "PG_VERSION").is_file()

    def status(self) -> EmbeddedStatus:
        """Report whether our server runs and accepts connections. Never starts anything."""
        data_dir = locate_data_dir(self.home, existing_server_user())
        postmaster = live_postmaster(data_dir)
        if postmaster is not None and accepts_connections(postmaster):
            return EmbeddedStatus(
                running=True,
                pid=postmaster.pid,
                data_dir=data_dir,
                socket_dir=postmaster.socket_dir,
                dsn=dsn_for(postmaster, passfile_of(self.home), PIPELINE_ROLE),
            )
        return EmbeddedStatus(running=False, pid=None, data_dir=data_dir, socket_dir=None, dsn=None)

    def url(self) -> str:
        """The DSN of the running server; ``EmbeddedPostgresError`` when it is not running."""
        dsn = self.status().dsn
        if dsn is None:
            raise EmbeddedPostgresError(NOT_RUNNING_MESSAGE)
        return dsn
