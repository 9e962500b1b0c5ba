"""Conflicting duplicates, decided in silver over all of bronze (DESIGN 3.1): the first copy of
a transaction id by date, then file, then row wins wherever it lies; exact copies collapse;
other content is a conflict, reported and left out. When the winner moves to another interval,
gold's hour of that interval loses its marker (in the same transaction, under that day's change
lock taken exclusively) and the next run rebuilds it."""

from __future__ import annotations

import threading
from datetime import datetime as dt
from datetime import timedelta

import psycopg2
import pytest
from bronze_loads import Copy, load_all, load_purchases, marker_of, silver, without_exports
from reference_model import first_copies
from source_rows import tx

from playstudio_luigi import DayPipeline, GoldAggregate, SilverPurchases
from playstudio_luigi.db import locks, models
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.operations.backfill import build_hours
from playstudio_luigi.tasks import base
from playstudio_luigi.tasks import silver as silver_tasks
from playstudio_luigi.testing import gold_rows, run

pytestmark = pytest.mark.integration

H22, H23 = dt(2022, 4, 1, 22), dt(2022, 4, 1, 23)
H00 = dt(2022, 4, 2, 0)  # the next UTC day
X = tx(1)


@pytest.fixture(autouse=True)
def _bronze_without_exports(tmp_path):
    with without_exports(tmp_path / "no-exports"):
        yield


def copy(seconds: int, path: str, row: int, *, user="U1", revenue="PriceInUSD=1.00", key=X):
    return Copy(key, H22 + timedelta(seconds=seconds), user, revenue, path, row)


def silver_by_id(db) -> dict[str, tuple]:
    return {row[0]: row for row in silver(db)}


def conflicts(db) -> list[tuple[int, list]]:
    with db.cursor() as cursor:
        cursor.execute(
            "select failing_rows, sample from ops.check_results"
            " where check_name = 'conflicting_duplicates' order by check_result_id"
        )
        return cursor.fetchall()


@pytest.mark.parametrize(
    ("copies", "winner"),
    [
        # the date decides, whatever the file and row (and across intervals)
        ([copy(5, "a.csv", 2), copy(3, "b.csv", 9)], ("b.csv", 9)),
        ([copy(400, "a.csv", 2), copy(3, "z.csv", 9)], ("z.csv", 9)),
        # same date: the file decides (its path), whatever the row
        ([copy(3, "b.csv", 2), copy(3, "a.csv", 9)], ("a.csv", 9)),
        # same date and file: the row decides
        ([copy(3, "a.csv", 4), copy(3, "a.csv", 3)], ("a.csv", 3)),
    ],
    ids=["date", "date-across-intervals", "file", "row"],
)
def test_the_first_copy_by_date_then_file_then_row_wins(db, copies, winner):
    # the copies differ in revenue too: the losers are conflicts
    copies = [
        Copy(
            c.transaction_id,
            c.event_time,
            c.user_id,
            f"PriceInUSD={i + 1}.00",
            c.source_path,
            c.source_row,
        )
        for i, c in enumerate(copies)
    ]
    load_all(copies, [H22])
    assert run([GoldAggregate(hour=H22)])
    [row] = silver(db)
    assert (row[6], row[9]) == winner
    assert silver_by_id(db) == first_copies(copies)
    assert row[10] == 1
    # Reported (by the interval holding the loser at least), naming both copies.
    failing = [(n, sample) for n, sample in conflicts(db) if n]
    assert failing and all(n == 1 for n, _ in failing)
    sample = failing[-1][1][0]
    assert (sample["winner_source_path"], sample["winner_source_row"]) == winner
    assert (sample["source_path"], sample["source_row"]) != winner


