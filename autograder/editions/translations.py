"""Other editions of the course, generated from the English masters.

A master's words are cut into segments, each keyed by its cell (the cell's grade_id)
and its English text:

- a markdown cell is one segment (its points block is rebuilt, not translated: only
  the exercise titles in it are segments);
- in a code cell, each comment or block of comment lines, each docstring, and each
  string literal a learner reads: printed text, figure titles, labels and legends
  (`words_in_code`). Nothing else of the code changes (`skeleton` proves it) but
  one line: the notebook declares its edition (`edition_lines`), so that whatever
  runs it, its checks speak its language and its figures can draw it.

The Korean words live in `translations/ko/<assignment>.po`, one gettext catalog a
notebook (msgctxt: the cell, msgid: the English, msgstr: the Korean); the check
helpers' messages in `autograder/locale/ko/LC_MESSAGES/lstm_course.po`. `drift`
names what is missing (new or changed English) and what is stale (a translation
whose English is gone); `update` brings a catalog up to date the gettext way
(new entries empty, changed ones fuzzy with the old translation as a start,
removed ones obsolete); `edition` builds a translated master and refuses while
anything is missing.
"""

from __future__ import annotations

import ast
import copy
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from nbformat import NotebookNode

from autograder import i18n, notebooks
from autograder.editions import points
from autograder.errors import CourseError
from autograder.grading import course
from autograder.i18n import N_, _
from autograder.table import columns_of, wrapped

FOLDER = course.ROOT / "translations"
MARKERS = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)|#\s*(noqa|type:)")
# Calls whose string arguments a learner reads, and keyword arguments that are text.
TEXT_CALLS = {
    "print",
    "title",
    "suptitle",
    "xlabel",
    "ylabel",
    "set_title",
    "set_xlabel",
    "set_ylabel",
    "set_zlabel",
    "text",
    "annotate",
    "legend",
    "set_label",
    "set_text",
    "set_xticklabels",
    "set_yticklabels",
    "figtext",
    "fail",
    "passed",
}
TEXT_KEYWORDS = {
    "label", "labels", "title", "xlabel", "ylabel", "zlabel", "suptitle", "desc",
    "xticklabels", "yticklabels",
}  # fmt: skip
TEXT_VALUE = "="  # the bracket of a TEXT_KEYWORDS value, e.g. yticklabels=[...]
LINE = 88  # ruff's line length, in terminal columns: translated code is wrapped to it
EDITION_COMMENT = N_(
    "this notebook's edition: its checks speak its language, its figures draw it"
)


@dataclass(frozen=True)
class Segment:
    cell: str  # the cell's grade_id (or id)
    text: str  # the English
    kind: str  # markdown, comment, string, f-string, points title


@dataclass
class Drift:
    """What a catalog lacks (`missing`: English with no translation, or a fuzzy
    one) and what it has too much (`stale`: translations whose English is gone)."""

    catalog: Path
    missing: list[Segment] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.stale

    def lines(self) -> list[str]:
        where = self.catalog
        if where.is_relative_to(course.ROOT):
            where = where.relative_to(course.ROOT)

        def short(text: str) -> str:
            one = " ".join(text.split())
            return one if len(one) <= 70 else one[:69] + "…"

        return [
            *(f"{where}: missing [{s.cell}] {short(s.text)!r}" for s in self.missing),
            *(f"{where}: stale [{cell}] {short(text)!r}" for cell, text in self.stale),
        ]


def key(cell: NotebookNode) -> str:
    return notebooks.nbgrader_meta(cell).get("grade_id") or cell.get("id", "")


# --- segments -------------------------------------------------------------------------


def _trim(text: str) -> tuple[str, str, str]:
    """`text` as (leading whitespace, words, trailing whitespace)."""
    words = text.strip()
    if not words:
        return text, "", ""
    start = text.index(words)
    return text[:start], words, text[start + len(words) :]


