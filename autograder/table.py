"""Plain-text tables for the terminal."""

from __future__ import annotations

import textwrap


def points(earned: float, possible: float) -> str:
    return f"{earned:g}/{possible:g}"


def render(
    header: tuple[str, ...], rows: list[tuple], width: int = 100, wrap: bool = False
) -> str:
    """Left-aligned columns. The last column is cut to fit `width`, or with `wrap`
    continued on the next lines, under itself, so nothing of it is lost."""
    cells = [tuple(str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = []
    for row in cells:
        left = "  ".join(v.ljust(w) for v, w in zip(row[:-1], widths, strict=False))
        room = max(20, width - len(left) - 2)
        if wrap:
            # Whole words only: a name or a shape is never split across lines.
            parts = textwrap.wrap(
                row[-1], room, break_long_words=False, break_on_hyphens=False
            ) or [""]
        else:
            parts = [row[-1] if len(row[-1]) <= room else row[-1][: room - 1] + "…"]
        lines.append(f"{left}  {parts[0]}".rstrip())
        lines.extend(" " * (len(left) + 2) + part for part in parts[1:])
    return "\n".join(lines)
