"""Data docs: a static HTML site with lineage, table reference, quality, coverage and charts.

``playstudio-luigi docs --out DIR`` calls :func:`build_site`; everything shown is read from the
code (task graph, checks) and the warehouse (catalog, comments, results) when the site is built.
"""

from playstudio_luigi.datadocs.site import build_site

__all__ = ["build_site"]
