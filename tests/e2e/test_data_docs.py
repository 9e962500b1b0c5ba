"""``playstudio-luigi docs`` on a warehouse loaded from the bundled sample, opened in Chromium.

A few hours of the sample, plus one hour of a workbook with bad rows (quarantine) and one of a
workbook missing a column (a failed hour), are loaded; the site is built by the command a user
types and opened in headless Chromium (Debian's ``chromium``, driven by Playwright). Every page
must load without a console error or a request leaving the site, show its lineage and charts,
and show the numbers the database holds.

Chromium is required: when it is missing the test fails, it does not skip (``scripts/test.sh``
installs it as root).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from playstudio_luigi.db.connection import connect
from playstudio_luigi.operations.backfill import run_backfill
from playstudio_luigi.testing import write_workbook
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM = Path(os.environ.get("PLAYSTUDIO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ("index", "lineage", "tables", "quality", "coverage", "business")
START, STOP = datetime(2022, 4, 1, 22), datetime(2022, 4, 2, 8)
SAMPLE_STOP = datetime(2022, 4, 2, 1)  # the sample's hours: [START, SAMPLE_STOP)
BAD_ROWS_HOUR = datetime(2022, 4, 2, 5)
FAILED_HOUR = datetime(2022, 4, 2, 7)


def _bad_rows_workbook(path: Path) -> Path:
    at = BAD_ROWS_HOUR.replace
    good = [
        (at(minute=m, second=7), f"QQ{m:02d}", "PriceInUSD=1.99", str(uuid.UUID(int=m + 1)))
        for m in (1, 12, 33, 47)
    ]
    bad = [
        (at(minute=3), "QQ03", "PriceInUSD=abc", str(uuid.UUID(int=100))),
        (at(minute=8), "has space", "PriceInUSD=2.99", "not-a-uuid"),
        (at(minute=21), "QQ21", "PriceInXYZ=3.00", str(uuid.UUID(int=101))),
    ]
    spins = [
        (BAD_ROWS_HOUR, "QQ01", "US", 12.4),
        (BAD_ROWS_HOUR, "QQ12", "CA", 3),
        (BAD_ROWS_HOUR, "QQ33", "usa", 5),
        (BAD_ROWS_HOUR, "QQ47", "DE", -2),
    ]
    return write_workbook(path, good + bad, spins)


def _missing_column_workbook(path: Path) -> Path:
    purchases = [(FAILED_HOUR.replace(minute=4), "QQ90", "PriceInUSD=1.00")]
    return write_workbook(
        path,
        purchases,
        [(FAILED_HOUR, "QQ90", "US", 1)],
        purchase_header=("date", "userId", "revenue"),
    )


@pytest.fixture(scope="module")
def site(fresh_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A warehouse loaded as the module docstring says, and its data docs (by the CLI)."""
    tmp = tmp_path_factory.mktemp("docs")
    with (
        fresh_database(tmp / "home"),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("PLAYSTUDIO_SOURCE", str(BUNDLED_SAMPLE))
        assert run_backfill(START, SAMPLE_STOP)
        patch.setenv("PLAYSTUDIO_SOURCE", str(_bad_rows_workbook(tmp / "bad_rows.xlsx")))
        assert run_backfill(BAD_ROWS_HOUR, BAD_ROWS_HOUR.replace(hour=6))
        patch.setenv("PLAYSTUDIO_SOURCE", str(_missing_column_workbook(tmp / "no_column.xlsx")))
        assert not run_backfill(FAILED_HOUR, FAILED_HOUR.replace(hour=8))

        out = tmp / "site"
        result = _docs_command(
            out, "--start", f"{START:%Y-%m-%dT%H}", "--stop", f"{STOP:%Y-%m-%dT%H}"
        )
        assert f"data docs for [{START:%Y-%m-%dT%H}, {STOP:%Y-%m-%dT%H})" in result.stdout
        yield out


def _docs_command(out: Path, *args: str) -> subprocess.CompletedProcess:
    """``playstudio-luigi docs --out OUT ARGS`` as a user runs it (``PLAYSTUDIO_DSN`` is set)."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "playstudio-luigi"), "docs", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_without_a_range_the_site_covers_every_loaded_hour(site: Path):
    result = _docs_command(site.parent / "site-all")
    # From the first loaded hour to the hour after the last with any completed task.
    assert f"data docs for [{START:%Y-%m-%dT%H}, {STOP:%Y-%m-%dT%H})" in result.stdout
    assert (site.parent / "site-all" / "business.html").is_file()


@pytest.fixture(scope="module")
def browser(site: Path) -> Iterator:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} not found: install Debian's chromium "
        "(apt-get install --no-install-recommends chromium; scripts/test.sh does it as root)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(site.parent / "chromium-profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Visit:
    """One page opened in the browser, with the problems seen while loading it."""

    def __init__(self, context, site: Path, page: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        root = site.resolve().as_uri() + "/"

        def route(route) -> None:
            if route.request.url.startswith(root):
                route.continue_()
            else:  # never let it leave: record and refuse
                self.outside.append(route.request.url)
                route.abort()

        self.page.route("**/*", route)
        response = self.page.goto(f"{root}{page}.html")
        assert response is not None and response.ok
        self.page.wait_for_load_state("load")

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def values(self, selector: str, attribute: str) -> list[str]:
        return self.page.eval_on_selector_all(
            selector, f"(nodes) => nodes.map(n => n.getAttribute({attribute!r}))"
        )

    def value(self, selector: str, attribute: str = "data-value") -> str:
        found = self.values(selector, attribute)
        assert len(found) == 1, (selector, found)
        return found[0]


@pytest.fixture(scope="module")
def pages(browser, site: Path) -> dict[str, Visit]:
    return {page: Visit(browser, site, page) for page in PAGES}


@pytest.fixture(scope="module")
def conn(site: Path) -> Iterator[psycopg2.extensions.connection]:
    connection = connect()
    connection.autocommit = True
    yield connection
    connection.close()


def _one(conn, query: str, *params):
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def test_every_page_loads_without_errors_or_outside_requests(pages):
    for name, visit in pages.items():
        assert visit.errors == [], name
        assert visit.outside == [], name
        assert visit.page.title().endswith("playstudio_luigi data docs"), name
        links = visit.values("a[href]", "href")
        assert all(not link.startswith(("http:", "https:", "//")) for link in links), name
        ids = visit.values("[id]", "id")
        assert len(ids) == len(set(ids)), name
    # The browser saw the whole site: nothing fetched, no script needed.
    html = "".join(v.page.content() for v in pages.values())
    assert " src=" not in html and "<link" not in html and "<script" not in html


def test_lineage_is_drawn_from_the_task_graph(pages):
    lineage = pages["lineage"]
    tasks = lineage.page.locator('[data-lineage="tasks"] svg.graph')
    assert tasks.count() == 1 and tasks.first.is_visible()
    families = lineage.values('[data-lineage="tasks"] g.node', "data-kind")
    # the pipeline, gold, and 13 chains of four tasks, each from the source covering it
    assert len(families) == 67 and families.count("SourceCovers") == 13
    assert families.count("SilverPurchases") == 12 and families.count("GoldAggregate") == 1
    assert lineage.values('[data-lineage="tasks"] path.edge', "data-to").count("") == 0
    tables = lineage.values('[data-lineage="tables"] g.node', "data-node")
    assert {"sheet:Purchases", "bronze.bronze_purchases", "gold.aggregated_final_table"} <= set(
        tables
    )
    index = pages["index"]
    assert index.page.locator("svg.graph g.node").count() == len(tables)


def test_headline_numbers_equal_the_database(pages, conn):
    index = pages["index"]
    revenue, purchases, spins, users, rows = _one(
        conn,
        "select sum(total_revenue_hourly), sum(amount_purchases_hourly),"
        " sum(total_spins_hourly), count(distinct user_id), count(*)"
        " from gold.aggregated_final_table where app_hour >= %s and app_hour < %s",
        START,
        STOP,
    )
    assert Decimal(index.value('[data-metric="revenue"]')) == revenue > 0
    assert int(index.value('[data-metric="purchases"]')) == purchases
    assert int(index.value('[data-metric="spins"]')) == spins
    assert int(index.value('[data-metric="users"]')) == users
    assert int(index.value('[data-metric="gold-rows"]')) == rows
    (gold_hours,) = _one(
        conn,
        "select count(*) from ops.task_markers where task_family = 'GoldAggregate'"
        " and interval_start >= %s and interval_start < %s",
        START,
        STOP,
    )
    assert int(index.value('[data-metric="gold-hours-done"]')) == gold_hours == 4
    (quarantined,) = _one(
        conn,
        "select count(*) from ops.quarantine where interval_start >= %s and interval_start < %s",
        START,
        STOP,
    )
    assert int(index.value('[data-metric="quarantined-rows"]')) == quarantined == 5


def test_business_charts_and_country_totals_equal_the_database(pages, conn):
    business = pages["business"]
    assert business.page.locator("svg.chart").count() == 3
    with conn.cursor() as cursor:
        cursor.execute(
            "select country, sum(total_revenue_hourly), sum(total_spins_hourly)"
            " from gold.aggregated_final_table where app_hour >= %s and app_hour < %s"
            " group by country",
            (START, STOP),
        )
        expected = {country: (revenue, spins) for country, revenue, spins in cursor.fetchall()}
        cursor.execute(
            "select to_char(app_hour, 'YYYY-MM-DD\"T\"HH24'), sum(total_revenue_hourly)"
            " from gold.aggregated_final_table where app_hour >= %s and app_hour < %s"
            " group by app_hour",
            (START, STOP),
        )
        per_hour = dict(cursor.fetchall())
    shown = {
        country: (Decimal(revenue), int(spins))
        for country, revenue, spins in zip(
            business.values("tr[data-country]", "data-country"),
            business.values("tr[data-country]", "data-revenue"),
            business.values("tr[data-country]", "data-spins"),
            strict=True,
        )
    }
    assert shown == expected
    # The revenue chart's stacked bars add up to gold's revenue per hour.
    revenue_chart = '[aria-label="hourly revenue by country"] rect.bar'
    drawn: dict[str, Decimal] = {}
    for hour, value in zip(
        business.values(revenue_chart, "data-hour"),
        business.values(revenue_chart, "data-value"),
        strict=True,
    ):
        drawn[hour] = drawn.get(hour, Decimal(0)) + Decimal(value)
    assert drawn == {hour: value for hour, value in per_hour.items() if value}
    (user_days,) = _one(
        conn,
        "select count(distinct (date_trunc('day', app_hour), user_id))"
        " from gold.aggregated_final_table where app_hour >= %s and app_hour < %s",
        START,
        STOP,
    )
    assert Decimal(business.value('[data-daily-stat="user-days"]')) == user_days
    bins = business.values('[aria-label="daily revenue per user (USD)"] rect.bar', "data-value")
    assert sum(map(int, bins)) == user_days


def test_quality_page_shows_checks_and_quarantine_as_stored(pages, conn):
    quality = pages["quality"]
    (gold_intervals,) = _one(
        conn,
        "select count(distinct judged) from ops.check_results,"
        " unnest(coalesce(interval_starts, array[interval_start])) as judged"
        " where layer = 'gold' and check_name = 'unique_key'"
        " and judged >= %s and judged < %s",
        START,
        STOP,
    )
    row = '[data-check="gold.unique_key"]'
    assert quality.value(row, "data-status") == "pass"
    # Every hour a gold run judged (a backfill's day checks its hours at once, each counts):
    # the sample's three hours and the bad-rows hour; not the runs (3: two days and an hour).
    assert int(quality.value(row, "data-intervals")) == gold_intervals == 4
    assert int(quality.value(row, "data-failing-rows")) == 0
    reasons = quality.values("[data-quarantine-reasons] tr[data-rows]", "data-rows")
    (reason_count,) = _one(
        conn,
        "select count(*) from ops.quarantine, unnest(reasons)"
        " where interval_start >= %s and interval_start < %s",
        START,
        STOP,
    )
    assert sum(map(int, reasons)) == reason_count >= 5
    samples = quality.values("[data-quarantine-samples] tr[data-sample-row]", "data-sample-row")
    assert len(samples) == 5  # 3 purchases and 2 spins, all within the sample limit
    trend = quality.values('[aria-label="quarantined rows per hour"] rect.bar', "data-value")
    assert sum(map(int, trend)) == 5


def test_coverage_heatmap_shows_done_missing_and_failed_hours(pages, conn):
    coverage = pages["coverage"]
    families = coverage.values("[data-coverage]", "data-coverage")
    assert families == [
        "LoadBronzePurchases",
        "LoadBronzeSpins",
        "SilverPurchases",
        "SilverSpins",
        "GoldAggregate",
    ]
    gold = '[data-coverage="GoldAggregate"]'
    assert int(coverage.value(gold, "data-done")) == 4
    assert int(coverage.value(gold, "data-expected")) == 10
    states = dict(
        zip(
            coverage.values(f"{gold} rect.cell", "data-hour"),
            coverage.values(f"{gold} rect.cell", "data-state"),
            strict=True,
        )
    )
    assert len(states) == 10
    assert states["2022-04-01T22"] == states["2022-04-02T05"] == "done"
    assert states["2022-04-02T07"] == "failed"
    assert states["2022-04-02T03"] == "missing"
    (failed_purchases,) = _one(
        conn,
        "select count(distinct interval_start) from ops.task_runs"
        " where task_family = 'ExtractPurchases' and status = 'failed'",
    )
    bronze = '[data-coverage="LoadBronzePurchases"]'
    assert int(coverage.value(bronze, "data-failed")) == failed_purchases == 12


def test_table_reference_comes_from_the_catalog(pages, conn):
    tables = pages["tables"]
    with conn.cursor() as cursor:
        cursor.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'gold' and table_name = 'aggregated_final_table'"
            " order by ordinal_position"
        )
        columns = [name for (name,) in cursor.fetchall()]
    gold = '[data-table="gold.aggregated_final_table"]'
    assert tables.values(f"{gold} tr[data-column]", "data-column") == columns
    assert tables.page.locator(f"{gold} [data-grain]").inner_text() == (
        "one row per (app_hour, user_id)"
    )
    assert "rounded half up" in tables.page.locator(gold).inner_text()
    assert tables.page.locator(f'{gold} a[href="quality.html#gold-unique_key"]').count() == 1


def test_index_page_screenshot(pages, site: Path):
    """The README's picture is this page; PLAYSTUDIO_DOCS_SCREENSHOT=path saves it there."""
    target = Path(os.environ.get("PLAYSTUDIO_DOCS_SCREENSHOT", site.parent / "index.png"))
    pages["index"].page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 20_000
