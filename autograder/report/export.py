"""The report's tables as files for spreadsheets and an LMS: one CSV per table
(`<table>.csv`, UTF-8 with a byte order mark so that spreadsheets read Hangul; a
list in one cell is joined with "; ") and all of them in one JSON object."""

from __future__ import annotations

import csv
import json
from pathlib import Path

LIST_SEPARATOR = "; "


def cell(value) -> str | float | int:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(map(str, value))
    return value


def write_csv(tables: dict[str, list[dict]], folder: Path) -> list[Path]:
    paths = []
    for name, rows in tables.items():
        path = Path(folder) / f"{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as file:
            if rows:
                writer = csv.DictWriter(file, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)
        paths.append(path)
    return paths


def write_json(tables: dict[str, list[dict]], path: Path) -> Path:
    path = Path(path)
    path.write_text(
        json.dumps(tables, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return path
