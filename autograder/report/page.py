"""The report as one HTML page: its own styles, its figures inside it, no script and
nothing fetched, so it opens from a file, a USB stick or an LMS upload alike."""

from __future__ import annotations

from html import escape
from pathlib import Path

from autograder.i18n import N_, _
from autograder.report import figures
from autograder.report.diagnosis import KINDS

# The kinds of `autograder.grading.incidents.Incident`.
INCIDENTS = {
    "bound": N_("a grading limit was hit"),
    "refused": N_("refused by the grader"),
    "tampered": N_("tampering with the grader"),
}
STYLE = """
body { font-family: system-ui, "Noto Sans KR", "NanumGothic", sans-serif;
  margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #ddd; padding-top: 1rem; }
h3 { margin-bottom: .3rem; }
nav a { margin-right: 1rem; white-space: nowrap; display: inline-block; }
.meta { color: #555; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; vertical-align: top;
  text-align: left; }
th { background: #f4f4f4; } td.n { text-align: right; }
td.message { max-width: 34rem; white-space: pre-wrap; }
code { background: #f4f4f4; padding: 0 .2rem; white-space: nowrap; }
.kind { font-style: italic; }
img { max-width: 100%; display: block; margin: .5rem 0; } .none { color: #777; }
"""


def _cell(value, numeric: bool = False) -> str:
    if isinstance(value, float):
        value = f"{value:g}"
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    css = ' class="n"' if numeric else ""
    return f"<td{css}>{escape(str(value))}</td>"