def test_exact_copies_collapse_across_files_and_spelling(db):
    copies = [
        copy(3, "a.csv", 2),
        copy(3, "b.csv", 12, key=f"  {X.upper()} ", user=" U1 ", revenue="PriceInUSD=1.00 "),
        copy(3, "b.csv", 7),
        copy(3, "c.csv", 5, revenue="PriceInUSD=1.50"),  # a conflict: not counted
    ]
    load_all(copies, [H22])
    assert run([GoldAggregate(hour=H22)])
    assert silver_by_id(db) == first_copies(copies)
    [row] = silver(db)
    assert (row[0], row[4], row[6], row[9], row[10]) == (X, "U1", "a.csv", 2, 3)
    [(failing, sample)] = [result for result in conflicts(db) if result[0]]
    assert failing == 1 and (sample[0]["source_path"], sample[0]["revenue"]) == (
        "c.csv",
        "PriceInUSD=1.50",
    )
    gold = gold_rows(db)
    assert [(g[1], g[4], g[5]) for g in gold] == [("U1", 1, 1)]  # one purchase, 1.00 USD


@pytest.mark.parametrize(
    "other",
    [
        copy(9, "b.csv", 3, user="U2"),
        copy(9, "b.csv", 3, revenue="PriceInUSD=2.00"),
        copy(10, "a.csv", 3),  # the same values a second later (the first is at 22:00:09)
    ],
    ids=["user", "revenue", "date"],
)
def test_other_content_is_a_conflicting_duplicate(db, other):
    first = copy(9, "a.csv", 2)
    load_all([first, other], [H22])
    assert run([GoldAggregate(hour=H22)])
    assert silver_by_id(db) == first_copies([first, other])
    assert silver(db)[0][10] == 1  # the conflict is no copy
    [(failing, sample)] = [result for result in conflicts(db) if result[0]]
    assert failing == 1
    assert (sample[0]["source_row"], sample[0]["winner_source_row"]) == (3, 2)
    with db.cursor() as cursor:  # both stay in bronze: valid rows, conserved
        cursor.execute("select count(*) from bronze.bronze_purchases")
        assert cursor.fetchone() == (2,)


def _gold_of(copies: list[Copy], hours: list[dt], fresh_database, tmp_path) -> list[tuple]:
    """Gold of one clean run over ``copies`` (in a database of its own)."""
    with fresh_database(tmp_path / "clean"):
        load_all(copies, hours)
        assert run([GoldAggregate(hour=hour) for hour in hours])
        with transaction() as connection:
            return gold_rows(connection)


def test_a_removed_winner_hands_the_id_to_a_copy_in_another_hour(db, fresh_database, tmp_path):
    early = copy(120, "a.csv", 2, user="U1")  # 22:02, hour 22
    late = Copy(X, H23 + timedelta(minutes=10), "U2", "PriceInUSD=7.00", "b.csv", 4)
    load_all([early, late], [H22, H23])
    assert run([GoldAggregate(hour=H22), GoldAggregate(hour=H23)])
    assert silver(db)[0][6] == "a.csv"
    gold_23 = marker_of(db, "GoldAggregate", H23)
    assert gold_23 is not None

    # The export is corrected: the early copy is gone. Its interval is reloaded; its silver
    # run hands X to the late copy, filed under 23:10, whose gold hour is now stale.
    load_purchases(early.interval_start, [])
    assert run([SilverPurchases(interval=early.interval_start)])
    assert silver_by_id(db) == first_copies([late])
    assert marker_of(db, "GoldAggregate", H23) is None, "the foreign hour's marker is removed"
    with db.cursor() as cursor:  # and the foreign interval's marker counts its rows
        cursor.execute(
            "select (details ->> 'silver_rows')::int from ops.task_markers"
            " where task_family = 'SilverPurchases' and interval_start = %s",
            (late.interval_start,),
        )
        assert cursor.fetchone() == (1,)
    assert run([GoldAggregate(hour=H22), GoldAggregate(hour=H23)])
    assert gold_rows(db) == _gold_of([late], [H22, H23], fresh_database, tmp_path)


