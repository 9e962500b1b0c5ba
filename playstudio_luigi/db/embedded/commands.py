"""Running a PostgreSQL program, as the server user when the caller is root."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError


@dataclass(frozen=True)
class RunAs:
    """The unprivileged system user that runs the server when the caller is root."""

    name: str
    uid: int
    gid: int


def run_command(
    args: Sequence[str | Path], run_as: RunAs | None, timeout: float
) -> tuple[int, str]:
    """Run a command (as the server user when given) and return (exit code, combined output).

    Output goes to a temporary file, not a pipe: a server started in the background could
    inherit a pipe and keep the call waiting for as long as the server lives.
    """
    kwargs: dict[str, object] = {}
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    if run_as is not None:
        # extra_groups=[] drops root's supplementary groups.
        kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
        env.update(HOME="/", USER=run_as.name, LOGNAME=run_as.name)
    with tempfile.TemporaryFile("w+") as output:
        try:
            completed = subprocess.run(
                [str(arg) for arg in args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd="/",  # the caller's cwd may be unreachable for the server user
                env=env,
                timeout=timeout,
                text=True,
                # Keep the server out of our process group: Ctrl-C on the caller
                # must not shut the shared server down.
                start_new_session=True,
                check=False,
                **kwargs,  # type: ignore[arg-type]
            )
        except subprocess.TimeoutExpired as exc:
            output.seek(0)
            raise EmbeddedPostgresError(
                f"{Path(str(args[0])).name} timed out after {timeout}s:\n{output.read()}"
            ) from exc
        except OSError as exc:
            raise EmbeddedPostgresError(f"cannot run {args[0]}: {exc}") from exc
        output.seek(0)
        return completed.returncode, output.read()