def markdown_parts(source: str) -> list[tuple[str, str]]:
    """A markdown cell as (kind, text) parts: "text" to translate, "block" for a
    points block (rebuilt from the metadata, its titles translated)."""
    found = points.BLOCK.search(source)
    if not found:
        return [("text", source)]
    start, end = found.span()
    return [("text", source[:start]), ("block", found.group(0)), ("text", source[end:])]


def _string_parts(token: str) -> tuple[str, str, str]:
    """A string literal token as (prefix, quote, body)."""
    prefix = re.match(r"[A-Za-z]*", token).group(0)
    rest = token[len(prefix) :]
    quote = rest[:3] if rest[:3] in ('"""', "'''") else rest[0]
    return prefix, quote, rest[len(quote) : -len(quote)]


@dataclass
class _Piece:
    kind: str  # comment, string
    text: str
    start: tuple[int, int]
    end: tuple[int, int]
    inline: bool = False  # a comment after code
    prefix: str = ""
    quote: str = ""


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


BREAKS = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


class _Scanner:
    """One pass over a code cell's tokens that collects the pieces a learner reads."""

    def __init__(self, source: str, strings: bool):
        self.tokens = _tokens(source)
        self.strings = strings
        self.pieces: list[_Piece] = []
        self.calls: list[str | None] = []  # the call each open bracket belongs to
        code = [t for t in self.tokens if t.type not in (tokenize.NL, tokenize.COMMENT)]
        self.before = {id(t): p for p, t in zip([None, *code], code, strict=False)}
        self.after = {id(t): n for t, n in zip(code, [*code[1:], None], strict=False)}
        self.code_lines = {t.start[0] for t in code if t.type not in BREAKS}

    def scan(self) -> list[_Piece]:
        for t in self.tokens:
            if t.type == tokenize.OP and t.string in "([{":
                prev = self.before[id(t)]
                called = t.string == "(" and prev and prev.type == tokenize.NAME
                text_value = self.keyword(t) in TEXT_KEYWORDS
                self.calls.append(
                    prev.string if called else TEXT_VALUE if text_value else None
                )
            elif t.type == tokenize.OP and t.string in ")]}" and self.calls:
                self.calls.pop()
            elif t.type == tokenize.COMMENT:
                self.comment(t)
            elif t.type == tokenize.STRING and self.strings:
                self.string(t)
        return self.pieces

    def comment(self, t: tokenize.TokenInfo) -> None:
        text = t.string.lstrip("#")
        text = text[1:] if text.startswith(" ") else text
        if MARKERS.match(t.string) or not any(ch.isalpha() for ch in text):
            return
        inline = t.start[0] in self.code_lines
        last = self.pieces[-1] if self.pieces else None
        block = (
            last is not None
            and last.kind == "comment"
            and not (inline or last.inline)
            and (last.end[0] + 1, last.start[1]) == t.start
        )
        if block:
            last.text += "\n" + text
            last.end = t.end
        else:
            self.pieces.append(_Piece("comment", text, t.start, t.end, inline))

    def keyword(self, t: tokenize.TokenInfo) -> str | None:
        """The keyword argument `t` is the value of, if any."""
        prev = self.before[id(t)]
        if not (prev and prev.string == "=" and self.calls):
            return None
        name = self.before[id(prev)]
        return name.string if name and name.type == tokenize.NAME else None

    def readable(self, t: tokenize.TokenInfo, body: str) -> bool:
        prev, nxt = self.before[id(t)], self.after[id(t)]
        docstring = (prev is None or prev.type in BREAKS) and (
            nxt is None or nxt.type in BREAKS
        )
        keyword = self.keyword(t)
        if docstring or keyword in TEXT_KEYWORDS:
            return True
        in_text_call = any(c in TEXT_CALLS or c == TEXT_VALUE for c in self.calls)
        return keyword is None and (in_text_call or " " in body)

    def string(self, t: tokenize.TokenInfo) -> None:
        prefix, quote, body = _string_parts(t.string)
        if "b" in prefix.lower() or not any(ch.isalpha() for ch in body):
            return
        if not self.readable(t, body):
            return
        last, prev = self.pieces[-1] if self.pieces else None, self.before[id(t)]
        continued = (
            last is not None
            and last.kind == "string"
            and prev is not None
            and prev.type == tokenize.STRING
            and (last.prefix, last.quote) == (prefix, quote)
        )
        if continued:  # implicit concatenation: one sentence
            last.text += body
            last.end = t.end
        else:
            self.pieces.append(
                _Piece("string", body, t.start, t.end, False, prefix, quote)
            )


