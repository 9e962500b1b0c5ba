"""Per-home credentials: no server trusts its socket, no pipeline runs as superuser.

Each home has its own generated passwords for the superuser and for the pipeline role, kept in
a libpq password file ``<home>/pgpass`` (0600, the home's owner only). DSNs name that file
(``passfile=``) instead of carrying a password, so nothing secret is ever printed. The servers
authenticate every connection with SCRAM (``pg_hba.conf``: ``local all all scram-sha-256``):
a process of one home, even running as the same system user, cannot log in to another home's
server.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from playstudio_luigi.db.embedded.constants import SUPERUSER
from playstudio_luigi.private import open_private

PASSFILE_NAME = "pgpass"
PIPELINE_ROLE = "playstudio_pipeline"
ANALYST_ROLE = "playstudio_analyst"

HBA = (
    "# Written by playstudio_luigi: unix socket only, every role by password (SCRAM).\n"
    "local all all scram-sha-256\n"
)


@dataclass(frozen=True)
class Credentials:
    """The password file of one home and the passwords in it, by role."""

    passfile: Path
    passwords: dict[str, str]


def passfile_of(home: Path) -> Path:
    return home / PASSFILE_NAME


def load_credentials(home: Path) -> Credentials | None:
    """The home's credentials, or None when it has none yet (a new or pre-0.x home)."""
    path = passfile_of(home)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    passwords = {}
    for line in text.splitlines():
        fields = line.split(":")  # our own file: generated passwords never hold ':' or '\'
        if len(fields) == 5 and not line.startswith("#"):
            passwords[fields[3]] = fields[4]
    return Credentials(path, passwords)


def ensure_credentials(home: Path) -> Credentials:
    """Load the home's credentials, generating them (atomically, 0600) the first time."""
    existing = load_credentials(home)
    if existing is not None and {SUPERUSER, PIPELINE_ROLE} <= existing.passwords.keys():
        return existing
    passwords = {role: secrets.token_urlsafe(32) for role in (SUPERUSER, PIPELINE_ROLE)}
    path = passfile_of(home)
    scratch = path.with_name(f".{PASSFILE_NAME}.{os.getpid()}.tmp")
    fd = open_private(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        text = "".join(f"*:*:*:{role}:{password}\n" for role, password in passwords.items())
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(scratch, path)
    return Credentials(path, passwords)
