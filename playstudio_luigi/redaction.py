"""Keeping secrets out of output: database passwords never appear in what we print or log."""

from __future__ import annotations

import re

# postgresql://user:password@host/db  ->  postgresql://user:***@host/db
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)(?=@)")
# key/value DSNs and libpq messages: password=secret
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|\S+)", re.IGNORECASE)


def redact_dsn(text: str) -> str:
    """Replace every password in URLs and ``password=`` pairs within ``text`` by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***" if m["secret"] else m[0], text)
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}***", text)
