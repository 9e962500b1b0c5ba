"""The one error the embedded server raises."""

from __future__ import annotations


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up, started or stopped, or is not running."""