def words_in_code(source: str, strings: bool = True) -> list[_Piece]:
    """The pieces of a code cell a learner reads: comments (consecutive full-line
    comments in one column as one piece) and, with `strings`, docstrings and text
    literals (arguments of TEXT_CALLS, TEXT_KEYWORDS values, and any literal with
    a space in it that is no other keyword's value)."""
    return _Scanner(source, strings).scan()


def _kind(piece: _Piece) -> str:
    """comment, string, or f-string (whose `{expressions}` are code to keep)."""
    return "f-string" if "f" in piece.prefix.lower() else piece.kind


def is_test(cell: NotebookNode) -> bool:
    """A graded test cell: only its comments are words to translate."""
    meta = notebooks.nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def segments(nb: NotebookNode) -> list[Segment]:
    """Every English segment of a master, in notebook order."""
    found: list[Segment] = []
    for cell in nb.cells:
        name = key(cell)
        if cell.cell_type == "markdown":
            for kind, text in markdown_parts(cell.source):
                if kind == "block":
                    found += [
                        Segment(name, title, "points title")
                        for title, _id in points.ROW.findall(text)
                    ]
                elif words := _trim(text)[1]:
                    found.append(Segment(name, words, "markdown"))
        elif cell.cell_type == "code":
            pieces = words_in_code(cell.source, strings=not is_test(cell))
            found += [Segment(name, p.text, _kind(p)) for p in pieces]
    return list(dict.fromkeys(found))


# --- applying a translation -----------------------------------------------------------


def edition_lines(lang: str) -> str:
    """The one addition to a `lang` master's code, the start of its first code cell:
    the notebook declares its edition to its kernel (`autograder.i18n.edition`)
    before its checks are imported, which set the figures' font from it."""
    with i18n.use(lang):
        comment = _(EDITION_COMMENT)
    return f'from autograder import i18n\n\ni18n.edition("{lang}")  # {comment}\n\n'


class Missing(CourseError):
    pass


def _offsets(source: str) -> list[int]:
    starts, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def _wrap_literal(piece: _Piece, text: str, column: int, after: int) -> str:
    """`text` as string literal(s) like `piece`'s, wrapped at spaces outside `{}`
    into lines that fit LINE terminal columns, with `after` columns of code still
    to come on the last line (one literal when it fits)."""
    literal = f"{piece.prefix}{piece.quote}{{}}{piece.quote}"
    if (
        len(piece.quote) == 3
        or column + columns_of(literal.format(text)) + after <= LINE
    ):
        return literal.format(text)
    room = max(30, LINE - column - columns_of(literal.format("")) - after)
    words, current, depth = [], "", 0  # words end at spaces outside {fields}
    for ch in text:
        current += ch
        depth += {"{": 1, "}": -1}.get(ch, 0) if "f" in piece.prefix.lower() else 0
        if ch == " " and depth == 0:
            words, current = [*words, current], ""
    chunks = [""]
    for word in [*words, current]:
        if chunks[-1] and columns_of(chunks[-1] + word) > room:
            chunks.append("")
        chunks[-1] += word
    chunks = [c for c in chunks if c]
    return ("\n" + " " * column).join(literal.format(c) for c in chunks)


def _comment(piece: _Piece, text: str) -> str:
    """`text` as the comment lines of `piece`: a block is wrapped to fit LINE."""
    indent = " " * piece.start[1]
    if piece.inline:
        lines = [" ".join(text.split())]
    else:
        room = LINE - piece.start[1] - 2
        lines = [part for line in text.split("\n") for part in wrapped(line, room)]
    return ("\n" + indent).join(f"# {line}".rstrip() for line in lines)