def test_a_backfill_rebuilds_the_foreign_hour_in_its_next_pass(db, fresh_database, tmp_path):
    """The hour the row left is in the same day: the day's pass rebuilds it; in the next day,
    the backfill goes over that day again."""
    late_same_day = Copy(X, H23 + timedelta(minutes=10), "U2", "PriceInUSD=7.00", "b.csv", 4)
    y = tx(2)
    late_next_day = Copy(y, H00 + timedelta(minutes=20), "U3", "PriceInUSD=3.00", "b.csv", 5)
    load_all([late_same_day, late_next_day], [H22, H23, H00])
    assert run([GoldAggregate(hour=hour) for hour in (H22, H23, H00)])  # cron built all three

    # Earlier copies of both arrive (a file exported late) in hour 22.
    early_x = copy(60, "a.csv", 2)
    early_y = copy(70, "a.csv", 3, key=y, user="U3", revenue="PriceInUSD=3.00")
    load_purchases(early_x.interval_start, [early_x, early_y])
    assert marker_of(db, "GoldAggregate", H23) is not None
    assert build_hours([H22, H23, H00])
    final = [early_x, early_y, late_same_day, late_next_day]
    assert silver_by_id(db) == first_copies(final)
    day_1 = DayPipeline(day=H22.date(), from_hour=22, to_hour=24).task_id
    assert marker_of(db, "GoldAggregate", H23) == day_1  # rebuilt by the day's own run
    rebuilt = marker_of(db, "GoldAggregate", H00)
    assert rebuilt is not None and rebuilt.startswith("DayPipeline")  # the backfill's round 2
    assert gold_rows(db) == _gold_of(final, [H22, H23, H00], fresh_database, tmp_path)


def test_change_lock_modes_and_what_is_held(db, warehouse):
    d1, d2, d3 = (dt(2022, 4, day) for day in (1, 2, 3))
    with transaction() as connection, connection.cursor() as cursor:
        locks.lock_days_for_change(
            cursor, [d1, d2 + timedelta(hours=5)], exclusive=False, exclusive_moments=[d2, d3]
        )
        assert locks.held_exclusively(cursor, [d1, d2, d3]) == {d2, d3}
        other = psycopg2.connect(warehouse)
        try:
            with other.cursor() as probe:
                key = "select pg_try_advisory_xact_lock{}(hashtext(%s), %s)"
                for mode, day, granted in (
                    ("_shared", d1, True),
                    ("", d1, False),
                    ("_shared", d2, False),
                ):
                    probe.execute(key.format(mode), (locks.CHANGE_LOCK, day.toordinal()))
                    assert probe.fetchone() == (granted,), (mode, day)
            other.rollback()
        finally:
            other.close()


def test_a_foreign_day_waits_for_its_tasks_in_flight(db, warehouse):
    """The silver run that moves a row out of the next day takes that day's change lock
    exclusively: it waits for a task holding it shared (as a gold task of that day would)."""
    late = Copy(X, H00 + timedelta(minutes=20), "U2", "PriceInUSD=7.00", "b.csv", 4)
    load_all([late], [H23, H00])
    assert run([GoldAggregate(hour=H23), GoldAggregate(hour=H00)])
    early = Copy(X, H23 + timedelta(minutes=50), "U1", "PriceInUSD=1.00", "a.csv", 2)
    load_purchases(early.interval_start, [early])

    holder = psycopg2.connect(warehouse)
    holder_pid = holder.get_backend_pid()
    with holder.cursor() as cursor:
        cursor.execute(
            "select pg_advisory_xact_lock_shared(hashtext(%s), %s)",
            (locks.CHANGE_LOCK, H00.toordinal()),
        )
    errors: list[BaseException] = []

    def build() -> None:
        try:
            SilverPurchases(interval=early.interval_start).run()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    worker = threading.Thread(target=build)
    worker.start()
    try:
        with db.cursor() as cursor:
            for _ in range(600):  # the run asks for the lock within moments; 60 s at most
                cursor.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                    " and mode = 'ExclusiveLock' and objid::bigint = %s and pid <> %s",
                    (H00.toordinal(), holder_pid),
                )
                if cursor.fetchone()[0]:
                    break
                cursor.execute("select pg_sleep(0.1)")
            else:
                pytest.fail("the silver run never asked for the foreign day's lock")
        assert worker.is_alive(), "it waits for the task in flight"
        assert marker_of(db, "GoldAggregate", H00) is not None
    finally:
        holder.rollback()
        holder.close()
        worker.join(timeout=120)
    assert not errors, errors
    assert marker_of(db, "GoldAggregate", H00) is None
    assert silver_by_id(db) == first_copies([early, late])


