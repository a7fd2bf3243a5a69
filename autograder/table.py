"""Plain-text tables for the terminal."""

from __future__ import annotations


def points(earned: float, possible: float) -> str:
    return f"{earned:g}/{possible:g}"


def render(header: tuple[str, ...], rows: list[tuple], width: int = 100) -> str:
    """Left-aligned columns; the last column is cut to fit `width`."""
    cells = [tuple(str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = []
    for row in cells:
        left = "  ".join(v.ljust(w) for v, w in zip(row[:-1], widths, strict=False))
        room = max(20, width - len(left) - 2)
        last = row[-1] if len(row[-1]) <= room else row[-1][: room - 1] + "…"
        lines.append(f"{left}  {last}".rstrip())
    return "\n".join(lines)
