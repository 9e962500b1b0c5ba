"""Names, paths and time limits of the embedded server."""

from __future__ import annotations

from pathlib import Path

DATABASE = "playstudio"
SUPERUSER = "postgres"
PORT = 5432
SERVER_USER = "playstudio-pg"
SYSTEM_ROOT = Path("/var/lib/playstudio_luigi")
SHORT_SOCKET_PARENT = Path("/tmp")

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
SOCKET_PATH_MAX = 107
START_TIMEOUT = 60
STOP_TIMEOUT = 120  # a fast shutdown ends with a checkpoint
LOCK_TIMEOUT = 300
INITDB_TIMEOUT = 300

NOT_RUNNING_MESSAGE = "embedded database is not running; run `playstudio-luigi db start`"
