"""What a target sends, made safe to print: a terminal, a CI log, JUnit XML and JSON see no raw control bytes.

A hostile target can put ESC sequences (colours, cursor moves, a rewritten title bar, a fake
"passed" line), NUL bytes or bidirectional overrides in its bodies, headers and status texts.
Every target-controlled string goes through `printable` before it reaches a message; the
reporters apply it once more at their outlets, so nothing depends on one place remembering.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

# Kept as they are when `keep_newlines` (a multi-line message of the suite's own layout).
_LAYOUT = frozenset("\n")


def _escaped(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control or format character (C0, DEL, C1, bidi overrides, ...) written as `\\xNN`.

    Tabs become spaces; newlines are kept only with `keep_newlines`. Printable text, non-ASCII
    letters included, is left alone.
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif char == "\t" or char == " ":
            out.append(" ")
        elif keep_newlines and char in _LAYOUT:
            out.append(char)
        elif unicodedata.category(char) in ("Zs",):
            out.append(" ")
        else:
            out.append(_escaped(char))
    return "".join(out)
