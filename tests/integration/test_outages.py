"""Database outages: PostgreSQL stopped in the middle of a backfill, a connection cut in the
middle of a COPY. Tasks fail with one clear line (no traceback, no password), Luigi's retry
settings bring a waiting run through, a rerun completes, and nothing is half-written."""

from __future__ import annotations

import io
import subprocess
import time
from datetime import datetime as dt
from datetime import timedelta
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from faults import (
    broken_invariants,
    clean_run,
    cli,
    cli_env,
    connected,
    differences,
    marker_count,
    run_cli,
    scratch_cwd,
    snapshot,
)
from psycopg2 import sql

from playstudio_luigi.db.embedded import EmbeddedPostgres
from playstudio_luigi.testing import run, table_rows, write_workbook

pytestmark = pytest.mark.integration

SIX_HOURS = ("backfill", "--start", "2022-04-01T00", "--stop", "2022-04-01T06")
PASSWORD = "Sup3r-s3cret-pw"


@pytest.fixture(scope="module")
def expected(pg_admin_url: str, day_source: Path, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("clean") / "home"
    return clean_run(pg_admin_url, day_source, SIX_HOURS, home)[0]


@pytest.fixture
def own_server(tmp_path: Path, embedded_server) -> tuple[EmbeddedPostgres, str]:
    """A server of this test's own, to stop and start; its DSN carries the pipeline role's
    password (set to ``PASSWORD`` here; the server checks it)."""
    server = embedded_server(tmp_path / "pg")
    with connected(server.admin_url()) as admin, admin.cursor() as cursor:
        cursor.execute("alter role playstudio_pipeline password %s", (PASSWORD,))
    dsn = server.start()
    return server, dsn.replace("playstudio_pipeline@", f"playstudio_pipeline:{PASSWORD}@")


def _start_backfill(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        cli(*SIX_HOURS),
        env=env,
        cwd=scratch_cwd(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _stop_when_running(server: EmbeddedPostgres, dsn: str, backfill: subprocess.Popen) -> None:
    """Stop the server once the backfill has done some work but not all of it."""
    deadline = time.monotonic() + 120
    while True:
        assert backfill.poll() is None, "the backfill finished before the outage"
        assert time.monotonic() < deadline
        try:
            if marker_count(dsn) >= 30:
                break
        except psycopg2.Error:
            pass  # the schema is not there yet
        time.sleep(0.05)
    server.stop()


def _assert_clear_and_secret_free(stderr: str) -> None:
    assert (
        "DatabaseUnavailableError: cannot connect to PostgreSQL at "
        "postgresql://playstudio_pipeline:***@" in (stderr)
    )
    assert "Traceback" not in stderr, stderr[-3000:]
    assert PASSWORD not in stderr


def test_server_stopped_mid_run_fails_clearly_and_the_rerun_completes(
    own_server, day_source: Path, expected, tmp_path: Path
) -> None:
    server, dsn = own_server
    env = cli_env(dsn=dsn, home=tmp_path / "home", source=day_source)
    backfill = _start_backfill(env)
    _stop_when_running(server, dsn, backfill)
    _, stderr = backfill.communicate(timeout=300)
    assert backfill.returncode != 0
    _assert_clear_and_secret_free(stderr)
    summary = stderr[stderr.index("===== Luigi Execution Summary =====") :]
    assert "failed" in summary

    server.start()
    with connected(dsn) as connection:
        assert broken_invariants(connection) == {}
        errors = [e for (e,) in table_rows(connection, "ops.task_runs", ["error"]) if e]
        assert all(PASSWORD not in e for e in errors)
    rerun = run_cli(cli(*SIX_HOURS), env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    with connected(dsn) as connection:
        assert broken_invariants(connection) == {}
        assert differences(snapshot(connection), expected) == {}


def test_luigi_retries_bring_a_waiting_run_through_a_restart(
    own_server, day_source: Path, expected, tmp_path: Path
) -> None:
    """``[scheduler] retry_delay`` and ``[worker] keep_alive``: the same run completes once the
    server is back (as a cron job with luigid's retry settings would)."""
    server, dsn = own_server
    config = tmp_path / "retry.cfg"
    config.write_text(
        "[scheduler]\nretry_delay = 1\nretry_count = 50\n[worker]\nkeep_alive = true\n"
        "wait_interval = 0.5\n"
    )
    env = cli_env(dsn=dsn, home=tmp_path / "home", source=day_source, LUIGI_CONFIG_PATH=str(config))
    backfill = _start_backfill(env)
    _stop_when_running(server, dsn, backfill)
    time.sleep(3)  # tasks fail meanwhile
    server.start()
    _, stderr = backfill.communicate(timeout=600)
    assert backfill.returncode == 0, stderr[-3000:]
    assert "there were failed tasks but they all succeeded in a retry" in stderr
    _assert_clear_and_secret_free(stderr)
    with connected(dsn) as connection:
        assert broken_invariants(connection) == {}
        assert differences(snapshot(connection), expected) == {}


HOUR = dt(2022, 4, 1, 22)


def test_connection_lost_in_the_middle_of_a_copy_leaves_nothing_half_written(
    warehouse: str, db, pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playstudio_luigi import ExtractPurchases, HourlyPipeline
    from playstudio_luigi.tasks import extract

    rows = [
        (
            HOUR + timedelta(seconds=i % 300),
            f"U{i % 9}",
            "PriceInUSD=1.00",
            f"{i:08d}-0000-4000-8000-000000000000",
        )
        for i in range(600)
    ]
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(write_workbook(tmp_path / "w.xlsx", rows)))
    cut = []

    def copy_cut_halfway(cursor, schema: str, table: str, data: pa.Table) -> int:
        """The real COPY, but the server ends the session once the first 8 kB have gone."""
        buffer = io.BytesIO()
        pacsv.write_csv(
            data,
            buffer,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        buffer.seek(0)
        backend = cursor.connection.get_backend_pid()

        class Stream:
            def read(self, size: int = -1) -> bytes:
                if buffer.tell() > 0 and not cut:
                    with connected(pg_admin_url) as admin, admin.cursor() as c:
                        c.execute("select pg_terminate_backend(%s)", (backend,))
                    cut.append(buffer.tell())
                    time.sleep(0.2)
                return buffer.read(size)

        statement = sql.SQL("copy {}.{} ({}) from stdin with (format csv)").format(
            sql.Identifier(schema),
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, data.column_names)),
        )
        cursor.copy_expert(statement.as_string(cursor), Stream(), size=8192)
        return data.num_rows

    monkeypatch.setattr(extract, "copy_arrow", copy_cut_halfway)
    assert not run([ExtractPurchases(interval=HOUR)])
    assert cut and cut[0] < len(rows) * 50, "the COPY was cut after its first chunk"
    assert table_rows(db, "staging.extract_purchases", ["source_row"]) == []
    assert table_rows(db, "ops.task_markers", ["task_family"]) == []
    with db.cursor() as cursor:
        cursor.execute("select status, error from ops.task_runs")
        ((status, error),) = cursor.fetchall()
    assert status == "failed"
    assert error.startswith("DatabaseUnavailableError: lost the connection to PostgreSQL at")

    monkeypatch.undo()
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(tmp_path / "w.xlsx"))
    assert run([HourlyPipeline(hour=HOUR)])
    assert len(table_rows(db, "staging.extract_purchases", ["source_row"])) == 600
    assert len(table_rows(db, "silver.silver_purchases", ["transaction_id"])) == 600
    assert broken_invariants(db) == {}
