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
2. `$LSTM_COURSE_LANG` (the CLI's `--lang` and the grader, for the kernels they
   start; `make lab`);
3. in a kernel, the edition of the notebook it runs: declared by the notebook's own
   first code cell, `i18n.edition("ko")`, which the edition generator writes into
   every translated master (so it holds whatever starts the kernel: JupyterLab,
   nbconvert, VS Code, sealed grading), else the `lstm_course.lang` metadata of the
   notebook whose path is `$JPY_SESSION_NAME` (a JupyterLab session);
4. the locale: `$LANGUAGE`, `$LC_ALL`, `$LC_MESSAGES`, `$LANG`;
5. English.

Korean particles that depend on a filled-in value are chosen when the message is
formatted: see `particle`.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import json
import os
import re
import string
from collections.abc import Iterator, Mapping
from pathlib import Path

DOMAIN = "lstm_course"
LOCALE = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ko")
SOURCE = "en"
METADATA = "lstm_course"  # notebook metadata key: {"lang": "ko"}
ENV = "LSTM_COURSE_LANG"

_chosen: list[str] = []  # the stack of `use(...)`
_declared: list[str] = []  # the edition this kernel's notebook declared (`edition`)


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


def edition(lang: str) -> None:
    """Declare the edition of the notebook this kernel runs: a translated master's
    first code cell calls it (written there by the edition generator), before it
    imports the checks, which then give the figures that language's font. It ranks
    with the notebook's metadata: below `use` and `$LSTM_COURSE_LANG`."""
    _declared[:] = [found] if (found := normal(lang)) else []


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
        or (_declared[0] if _declared else None)
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
    """`message` in the learner's language (a `Message` when it has particles to
    choose when formatted)."""
    text = translations(current()).gettext(message)
    return Message(text) if PAIR.search(text) else text


def N_(message: str) -> str:
    """Mark `message` for translation where it is defined; `_` translates it later."""
    return message


# --- Korean particles -----------------------------------------------------------------
# A Korean particle after a value depends on the value's final sound: 값은 but 크기는,
# h_n은 (엔) but x는 (엑스). The catalog writes it as its pair right after the field,
# `{name}은(는)` (or after the field's closing quote or backtick), and `Message.format`
# chooses it from the value filled in, read as a Korean reader reads it: Hangul by its
# final consonant, numbers the Korean way (3 삼, 10 십, 0.5 영 점 오), code names by
# their last word or letter (h_n 엔, lstm_cell 셀, MyLSTM 엠, output 아웃풋).

PAIRS = {  # the pair as written: (after a final consonant, after a vowel)
    "은(는)": ("은", "는"),
    "이(가)": ("이", "가"),
    "을(를)": ("을", "를"),
    "과(와)": ("과", "와"),
    "(으)로": ("으로", "로"),  # 로 after ㄹ too: 셀로, 1(일)로
    "(이)": ("이", ""),  # the copula's 이: 값이라는, 크기라는
}
PAIR = re.compile("|".join(re.escape(p) for p in PAIRS))
_AFTER_FIELD = re.compile(rf"^([`'\"]*)({PAIR.pattern})")
RIEUL = 8  # the final ㄹ, after which (으)로 is 로
_DIGITS = (21, 8, 0, 16, 0, 0, 1, 8, 8, 0)  # 영 일 이 삼 사 오 육 칠 팔 구
# 십 백 천 만…천만 억… 조… 경: a round number's final sound by its count of zeros
_POWERS = (17, 1, 4, 4, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 21)
_LETTERS = {"l": 8, "m": 16, "n": 4, "r": 8}  # 엘 엠 엔 알; every other letter a vowel
_WORD_ENDINGS = (  # an English word's final sound, by its ending (first match)
    ("ng", 21), ("ype", 17), ("ght", 0), ("eck", 0), ("ck", 1), ("me", 16),
    ("ne", 4), ("le", 8), ("m", 16), ("n", 4), ("l", 8),
)  # fmt: skip
_LONG_VOWELS = ("ee", "ea", "oa", "ai", "oo", "ei")  # float 플로트, weight 웨이트


def coda(value: str) -> int:
    """The final consonant of `value` as a Korean reader says it, as the index of a
    Hangul syllable's final (0: none, a vowel; 8: ㄹ)."""
    text = value.rstrip(" `'\")]}>.,;:!?")
    if not text:
        return 0
    last = text[-1]
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28
    if "0" <= last <= "9":
        return _number_coda(text)
    if last.isascii() and last.isalpha():
        return _english_coda(text)
    return 0  # %, σ, ρ, …: 퍼센트, 시그마, 로


def _number_coda(text: str) -> int:
    found = re.search(r"(\.?)(\d[\d,]*)$", text)
    point, digits = found.group(1), found.group(2).replace(",", "")
    if point and text[: found.start()][-1:].isdigit():  # decimals: digit by digit
        return _DIGITS[int(digits[-1])]
    number = int(digits)
    zeros = len(digits) - len(digits.rstrip("0"))
    if number == 0 or not zeros:
        return _DIGITS[number % 10]
    return _POWERS[min(zeros, len(_POWERS)) - 1]


def _english_coda(text: str) -> int:
    run = re.search(r"[A-Za-z]+$", text).group(0)
    word = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", run)[-1]  # MyLSTM -> LSTM
    lower = word.lower()
    if word.isupper() or len(word) == 1 or not re.search("[aeiouy]", lower):
        return _LETTERS.get(lower[-1], 0)  # read letter by letter: h_n 엔, hh, LSTM
    for ending, sound in _WORD_ENDINGS:
        if lower.endswith(ending):
            return sound
    short = lower[-2:-1] in tuple("aeiou") and lower[-3:-1] not in _LONG_VOWELS
    if lower[-1] == "t" and short:
        return 19  # output 아웃풋, init 이닛, split 스플릿
    if lower[-1] in "pk" and short:
        return {"p": 17, "k": 1}[lower[-1]]  # step 스텝, map 맵, leak 리크 (long)
    return 0  # a vowel: size 사이즈, first 퍼스트, dict 딕트, weight 웨이트


def particle(value: str, pair: str) -> str:
    """The particle of `pair` (as written in PAIRS) that follows `value`."""
    after_consonant, after_vowel = PAIRS[pair]
    final = coda(value)
    if pair == "(으)로":
        return after_vowel if final in (0, RIEUL) else after_consonant
    return after_consonant if final else after_vowel


def fill(template: str, args: tuple = (), kwargs: Mapping | None = None) -> str:
    """`template.format(*args, **kwargs)`, with each particle pair right after a
    field chosen from the value filled in."""
    kwargs = kwargs or {}
    out: list[str] = []
    value, auto = None, 0
    for literal, name, spec, conversion in string.Formatter().parse(template):
        found = _AFTER_FIELD.match(literal) if value is not None else None
        if found:
            chosen = particle(value, found.group(2))
            literal = found.group(1) + chosen + literal[found.end() :]
        out.append(literal)
        if name is None:
            value = None
            continue
        if name == "":
            name, auto = str(auto), auto + 1
        field = "{" + name + (f"!{conversion}" if conversion else "")
        field += (f":{spec}" if spec else "") + "}"
        value = field.format(*args, **kwargs)
        out.append(value)
    return "".join(out)


class Message(str):
    """A translated sentence whose particle pairs are chosen when it is formatted."""

    def format(self, *args, **kwargs) -> str:
        return fill(str(self), args, kwargs)

    def format_map(self, mapping: Mapping) -> str:
        return fill(str(self), (), mapping)
