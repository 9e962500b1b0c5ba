#!/usr/bin/env bash
# The whole test suite, as CI runs it: a fresh virtualenv with the package installed from
# this checkout (not editable), ruff, then pytest against a real PostgreSQL (the embedded one,
# or PLAYSTUDIO_TEST_DSN when set). Extra arguments go to pytest, e.g. `-m "not e2e"`.
set -euo pipefail
cd "$(dirname "$0")/.."

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
assert "aggregated_final_table" in render("gold/aggregated_final_table.sql")
assert get_config().getint("retcode", "task_failed") == 30
print(f"installed package OK: {where.parent}")
PY
)

"$bin/ruff" check playstudio_luigi tests bench
"$bin/ruff" format --check playstudio_luigi tests bench
exec "$bin/pytest" "$@"
