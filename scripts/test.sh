#!/usr/bin/env bash
# The whole test suite, as CI runs it: a fresh virtualenv with the package installed from
# this checkout (not editable), ruff, then pytest against a real PostgreSQL (the embedded one,
# or PLAYSTUDIO_TEST_DSN when set). Extra arguments go to pytest, e.g. `-m "not e2e"`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The data-docs test opens the site in Debian's Chromium (driven by Playwright, which downloads
# no browser). As root (CI) install it when missing; otherwise that test fails and says how.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium (apt-get) for the data-docs browser test" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

venv="${PLAYSTUDIO_TEST_VENV:-.venv-test}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check ".[test]"
bin="$(cd "$venv/bin" && pwd)"

# The installed package must be self-contained: SQL and defaults inside it, run from elsewhere.
(cd /tmp && "$bin/python" - <<'PY'
import pathlib, sys
import playstudio_luigi
from playstudio_luigi.db.sql import render
from luigi.configuration import get_config
where = pathlib.Path(playstudio_luigi.__file__).resolve()
assert "site-packages" in where.parts, f"not the installed package: {where}"
assert "aggregated_final_table" in render("migrations/0001_baseline.sql")
assert get_config().getint("retcode", "task_failed") == 30
from importlib.resources import files
from playstudio_luigi.datadocs.site import PAGES
templates = files("playstudio_luigi.datadocs") / "templates"
assert all((templates / page).is_file() for page, _ in PAGES), "data-docs templates missing"
assert (templates / "style.css").is_file()
print(f"installed package OK: {where.parent}")
PY
)

"$bin/ruff" check playstudio_luigi tests bench scripts
"$bin/ruff" format --check playstudio_luigi tests bench scripts
exec "$bin/pytest" "$@"
