"""Every change operation at once, on a source that changes underneath, then one clean finish.

Per trial and source kind (one workbook re-written in place; a folder of export files, some
added, corrected or removed), on a database of its own: two of each of backfill (a third of
them full refreshes), the 5-minute cron job, the hourly cron job, Luigi's Range tools
(RangeHourly, RangeByMinutes), reconcile and invalidate (random layer and range) run as real
processes in a loop
with random pauses, half of them as "machine A" and half as "machine B" (two homes: two parse
caches), while the export is re-written twice (corrections, deletions, late rows, rows moving
to other row numbers). When the chaos is over, one reconcile and one backfill finish the job;
then every table (bronze, silver, gold, quarantine, interval loads, markers) must equal one
clean run over the final export, and no invariant may be broken. No process of the chaos may
have died of a deadlock or of a duplicate key.

Trials: ``PLAYSTUDIO_STRESS_TRIALS`` (default 2, what CI runs), each with
``PLAYSTUDIO_STRESS_SECONDS`` of chaos (default 20). Trial *i* is seeded with
``PLAYSTUDIO_STRESS_SEED + i`` (default: today's date, UTC); a failure prints its seed and the
story of the trial, and ``PLAYSTUDIO_STRESS_SEED=<seed> PLAYSTUDIO_STRESS_TRIALS=1`` replays
its choices (not its timing). ``PLAYSTUDIO_STRESS_REPORT=<file>`` appends each trial's
operations and exit codes to that file (one JSON line per trial). On demand (README,
Reliability):
``PLAYSTUDIO_STRESS_TRIALS=50 .venv/bin/pytest tests/integration/test_change_stress.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faults import (
    broken_invariants,
    cli,
    cli_env,
    connected,
    differences,
    run_cli,
    scratch_cwd,
    scratch_database,
    snapshot,
    without_hashes,
)
from source_rows import tx

from playstudio_luigi.testing import write_workbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRIALS = int(os.environ.get("PLAYSTUDIO_STRESS_TRIALS", "2"))
CHAOS_SECONDS = float(os.environ.get("PLAYSTUDIO_STRESS_SECONDS", "20"))
BASE_SEED = int(os.environ.get("PLAYSTUDIO_STRESS_SEED", datetime.now(UTC).strftime("%Y%m%d")))

#: Three hours across midnight: two days, so day locks of both days are in play.
START = datetime(2022, 4, 1, 23)
HOURS = [START + timedelta(hours=h) for h in range(3)]
STOP = HOURS[-1] + timedelta(hours=1)
SPAN = ["--start", f"{START:%Y-%m-%dT%H}", "--stop", f"{STOP:%Y-%m-%dT%H}"]
USERS = [f"U{n:02d}" for n in range(12)]
COUNTRIES = ["US", "CA", "GB"]


def export_versions() -> list[tuple[list[tuple], list[tuple]]]:
    """(purchases, spins) of three successive exports of the same three hours."""
    rng = random.Random(14)
    purchases = []
    for n in range(360):
        when = START + timedelta(seconds=rng.randrange(3 * 3600))
        purchases.append((when, rng.choice(USERS), f"PriceInUSD={rng.choice([0.99, 4.99])}", tx(n)))
    purchases += [purchases[5], purchases[17]]  # exact duplicates
    purchases.append((START + timedelta(minutes=3), "U01", "PriceInEUR=1.00", tx(900)))  # bad
    purchases.append((START + timedelta(minutes=64), "U02", "oops", tx(901)))  # bad
    spins = [
        (hour, user, rng.choice(COUNTRIES), rng.randrange(1, 40))
        for hour in HOURS
        for user in USERS
        if rng.random() < 0.8
    ]
    first = (purchases, spins)
    # Second export: corrections, deletions, late rows (rows after them move down).
    corrected = [
        (when, user, "PriceInUSD=2.49", key) if n % 37 == 0 else (when, user, revenue, key)
        for n, (when, user, revenue, key) in enumerate(purchases)
        if n % 53 != 1
    ]
    late = [
        (
            START + timedelta(seconds=rng.randrange(3 * 3600)),
            rng.choice(USERS),
            "PriceInUSD=9.99",
            tx(n),
        )
        for n in range(1000, 1020)
    ]
    second = ([*late[:10], *corrected], [*spins[:-3], (HOURS[0], "U99", "US", 7)])
    # Third: more late rows, one conflicting duplicate, spins corrected.
    conflicting = (corrected[3][0], corrected[3][1], "PriceInUSD=0.50", corrected[3][3])
    third = (
        [*corrected[:100], conflicting, *late, *corrected[100:]],
        [(h, u, c, s + 1 if s % 5 == 0 else s) for h, u, c, s in second[1]],
    )
    return [first, second, third]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The three exports, written once: every trial and the clean run see the same bytes
    (a workbook written twice differs in its timestamps, hence in its content hash)."""
    where = tmp_path_factory.mktemp("stress-exports")
    return [
        write_workbook(where / f"v{number}.xlsx", *version)
        for number, version in enumerate(export_versions(), 1)
    ]


