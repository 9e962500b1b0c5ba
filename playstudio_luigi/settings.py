"""Packaged default configuration, loaded below the user's own ``luigi.cfg``."""

from __future__ import annotations

from importlib.resources import files

from luigi.configuration import LuigiConfigParser

DEFAULT_CONFIG_PATH = str(files("playstudio_luigi") / "default.cfg")


def load_packaged_defaults() -> None:
    """Put the packaged ``default.cfg`` first in Luigi's config search path and re-read it.

    Luigi reads its paths in order and later files win, so our defaults sit below
    ``/etc/luigi/luigi.cfg``, ``./luigi.cfg`` and ``LUIGI_CONFIG_PATH``.
    """
    paths = LuigiConfigParser._config_paths
    if DEFAULT_CONFIG_PATH not in paths:
        paths.insert(0, DEFAULT_CONFIG_PATH)
        LuigiConfigParser.reload()
