"""The report's figures, drawn with matplotlib and kept in the page as PNG data URIs
(nothing to fetch when it is opened). Figures are made without pyplot, so nothing
global but the font is touched; Korean text is drawn with the Korean font
(`autograder.fonts`)."""

from __future__ import annotations

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autograder import fonts
from autograder.i18n import N_, _
from autograder.report.diagnosis import KINDS

COLORS = {
    "full": "#3a9a5b",
    "partial": "#e2b33c",
    "zero": "#d1495b",
    "not_answered": "#9aa1a9",
}
LEGEND = {
    "full": N_("full points"),
    "partial": N_("partial"),
    "zero": N_("zero"),
    "not_answered": N_("not answered"),
}
DPI = 100


def use_font(lang: str) -> str | None:
    """Draw `lang`'s text (a warning when its font is missing)."""
    return fonts.use_language(lang)


def new_figure(height: float) -> Figure:
    """A figure the page's width, laid out once when drawn (a tight bounding box
    would draw it twice)."""
    figure = Figure(figsize=(8, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def exercises(rows: list[dict]) -> str:
    """One assignment: each exercise's students by result, as stacked bars."""
    figure = new_figure(0.45 * len(rows) + 1.3)
    axes = figure.add_subplot()
    labels = [row["exercise"] for row in rows][::-1]
    left = [0] * len(rows)
    for key, color in COLORS.items():
        values = [row[key] for row in rows][::-1]
        axes.barh(labels, values, left=left, color=color, label=_(LEGEND[key]))
        for y, (x, value) in enumerate(zip(left, values, strict=True)):
            if value:
                axes.text(
                    x + value / 2, y, str(value), ha="center", va="center", fontsize=8
                )
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_xlabel(_("students"))
    axes.spines[["top", "right"]].set_visible(False)
    figure.legend(loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return data_uri(figure)


def scores(by_assignment: dict[str, list[float]]) -> str:
    """Each assignment's scores, in percent of its points, one dot a student."""
    names = list(by_assignment)
    figure = new_figure(0.5 * len(names) + 1.0)
    axes = figure.add_subplot()
    data = [by_assignment[name] for name in names][::-1]
    axes.boxplot(data, vert=False, widths=0.5, showfliers=False)
    for y, values in enumerate(data, 1):
        spread = [y + ((i % 5) - 2) * 0.06 for i in range(len(values))]
        axes.scatter(values, spread, s=10, alpha=0.6, color="#33658a", zorder=3)
    axes.set_yticks(range(1, len(names) + 1), names[::-1])
    axes.set_xlim(-3, 103)
    axes.set_xlabel(_("score (% of the assignment's points)"))
    axes.spines[["top", "right"]].set_visible(False)
    return data_uri(figure)


def misconceptions(rows: list[dict], most: int = 12) -> str:
    """The mistakes held by the most students, across the course."""
    top = sorted(rows, key=lambda r: -r["students_count"])[:most][::-1]
    figure = new_figure(0.4 * len(top) + 0.8)
    axes = figure.add_subplot()
    labels = [r["mistake"] or f"{r['exercise']} ({_(KINDS[r['kind']])})" for r in top]
    labels = [label if len(label) <= 48 else label[:47] + "…" for label in labels]
    axes.barh(labels, [r["students_count"] for r in top], color="#d1495b")
    axes.set_xlabel(_("students"))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    return data_uri(figure)