def table(header: list[str], rows: list[list[str]]) -> str:
    """`rows` are already HTML cells."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


def mistake(row: dict) -> str:
    if row.get("mistake"):
        return f"<td><code>{escape(row['mistake'])}</code></td>"
    return f'<td class="kind">{escape(_(KINDS[row["kind"]]))}</td>'


def none() -> str:
    return f'<p class="none">{escape(_("none"))}</p>'


def overview(tables: dict) -> str:
    by_assignment: dict[str, list[float]] = {}
    for row in tables["submissions"]:
        share = 100 * row["points"] / row["max_points"] if row["max_points"] else 0
        by_assignment.setdefault(row["assignment"], []).append(share)
    rows = [
        [
            _cell(r["assignment"]),
            _cell(r["students"], True),
            _cell(f"{r['median_points']:g} / {r['max_points']:g}", True),
            _cell(r["full_marks"], True),
            _cell(r["exercises_not_answered"], True),
            _cell(r["hidden_only"], True),
        ]
        for r in tables["assignments"]
    ]
    header = [
        _("assignment"),
        _("students"),
        _("median"),
        _("full marks"),
        _("exercises not answered"),
        _("lost only in hidden tests"),
    ]
    parts = [f'<h2 id="scores">{escape(_("Scores"))}</h2>']
    parts.append(image(figures.scores(by_assignment), _("Scores")))
    parts.append(table(header, rows))
    parts.append(f'<h2 id="common">{escape(_("The most common mistakes"))}</h2>')
    if tables["misconceptions"]:
        uri = figures.misconceptions(tables["misconceptions"])
        parts.append(image(uri, _("The most common mistakes")))
    else:
        parts.append(none())
    return "\n".join(parts)


def assignment(name: str, tables: dict) -> str:
    rows = [r for r in tables["exercises"] if r["assignment"] == name]
    title = _("{assignment}: results by exercise").format(assignment=name)
    parts = [f'<h2 id="{escape(name)}">{escape(name)}</h2>']
    parts.append(image(figures.exercises(rows), title))
    header = [
        _("exercise"),
        _("points"),
        _("full points"),
        _("partial"),
        _("zero"),
        _("not answered"),
        _("lost only in hidden tests"),
        _("median"),
    ]
    cells = [
        [_cell(r["exercise"])]
        + [
            _cell(r[key], True)
            for key in (
                "max_points",
                "full",
                "partial",
                "zero",
                "not_answered",
                "hidden_only",
                "median_points",
            )
        ]
        for r in rows
    ]
    parts.append(table(header, cells))
    for row in rows:
        held = [
            m
            for m in tables["misconceptions"]
            if (m["assignment"], m["exercise"]) == (name, row["exercise"])
        ]
        if not held:
            continue
        parts.append(f"<h3>{escape(row['exercise'])}</h3>")
        header = [_("rank"), _("students"), _("mistake"), _("message"), _("who")]
        parts.append(
            table(
                header,
                [
                    [
                        _cell(m["rank"], True),
                        _cell(m["students_count"], True),
                        mistake(m),
                        f'<td class="message">{escape(m["message"])}</td>',
                        _cell(m["students"]),
                    ]
                    for m in held
                ],
            )
        )
    return "\n".join(parts)


def students(tables: dict) -> str:
    header = [
        _("help first"),
        _("student"),
        _("points"),
        _("exercises lost"),
        _("not answered"),
        _("mistakes"),
    ]
    rows = [
        [
            _cell(r["help_rank"], True),
            _cell(r["student"]),
            _cell(f"{r['points']:g} / {r['max_points']:g}", True),
            _cell(r["exercises_lost"], True),
            _cell(r["not_answered"], True),
            _cell(r["mistakes"]),
        ]
        for r in tables["students"]
    ]
    return f'<h2 id="students">{escape(_("Students"))}</h2>' + table(header, rows)


def incidents(tables: dict) -> str:
    title = f'<h2 id="incidents">{escape(_("What the grader refused or bounded"))}</h2>'
    if not tables["incidents"]:
        return title + none()
    header = [_("student"), _("assignment"), _("cell"), _("what"), _("why")]
    rows = [
        [
            _cell(r["student"]),
            _cell(r["assignment"]),
            _cell(r["cell"]),
            _cell(_(INCIDENTS.get(r["kind"], r["kind"]))),
            f'<td class="message">{escape(r["reason"])}</td>',
        ]
        for r in tables["incidents"]
    ]
    return title + table(header, rows)


def identical(tables: dict) -> str:
    title = f'<h2 id="identical">{escape(_("Identical answers"))}</h2>'
    note = _(
        "Answers that are the same code once names, comments and layout are set "
        "aside: a list to review, not a verdict."
    )
    if not tables["identical"]:
        return title + f"<p>{escape(note)}</p>" + none()
    header = [_("assignment"), _("exercise"), _("students"), _("note")]
    rows = [
        [
            _cell(r["assignment"]),
            _cell(r["exercise"]),
            _cell(r["students"]),
            _cell(_("the course's own solution") if r["solution"] else ""),
        ]
        for r in tables["identical"]
    ]
    return title + f"<p>{escape(note)}</p>" + table(header, rows)


def problems(tables: dict) -> str:
    if not tables["problems"]:
        return ""
    items = "".join(
        f"<li>{escape(' '.join(filter(None, (r['student'], r['assignment']))))}"
        f"{': ' if r['student'] else ''}{escape(r['problem'])}</li>"
        for r in tables["problems"]
    )
    return f'<h2 id="problems">{escape(_("Problems"))}</h2><ul>{items}</ul>'


def render(tables: dict, lang: str) -> str:
    figures.use_font(lang)
    names = [r["assignment"] for r in tables["assignments"]]
    links = [("scores", _("Scores"))] + [(n, n) for n in names]
    links += [
        ("students", _("Students")),
        ("incidents", _("What the grader refused or bounded")),
        ("identical", _("Identical answers")),
    ]
    nav = "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for a, t in links)
    meta = _("{students} students, {submissions} graded notebooks").format(
        students=len(tables["students"]), submissions=len(tables["submissions"])
    )
    body = [
        f"<h1>{escape(_('What the class got wrong'))}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        f"<nav>{nav}</nav>",
        overview(tables),
        *(assignment(n, tables) for n in names),
        students(tables),
        incidents(tables),
        identical(tables),
        problems(tables),
    ]
    title = escape(_("What the class got wrong"))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8">'
        f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def write(tables: dict, path: Path, lang: str) -> Path:
    path = Path(path)
    path.write_text(render(tables, lang), encoding="utf-8")
    return path
