"""The whitespace validation trims: what SQL must trim too, so that it reads values as
validation accepted them.

Validation strips every text cell with Arrow's ``utf8_trim_whitespace`` (pandas' ``str.strip``
on Arrow strings), which removes the characters Python's ``str.isspace`` calls whitespace: the
same 29 code points, ASCII and Unicode. SQL's ``btrim(text)`` removes spaces only, so silver
trims with ``ops.trimmed(text)`` (migration 0009), which removes exactly :data:`WHITESPACE`.
``tests/unit/test_whitespace.py`` holds this set to Python's and Arrow's, and
``tests/integration/test_model_columns.py`` holds ``ops.trimmed`` to it.
"""

from __future__ import annotations

#: Every character ``str.isspace`` and Arrow's trim treat as whitespace, as one string.
WHITESPACE = "".join(
    chr(code)
    for code in (
        *range(0x09, 0x0E),  # tab, line feed, vertical tab, form feed, carriage return
        *range(0x1C, 0x20),  # file, group, record and unit separators
        0x20,
        0x85,  # next line
        0xA0,  # no-break space
        0x1680,
        *range(0x2000, 0x200B),  # en quad .. hair space
        0x2028,  # line separator
        0x2029,  # paragraph separator
        0x202F,  # narrow no-break space
        0x205F,
        0x3000,  # ideographic space
    )
)
