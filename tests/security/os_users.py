"""Real OS users for the attacks: created with ``useradd`` when the suite runs as root (CI
does). Attacks that need another user fail, never skip, when the suite is not root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

ATTACKER = "pstest-attacker"


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int

    def run(self, args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess:
        """Run ``args`` as this user (no supplementary groups), capturing its output."""
        return subprocess.run(
            list(args),
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )


def other_user(name: str = ATTACKER) -> OsUser:
    """A local user other than us (created if need be); fails the test when we are not root."""
    if os.geteuid() != 0:
        pytest.fail(f"this attack needs a second OS user {name!r}: run the suite as root (CI does)")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=False,
            capture_output=True,
        )
        entry = pwd.getpwnam(name)  # KeyError (test error) if useradd failed
    return OsUser(name, entry.pw_uid, entry.pw_gid)