def translate_code(source: str, words: dict[str, str], strings: bool = True) -> str:
    """A code cell with its words replaced: `words` maps English to translation."""
    starts = _offsets(source)
    out = source
    for piece in reversed(words_in_code(source, strings)):
        text = words[piece.text]
        start = starts[piece.start[0] - 1] + piece.start[1]
        end = starts[piece.end[0] - 1] + piece.end[1]
        if piece.kind == "comment":
            new = _comment(piece, text)
        else:
            line_end = out.find("\n", end)
            rest = out[end : line_end if line_end >= 0 else len(out)]
            new = _wrap_literal(piece, text, piece.start[1], columns_of(rest))
        out = out[:start] + new + out[end:]
    return out


def skeleton(source: str) -> list[tuple[int, str]]:
    """A code cell's tokens without its words: equal for both editions of a cell."""
    words = {p.start for p in words_in_code(source) if p.kind == "string"}
    kept, skipping = [], False
    for t in _tokens(source):
        if t.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            continue
        if t.start in words:
            kept.append((tokenize.STRING, "<words>"))
            skipping = True
            continue
        if skipping and t.type == tokenize.STRING:
            continue  # the rest of an implicitly concatenated sentence
        skipping = False
        kept.append((t.type, t.string))
    return kept


def _lookup(catalog: Catalog):
    missing: list[Segment] = []

    def look(cell: str, text: str, kind: str) -> str:
        message = catalog.get(text, context=cell)
        if message is None or not message.string or message.fuzzy:
            missing.append(Segment(cell, text, kind))
            return text
        return message.string

    return look, missing


def _points_block(nb: NotebookNode, block: str, cell: str, look) -> str:
    """A points block rebuilt in the current language, its titles translated."""
    found = points.BLOCK.search(block)
    titles = points.ROW.sub(
        lambda m: f"| {look(cell, m.group(1), 'points title')} | `{m.group(2)}` |",
        found.group(1),
    )
    start, end = found.span(1)
    return block[:start] + points.block(nb, titles) + block[end:]


def translate(
    nb: NotebookNode, catalog: Catalog, lang: str, path: Path
) -> NotebookNode:
    """`nb` in `lang`: every segment replaced from `catalog`; raises `Missing` naming
    every segment without a translation."""
    out = copy.deepcopy(nb)
    look, missing = _lookup(catalog)
    for cell in out.cells:
        name = key(cell)
        if cell.cell_type == "markdown":
            parts = []
            for kind, text in markdown_parts(cell.source):
                if kind == "block":
                    parts.append(_points_block(nb, text, name, look))
                else:
                    lead, words, trail = _trim(text)
                    parts.append(
                        lead + (look(name, words, "markdown") if words else "") + trail
                    )
            cell.source = "".join(parts)
        elif cell.cell_type == "code":
            strings = not is_test(cell)
            pieces = words_in_code(cell.source, strings)
            words = {p.text: look(name, p.text, p.kind) for p in pieces}
            cell.source = translate_code(cell.source, words, strings)
            try:
                ast.parse(cell.source)
            except SyntaxError as error:
                if not cell.source.lstrip().startswith(("%", "!")):
                    raise CourseError(
                        f"{path}: the translation of cell {name} is not valid Python "
                        f"({error.msg}, line {error.lineno})"
                    ) from None
    if missing:
        lines = [f"{path}: missing [{s.cell}] {s.text[:60]!r}" for s in missing]
        raise Missing("\n".join(lines))
    if lang != i18n.SOURCE:
        out.metadata[i18n.METADATA] = {"lang": lang}
        first = next(c for c in out.cells if c.cell_type == "code")
        first.source = edition_lines(lang) + first.source
    return out


# --- catalogs -------------------------------------------------------------------------


def catalog_path(lang: str, assignment: str) -> Path:
    return FOLDER / lang / f"{assignment}.po"


