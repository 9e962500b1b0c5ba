"""What luigid shows of a running day: row counts summed from marker details, in the order a
row travels."""

from datetime import datetime

from playstudio_luigi.tasks.status_messages import row_totals, rows_summary


def test_row_totals_sum_the_row_counts_of_every_interval_and_nothing_else():
    details = {
        datetime(2022, 4, 1, 22, 0): {"sheet": "Purchases", "source_rows": 5, "bronze_rows": 4},
        datetime(2022, 4, 1, 22, 5): {"source_rows": 2, "bronze_rows": 2, "intervals": 1},
        datetime(2022, 4, 1, 22, 10): {"source_rows": 0, "complete": True, "slice_sha256": "x"},
    }
    assert row_totals(details) == {"source_rows": 7, "bronze_rows": 6}
    assert row_totals({}) == {}


def test_rows_summary_orders_counts_as_rows_travel():
    counts = {"LoadBronzePurchases": {"quarantined_rows": 1, "bronze_rows": 6, "source_rows": 7}}
    assert rows_summary(counts) == "LoadBronzePurchases: source 7, bronze 6, quarantined 1"
    assert rows_summary({}) == "no rows"