def as_feed(purchases: list[tuple], spins: list[tuple]) -> dict[str, tuple[list, list]]:
    """One export's rows as a feed: purchases one file per half hour, spins one per hour."""
    files: dict[str, tuple[list, list]] = {}
    for row in purchases:
        start = row[0].replace(minute=row[0].minute - row[0].minute % 30, second=0)
        files.setdefault(f"{start:%Y-%m-%d}/purchases-{start:%H%M}.xlsx", ([], []))[0].append(row)
    for row in spins:
        files.setdefault(f"{row[0]:%Y-%m-%d}/spins-{row[0]:%H}.xlsx", ([], []))[1].append(row)
    return files


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The three exports as folders of files, written once; a file whose rows did not change
    from one version to the next is the same file (same bytes), as a backend leaves it."""
    where = tmp_path_factory.mktemp("stress-feeds")
    folders, written = [], {}
    for number, version in enumerate(export_versions(), 1):
        folder = where / f"v{number}"
        for name, (purchases, spins) in as_feed(*version).items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            key = (name, repr((purchases, spins)))
            if key in written:
                shutil.copyfile(written[key], target)
                continue
            sheets = ("Purchases" if purchases else "", "Spins Hourly" if spins else "")
            written[key] = write_workbook(target, purchases, spins, sheets=sheets)
        folders.append(folder)
    return folders


def put_feed(version: Path, folder: Path) -> None:
    """Bring the feed ``folder`` to ``version``: new and changed files written (beside, then
    renamed), files the version no longer has removed, unchanged ones left alone."""
    wanted = {p.relative_to(version) for p in version.rglob("*.xlsx")}
    for name in sorted(wanted):
        target = folder / name
        if not target.exists() or target.read_bytes() != (version / name).read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            put_export(version / name, target)
    for present in sorted(folder.rglob("*.xlsx")):
        if present.relative_to(folder) not in wanted:
            present.unlink()


def put_export(version: Path, path: Path) -> None:
    """Replace the export at ``path`` as the game backend does: write beside it, rename."""
    staged = path.with_name(f".{path.name}.tmp")
    shutil.copyfile(version, staged)
    os.replace(staged, path)


@pytest.fixture(scope="module", params=["workbook", "feed"])
def kind(request: pytest.FixtureRequest) -> str:
    """The source: one workbook re-written in place, or a folder of export files."""
    return request.param


@pytest.fixture(scope="module")
def clean_final(
    pg_admin_url: str,
    exports: list[Path],
    feeds: list[Path],
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    """Snapshot of one clean backfill over the final export."""
    where = tmp_path_factory.mktemp("stress-clean")
    final = exports[-1] if kind == "workbook" else feeds[-1]
    with scratch_database(pg_admin_url) as dsn:
        env = cli_env(dsn=dsn, home=where / "home", source=final)
        outcome = run_cli(cli("backfill", *SPAN), env)
        assert outcome.returncode == 0, outcome.stderr[-3000:]
        with connected(dsn) as connection:
            assert broken_invariants(connection) == {}
            return snapshot(connection)


def luigi_cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "luigi"), "--module", "playstudio_luigi", *args]


def random_hour(rng: random.Random) -> datetime:
    return rng.choice(HOURS)


def operations(rng: random.Random) -> dict[str, Callable[[], list[str]]]:
    """Each kind of actor: a function choosing its next command."""

    def five_minute() -> list[str]:
        start = random_hour(rng) + timedelta(minutes=5 * rng.randrange(12))
        return luigi_cli(
            "FiveMinutePipeline", "--interval", f"{start:%Y-%m-%dT%H%M}", "--local-scheduler"
        )

    def hourly() -> list[str]:
        hour = random_hour(rng)
        return luigi_cli("HourlyPipeline", "--hour", f"{hour:%Y-%m-%dT%H}", "--local-scheduler")

    def invalidate() -> list[str]:
        first = rng.randrange(len(HOURS))
        last = rng.randrange(first, len(HOURS)) + 1
        layer = rng.choice(["bronze", "silver", "gold"])
        span = [
            "--start",
            f"{HOURS[first]:%Y-%m-%dT%H}",
            "--stop",
            f"{START + timedelta(hours=last):%Y-%m-%dT%H}",
        ]
        return cli("invalidate", *span, "--layer", layer)

    def backfill() -> list[str]:
        refresh = ["--full-refresh"] if rng.random() < 0.3 else []
        return cli("backfill", *SPAN, *refresh, "--workers", str(rng.choice([1, 2])))

    def range_tool() -> list[str]:
        # Look-back windows wide enough to reach 2022 from today.
        if rng.random() < 0.5:
            return luigi_cli(
                "RangeHourly",
                "--of",
                "HourlyPipeline",
                *SPAN,
                "--hours-back",
                "100000",
                "--local-scheduler",
            )
        return luigi_cli(
            "RangeByMinutes",
            "--of",
            "FiveMinutePipeline",
            "--minutes-interval",
            "5",
            "--start",
            f"{START:%Y-%m-%dT%H%M}",
            "--stop",
            f"{STOP:%Y-%m-%dT%H%M}",
            "--minutes-back",
            "6000000",
            "--local-scheduler",
        )

    return {
        "backfill": backfill,
        "range": range_tool,
        "five-minute": five_minute,
        "hourly": hourly,
        "reconcile": lambda: cli("reconcile", *SPAN),
        "invalidate": invalidate,
    }


FATAL = ("deadlock detected", "UniqueViolation", "duplicate key value")


@pytest.mark.parametrize("trial", range(TRIALS), ids=lambda i: f"seed{BASE_SEED + i}")
def test_every_change_operation_at_once_ends_equal_to_one_clean_run(
    trial: int,
    kind: str,
    pg_admin_url: str,
    exports: list[Path],
    feeds: list[Path],
    clean_final: dict,
    tmp_path: Path,
) -> None:
    seed = BASE_SEED + trial
    rng = random.Random(seed)
    story: list[str] = [f"seed {seed}, source: {kind}"]
    if kind == "workbook":
        source = tmp_path / "export.xlsx"
        versions, put = exports, put_export
    else:
        source = tmp_path / "exports"
        versions, put = feeds, put_feed
    put(versions[0], source)
    with scratch_database(pg_admin_url) as dsn:
        envs = [
            cli_env(dsn=dsn, home=tmp_path / machine / "home", source=source) for machine in "AB"
        ]
        for env in envs:
            Path(env["PLAYSTUDIO_HOME"]).parent.mkdir(parents=True)
        deadline = time.monotonic() + CHAOS_SECONDS
        outcomes: list[tuple[str, list[str], int, str]] = []
        lock = threading.Lock()

        def actor(kind: str, choose: Callable[[], list[str]], env: dict, pause: float) -> None:
            while time.monotonic() < deadline:
                time.sleep(pause * rng.random())
                args = choose()
                outcome = run_cli(args, env, timeout=600)
                with lock:
                    outcomes.append((kind, args[1:], outcome.returncode, outcome.stderr))

        chooser = operations(rng)
        pauses = {
            "range": 3.0,
            "backfill": 2.0,
            "five-minute": 0.5,
            "hourly": 1.0,
            "reconcile": 3.0,
            "invalidate": 2.0,
        }
        threads = [
            threading.Thread(
                target=actor, args=(kind, chooser[kind], env, pauses[kind]), daemon=True
            )
            for kind in chooser
            for env in envs
        ]
        for thread in threads:
            thread.start()
        # The export is re-written twice during the chaos, at random moments.
        for number, moment in enumerate(sorted(rng.uniform(0.1, 0.7) for _ in range(2)), 1):
            time.sleep(
                max(0.0, deadline - CHAOS_SECONDS + moment * CHAOS_SECONDS - time.monotonic())
            )
            put(versions[number], source)
            story.append(f"export version {number + 1} at {moment:.0%} of the chaos")
        for thread in threads:
            thread.join(timeout=900)
        assert not any(thread.is_alive() for thread in threads), "an actor never finished"
        for kind, args, code, _ in outcomes:
            story.append(f"{kind} {' '.join(args[-6:])}: exit {code}")
        if report := os.environ.get("PLAYSTUDIO_STRESS_REPORT"):
            with open(report, "a") as sink:  # one JSON line per trial, for README's figures
                counts = Counter(f"{kind} exit {code}" for kind, _, code, _ in outcomes)
                errors = Counter(
                    name
                    for _, _, code, text in outcomes
                    if code
                    for name in set(re.findall(r"\b([A-Z]\w+(?:Error|Exception))\b", text))
                )
                record = {"seed": seed, "operations": counts, "errors": errors}
                sink.write(json.dumps(record) + "\n")
        fatal = [
            (kind, text[-1500:]) for kind, _, _, text in outcomes if any(f in text for f in FATAL)
        ]
        assert fatal == [], "\n".join(story)

        # The finish: what cron's reconcile and the nightly backfill would do.
        for args in (cli("reconcile", *SPAN), cli("backfill", *SPAN)):
            outcome = run_cli(args, envs[0])
            assert outcome.returncode == 0, "\n".join([*story, outcome.stderr[-3000:]])
        # Nothing left that differs from the source now (an interval whose rows are the same in
        # a newer version of its file keeps naming the version it was loaded from: compared
        # without the hashes, everything else equal to a clean run).
        again = subprocess.run(
            cli("reconcile", *SPAN),
            env=envs[0],
            cwd=scratch_cwd(envs[0]),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert again.returncode == 0 and " 0 changed" in again.stdout, again.stdout[-2000:]
        with connected(dsn) as connection:
            assert broken_invariants(connection) == {}, "\n".join(story)
            found = differences(without_hashes(snapshot(connection)), without_hashes(clean_final))
            assert found == {}, "\n".join([*story, *(f"{t}: {d}" for t, d in found.items())])
