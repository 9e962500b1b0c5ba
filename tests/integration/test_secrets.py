"""Secrets: with a password in the DSN and a Slack webhook configured, failing runs through a
real luigid leave neither in the terminal output, Slack messages, run history, luigid's task
parameters, error explanations, logs or saved state."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from faults import cli, cli_env, connected
from luigid_server import Luigid, start_luigid
from psycopg2 import sql
from psycopg2.extensions import make_dsn, parse_dsn
from webhook_server import FakeSlack, TricklingSlack, unreachable_webhook_url

from playstudio_luigi.testing import PURCHASE_HEADER, write_workbook

pytestmark = pytest.mark.integration

PASSWORD = "pw-Zq8!secret"
ONE_HOUR = ("--start", "2022-04-01T22", "--stop", "2022-04-01T23")


def with_password(dsn: str, password: str, dbname: str | None = None) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc.replace("@", f":{quote(password, safe='')}@", 1)
    path = f"/{dbname}" if dbname else parts.path
    return urlunsplit(parts._replace(netloc=netloc, path=path))


def everything(luigid: Luigid) -> str:
    """Every task luigid knows, with parameters, and every failed task's explanation."""
    texts = []
    for status in ("DONE", "FAILED", "PENDING", "RUNNING", "DISABLED"):
        tasks = luigid.api("task_list", {"status": status, "upstream_status": "", "search": ""})
        texts.append(json.dumps(tasks))
        if status == "FAILED":
            texts += [json.dumps(luigid.api("fetch_error", {"task_id": t})) for t in tasks]
    return "\n".join(texts)


@pytest.fixture
def luigid(tmp_path: Path) -> Iterator[Luigid]:
    with start_luigid(tmp_path / "luigid", scheduler_config="") as server:
        yield server


@pytest.fixture
def secret_role(warehouse: str) -> Iterator[str]:
    """The warehouse's URL for a role of its own whose password is ``PASSWORD`` and that owns
    the database (servers check passwords: the embedded one too)."""
    role = f"secrets_{uuid.uuid4().hex[:8]}"
    dbname = urlsplit(warehouse).path.lstrip("/")
    with connected(warehouse) as admin, admin.cursor() as cursor:
        cursor.execute(
            sql.SQL("create role {} login password %s").format(sql.Identifier(role)), (PASSWORD,)
        )
        cursor.execute(
            sql.SQL("alter database {} owner to {}").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
    yield urlunsplit(urlsplit(warehouse)._replace(netloc=f"{role}@"))
    with connected(warehouse) as admin, admin.cursor() as cursor:
        cursor.execute(sql.SQL("reassign owned by {} to current_user").format(sql.Identifier(role)))
        cursor.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


NASTY = "pa ss\"w@rd%20 x'Tail"


def password_pieces(password: str) -> list[str]:
    return [password, *[p for p in re.split(r"[\s@%'\"]", password) if len(p) >= 4]]


def key_value(url: str, password: str) -> str:
    """``url`` as a key=value DSN (libpq's own form) with ``password``."""
    params = parse_dsn(url)
    params["password"] = password
    return make_dsn(**params)


def all_files(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()
    )


def test_no_secret_anywhere_after_failing_runs(
    warehouse: str, secret_role: str, luigid: Luigid, tmp_path: Path
) -> None:
    broken = write_workbook(
        tmp_path / "broken.xlsx",
        purchase_header=PURCHASE_HEADER[:3],  # transaction_id missing: every extract fails
        purchases=[],
    )
    scheduler = ("--scheduler-host", "127.0.0.1", "--scheduler-port", str(luigid.port))
    config = tmp_path / "worker.cfg"  # do not wait for luigid's retries of the failed tasks
    # Slack may take 1 s per alert here: the trickling webhook must not hold the runs.
    config.write_text("[worker]\nkeep_alive = false\n[slack]\nmax_seconds = 1\n")
    outputs = []
    unreachable = unreachable_webhook_url()
    with FakeSlack().running() as slack, TricklingSlack().running() as trickling:
        secrets = [PASSWORD, quote(PASSWORD, safe=""), *password_pieces(NASTY)]
        for url in (slack.url, unreachable, trickling.url):
            path = urlsplit(url).path
            secrets += [url, path, *[s for s in path.split("/") if s][1:]]
        cron = [
            str(Path(sys.executable).parent / "luigi"),
            *("--module", "playstudio_luigi", "HourlyPipeline", "--hour", "2022-04-01T22"),
            *(*scheduler, "--workers", "2"),
        ]
        backfill = cli("backfill", *ONE_HOUR, *scheduler, "--workers", "2")
        runs = (
            # cron's command, reachable database: errors land in run history and luigid
            (with_password(secret_role, PASSWORD), cron, slack.url),
            # a backfill against a database that does not exist: the DSN itself in the error
            (with_password(secret_role, PASSWORD, "no_such_db"), backfill, slack.url),
            # the database as a key=value DSN, Slack unreachable (requests names its path)
            (key_value(secret_role, PASSWORD), cron, unreachable),
            # a key=value DSN whose password has quotes, escapes, '@', '%' and spaces (not
            # the role's: the server refuses it)
            (key_value(secret_role, NASTY), backfill, slack.url),
            # reachable database, Slack trickling its answer a byte at a time
            (with_password(secret_role, PASSWORD), cron, trickling.url),
        )
        for index, (dsn, command, webhook) in enumerate(runs):
            env = cli_env(
                dsn=dsn,
                home=tmp_path / f"home{index}",  # each run alerts (no throttle state shared)
                source=broken,
                PLAYSTUDIO_SLACK_WEBHOOK_URL=webhook,
                PGPASSWORD=PASSWORD,
                LUIGI_CONFIG_PATH=str(config),
            )
            result = subprocess.run(
                command,
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode != 0
            outputs.append(result.stdout + result.stderr)
        assert trickling.requests >= 1, outputs[4][-2000:]
        slack_text = "\n".join(r.raw for r in slack.received)
    scheduler_text = everything(luigid)
    luigid.process.terminate()  # saves its state
    luigid.process.wait(timeout=30)
    with connected(warehouse) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select json_agg(r)::text from (select * from ops.task_runs) r"
            " union all select json_agg(c)::text from (select * from ops.check_results) c"
            " union all select json_agg(m)::text from (select * from ops.task_markers) m"
        )
        history = "\n".join(str(row[0]) for row in cursor.fetchall())

    places = {
        "terminal output": "\n".join(outputs),
        "Slack messages": slack_text,
        "run history": history,
        "luigid task parameters and errors": scheduler_text,
        "luigid logs and state": all_files(luigid.home),
    }
    # Each place holds the evidence we look in (so an empty place cannot pass by accident).
    assert "transaction_id" in places["terminal output"]
    assert f"postgresql://{urlsplit(secret_role).username}:***@" in outputs[1]
    assert "no_such_db" in outputs[1]
    assert "ConnectionError" in outputs[2], outputs[2][-2000:]
    assert "password=***" in outputs[3] and "password authentication failed" in outputs[3]
    assert "transaction_id" in slack_text
    assert "SourceFormatError" in history
    assert "ExtractPurchases" in scheduler_text and "transaction_id" in scheduler_text
    for place, text in places.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in {place}"
    assert os.environ.get("PLAYSTUDIO_DSN") == warehouse  # the test's own env is untouched