def read_catalog(path: Path, lang: str) -> Catalog:
    if not path.is_file():
        return Catalog(locale=lang)
    with open(path, "rb") as file:
        return read_po(file, locale=lang)


def po_bytes(catalog: Catalog) -> bytes:
    """A catalog as a PO file: no header, no wrapping, in the source's order,
    obsolete entries kept (#~) for the translator to reuse."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, omit_header=True, ignore_obsolete=False)
    return buffer.getvalue()


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(po_bytes(catalog))


def template(found: list[Segment], where: str) -> Catalog:
    """The untranslated catalog of a master's segments (or of messages)."""
    catalog = Catalog()
    for s in found:
        catalog.add(
            s.text,
            context=s.cell or None,
            locations=[(where, 0)] if where else (),
            auto_comments=[s.kind] if s.kind else (),
        )
    return catalog


def drift_of(found: list[Segment], catalog: Catalog, path: Path) -> Drift:
    drift = Drift(path)
    wanted = {(s.cell or None, s.text) for s in found}
    for s in found:
        message = catalog.get(s.text, context=s.cell or None)
        if message is None or not message.string or message.fuzzy:
            drift.missing.append(s)
    drift.stale = [
        (m.context or "", m.id)
        for m in catalog
        if m.id and (m.context, m.id) not in wanted
    ]
    return drift


def master(assignment: str, masters: Path = course.MASTERS) -> NotebookNode:
    return notebooks.read(Path(masters) / assignment / f"{assignment}.ipynb")


def notebook_drift(assignment: str, lang: str, masters: Path = course.MASTERS) -> Drift:
    path = catalog_path(lang, assignment)
    return drift_of(
        segments(master(assignment, masters)), read_catalog(path, lang), path
    )


# --- the message catalog --------------------------------------------------------------


def message_segments() -> list[Segment]:
    """Every `_()`/`N_()` message of the grader and the checks (context: none)."""
    root = course.ROOT / "autograder"
    found = []
    for filename, _line, message, _comments, _context in extract_from_dir(
        root, method_map=[("**.py", "python")], keywords={"_": None, "N_": None}
    ):
        if isinstance(message, str) and not filename.startswith("locale"):
            found.append(Segment("", message, ""))
    return list(dict.fromkeys(found))


def message_drift(lang: str) -> Drift:
    path = i18n.catalog_path(lang)
    return drift_of(message_segments(), read_catalog(path, lang), path)


def update(
    lang: str, assignments: list[str], masters: Path = course.MASTERS
) -> list[Path]:
    """Bring `lang`'s catalogs up to date with the English (gettext's msgmerge):
    new English gets an empty entry, changed English a fuzzy one carrying the old
    translation, vanished English is kept as obsolete (#~). Returns changed files."""
    jobs = [(i18n.catalog_path(lang), message_segments(), "")]
    jobs += [
        (catalog_path(lang, a), segments(master(a, masters)), f"{a}.ipynb")
        for a in assignments
    ]
    changed = []
    for path, found, where in jobs:
        old = path.read_bytes() if path.is_file() else b""
        catalog = read_catalog(path, lang)
        catalog.update(template(found, where), update_header_comment=False)
        if po_bytes(catalog) != old:
            write_catalog(catalog, path)
            changed.append(path)
    return changed


def edition(assignment: str, lang: str, masters: Path = course.MASTERS) -> NotebookNode:
    """The `lang` master of `assignment`, generated from the English one."""
    path = catalog_path(lang, assignment)
    drift = notebook_drift(assignment, lang, masters)
    if not drift.ok:
        raise Missing("\n".join(drift.lines()))
    with i18n.use(lang):
        nb = translate(
            master(assignment, masters), read_catalog(path, lang), lang, path
        )
    return nb


def drifts(
    lang: str, assignments: list[str], masters: Path = course.MASTERS
) -> list[Drift]:
    """The drift of `lang`'s message catalog and of each assignment's catalog."""
    return [message_drift(lang)] + [
        notebook_drift(a, lang, masters) for a in assignments
    ]
