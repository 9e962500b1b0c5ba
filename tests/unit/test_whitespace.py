"""The whitespace SQL trims with is exactly what validation strips."""

import sys

import pyarrow as pa
import pyarrow.compute as pc

from playstudio_luigi.quality.whitespace import WHITESPACE

CODE_POINTS = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


def test_whitespace_is_what_python_calls_whitespace():
    assert set(WHITESPACE) == {chr(c) for c in CODE_POINTS if chr(c).isspace()}


def test_whitespace_is_what_arrows_trim_removes():
    padded = pa.array(["a" + chr(c) for c in CODE_POINTS])
    trimmed = pc.utf8_trim_whitespace(padded)
    removed = pc.invert(pc.equal(padded, trimmed)).to_pylist()
    assert set(WHITESPACE) == {chr(c) for c, gone in zip(CODE_POINTS, removed, strict=True) if gone}
