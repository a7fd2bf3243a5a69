"""The learner's language: English, or Korean from a gettext catalog.

Every sentence a learner reads from the grader or a check is written once, in
English, as `_("... {name} ...").format(name=value)`: named fields only, filled in
after the translation, so every shape, name and number survives it. A sentence kept
in a module-level table is marked with `N_` and translated where it is used.

The Korean catalog is `autograder/locale/ko/LC_MESSAGES/lstm_course.po` (the
standard gettext layout). It is read with Babel and compiled in memory into the
standard library's `gettext.GNUTranslations`, so the `.po` file is the only copy.

The language, first found wins:
1. `use(lang)` (the CLI's `--lang`, the grader for a Korean notebook);
2. `$LSTM_COURSE_LANG`;
3. in a Jupyter kernel, the `lstm_course.lang` metadata of the notebook it runs
   (`$JPY_SESSION_NAME` is its path; the Korean edition says "ko");
4. the locale: `$LANGUAGE`, `$LC_ALL`, `$LC_MESSAGES`, `$LANG`;
5. English.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

DOMAIN = "lstm_course"
LOCALE = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ko")
SOURCE = "en"
METADATA = "lstm_course"  # notebook metadata key: {"lang": "ko"}
ENV = "LSTM_COURSE_LANG"

_chosen: list[str] = []  # the stack of `use(...)`


def catalog_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def normal(lang: str | None) -> str | None:
    """ "ko_KR.UTF-8" -> "ko"; None for a language the course does not have."""
    if not lang:
        return None
    code = lang.split(":")[0].split(".")[0].split("_")[0].split("-")[0].lower()
    return code if code in LANGUAGES else None


def notebook_language(nb: dict) -> str | None:
    """The edition a notebook says it is, from its metadata (None: English)."""
    metadata = nb.get("metadata")
    meta = metadata.get(METADATA) if isinstance(metadata, dict) else None
    lang = meta.get("lang") if isinstance(meta, dict) else None
    return normal(lang) if isinstance(lang, str) else None  # a learner may edit it


def of_notebook(nb: dict) -> str | None:
    """The language to grade `nb` in: $LSTM_COURSE_LANG (the CLI's `--lang`), else
    the notebook's edition; None (as found: the locale) for an English notebook."""
    return normal(os.environ.get(ENV)) or notebook_language(nb)


def _session_language() -> str | None:
    path = os.environ.get("JPY_SESSION_NAME")
    if not path or not path.endswith(".ipynb"):
        return None
    return _file_language(path)


@functools.cache
def _file_language(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return notebook_language(json.load(file))
    except (OSError, ValueError):
        return None


def _locale_language() -> str | None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return normal(value)
    return None


def current() -> str:
    """The language the learner reads now."""
    if _chosen:
        return _chosen[-1]
    return (
        normal(os.environ.get(ENV))
        or _session_language()
        or _locale_language()
        or SOURCE
    )


@contextlib.contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Speak `lang` inside the block (None: leave the language as found)."""
    chosen = normal(lang) if lang else current()
    if lang and chosen is None:
        raise ValueError(
            f"no {lang!r} edition of this course (languages: {', '.join(LANGUAGES)})"
        )
    _chosen.append(chosen)
    try:
        yield chosen
    finally:
        _chosen.pop()


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (English: no catalog)."""
    if lang == SOURCE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(catalog_path(lang), "rb") as file:
        catalog = read_po(file, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """`message` in the learner's language."""
    return translations(current()).gettext(message)


def N_(message: str) -> str:
    """Mark `message` for translation where it is defined; `_` translates it later."""
    return message