def test_a_day_found_under_the_locks_is_retried_with_them(db, monkeypatch):
    late = Copy(X, H23 + timedelta(minutes=10), "U2", "PriceInUSD=7.00", "b.csv", 4)
    load_all([late], [H22, H23])
    assert run([GoldAggregate(hour=H22), GoldAggregate(hour=H23)])
    early = copy(60, "a.csv", 2)
    load_purchases(early.interval_start, [early])
    # As if the early copy had arrived after prepare() looked: no day to take exclusively.
    monkeypatch.setattr(SilverPurchases, "prepare", lambda self, starts: frozenset())
    tries: list[BaseException | None] = []
    write = SilverPurchases.write

    def counted(self, cursor, starts, prepared):
        try:
            written = write(self, cursor, starts, prepared)
        except locks.ExclusiveDaysNeeded as needed:
            tries.append(needed)
            raise
        tries.append(None)
        return written

    monkeypatch.setattr(SilverPurchases, "write", counted)
    SilverPurchases(interval=early.interval_start).run()
    assert [str(t) if t else t for t in tries] == [
        "needs the change lock of 2022-04-01 exclusively",
        None,
    ]
    assert silver_by_id(db) == first_copies([early, late])
    assert marker_of(db, "GoldAggregate", H23) is None


def test_contention_that_never_ends_fails_writing_nothing(db, monkeypatch):
    late = Copy(X, H23 + timedelta(minutes=10), "U2", "PriceInUSD=7.00", "b.csv", 4)
    load_all([late], [H22, H23])
    assert run([GoldAggregate(hour=H22), GoldAggregate(hour=H23)])
    early = copy(60, "a.csv", 2)
    load_purchases(early.interval_start, [early])
    before = silver(db)
    monkeypatch.setattr(silver_tasks, "held_exclusively", lambda cursor, days: set())
    with pytest.raises(base.LockContentionError, match="5 attempts"):
        SilverPurchases(interval=early.interval_start).run()
    assert silver(db) == before
    assert marker_of(db, "SilverPurchases", early.interval_start) is None
    assert marker_of(db, "GoldAggregate", H23) is not None


def test_staged_changes_another_transaction_overtook_are_refused(db, warehouse):
    first = copy(3, "a.csv", 2)
    load_all([first], [H22])
    refused = pytest.raises(models.ConcurrentChangeError, match="staged 1 insert")
    with refused, transaction() as connection, connection.cursor() as cursor:
        staged = models.stage_changes(cursor, models.SILVER_PURCHASES, [H22])
        assert (staged.inserted, staged.intervals) == (1, frozenset({H22}))
        other = psycopg2.connect(warehouse)  # files the transaction first, and commits
        with other, other.cursor() as insert:
            insert.execute(
                "insert into silver.silver_purchases (transaction_id, event_time, app_hour,"
                " interval_start, user_id, revenue, source_path, source_sha256,"
                " source_sheet, source_row, source_copies)"
                " values (%s, %s, %s, %s, 'U9', 9, 'x.csv', 'x', 'Purchases', 1, 1)",
                (X, first.event_time, H22, H22),
            )
        other.close()
        models.apply_changes(cursor, models.SILVER_PURCHASES, staged)
    assert [row[4] for row in silver(db)] == ["U9"]  # the run wrote nothing of its own
