"""Plain-text tables for the terminal, measured in columns: a Hangul character (or
any East Asian wide one) takes two, so Korean tables line up as English ones do."""

from __future__ import annotations

import unicodedata


def points(earned: float, possible: float) -> str:
    return f"{earned:g}/{possible:g}"


def columns_of(text: str) -> int:
    """The columns `text` takes in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * (columns - columns_of(text))


def wrapped(text: str, columns: int) -> list[str]:
    """Whole words only: a name or a shape is never split across lines. A text of
    several lines keeps them, each wrapped on its own under its indentation."""
    if "\n" in text.strip():
        return [
            part
            for paragraph in text.strip().splitlines()
            for part in _indented(paragraph, columns)
        ]
    lines, line = [], ""
    for word in text.split():
        if line and columns_of(line) + 1 + columns_of(word) > columns:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line or not lines else lines


def _indented(paragraph: str, columns: int) -> list[str]:
    indent = paragraph[: len(paragraph) - len(paragraph.lstrip())]
    room = max(10, columns - columns_of(indent))
    return [indent + line for line in wrapped(paragraph, room)]


def cut(text: str, columns: int) -> str:
    """`text` on one line of at most `columns` (a text of several lines: its first,
    marked cut)."""
    if "\n" in text.strip():
        text = text.strip().splitlines()[0] + " …"
    if columns_of(text) <= columns:
        return text
    while columns_of(text) > columns - 1:
        text = text[:-1]
    return text + "…"


def render(
    header: tuple[str, ...], rows: list[tuple], width: int = 100, wrap: bool = False
) -> str:
    """Left-aligned columns. The last column is cut to fit `width`, or with `wrap`
    continued on the next lines, under itself, so nothing of it is lost."""
    cells = [tuple(str(v) for v in row) for row in [header, *rows]]
    widths = [max(columns_of(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = []
    for row in cells:
        left = "  ".join(pad(v, w) for v, w in zip(row[:-1], widths, strict=False))
        room = max(20, width - columns_of(left) - 2)
        parts = wrapped(row[-1], room) if wrap else [cut(row[-1], room)]
        lines.append(f"{left}  {parts[0]}".rstrip())
        lines.extend(" " * (columns_of(left) + 2) + part for part in parts[1:])
    return "\n".join(lines)
