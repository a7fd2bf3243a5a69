"""The Korean edition cannot drift from the English masters, keeps their code, and
reads as one careful text: every segment and message translated and fresh, every
value of a message still filled in, the glossary's terms and one register.

The edition is generated (`lstm-course release`): tests/test_cli.py proves that
the committed ko/ is what the catalogs give; these tests read the catalogs and the
committed Korean masters.
"""

from __future__ import annotations

import re
import shutil
import string

import nbformat
import pytest

from autograder import i18n, notebooks
from autograder.editions import translations
from autograder.errors import CourseError
from autograder.grading import course

LANG = "ko"
ASSIGNMENTS = course.assignments()
GLOSSARY = translations.FOLDER / LANG / "glossary.md"
README_KO = course.ROOT / "README.ko.md"
HANGUL = re.compile(r"[가-힣]")


def catalog(assignment: str):
    return translations.read_catalog(translations.catalog_path(LANG, assignment), LANG)


def messages():
    return translations.read_catalog(i18n.catalog_path(LANG), LANG)


def korean_master(assignment: str) -> nbformat.NotebookNode:
    return notebooks.read(course.masters_of(LANG) / assignment / f"{assignment}.ipynb")


def glossary() -> list[dict[str, str]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("English", "---"):
            english, korean, first, avoid = cells
            rows.append(
                {
                    "english": english,
                    "korean": korean,
                    "first": first == "yes",
                    "avoid": [w.strip() for w in avoid.split(",") if w.strip()],
                }
            )
    return rows


def prose(text: str) -> str:
    """Markdown without code, math (but the words of its \\text{}) and HTML: the
    words alone."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    math = r"\$\$.*?\$\$|\$[^$\n]*\$"
    text = re.sub(
        math,
        lambda m: " ".join(re.findall(r"\\text\{([^{}]*)\}", m[0])),
        text,
        flags=re.S,
    )
    text = re.sub(r"`[^`\n]*`|<[^>\n]*>", " ", text)
    return text


# --- no drift


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_segment_of_the_master_is_translated_and_fresh(assignment):
    drift = translations.notebook_drift(assignment, LANG)
    assert drift.ok, "\n".join(drift.lines())


def test_every_message_of_the_checks_and_the_grader_is_translated_and_fresh():
    drift = translations.message_drift(LANG)
    assert drift.ok, "\n".join(drift.lines())


def test_a_changed_english_sentence_is_named_missing_and_its_old_one_stale(tmp_path):
    """Editing one English sentence after its translation: the drift check, the
    release (`edition`) and `update` each say which entry is out of date."""
    assignment = ASSIGNMENTS[0]
    masters = tmp_path / "solutions"
    shutil.copytree(course.MASTERS / assignment, masters / assignment)
    path = masters / assignment / f"{assignment}.ipynb"
    nb = notebooks.read(path)
    cell = next(c for c in nb.cells[1:] if c.cell_type == "markdown")
    old = cell.source.strip()
    cell.source = cell.source.replace(" ", "  ", 1)  # one changed character
    nbformat.write(nb, path)

    drift = translations.notebook_drift(assignment, LANG, masters)
    name = translations.key(cell)
    assert [(s.cell, s.text) for s in drift.missing] == [(name, cell.source.strip())]
    assert drift.stale == [(name, old)]
    with pytest.raises(CourseError, match=rf"missing \[{re.escape(name)}\]"):
        translations.edition(assignment, LANG, masters)


def test_update_adds_new_english_as_fuzzy_with_the_old_translation(
    tmp_path, monkeypatch
):
    assignment = ASSIGNMENTS[0]
    folder = tmp_path / "translations"
    shutil.copytree(translations.FOLDER, folder)
    monkeypatch.setattr(translations, "FOLDER", folder)
    monkeypatch.setattr(i18n, "LOCALE", tmp_path / "locale")  # not the real one
    masters = tmp_path / "solutions"
    shutil.copytree(course.MASTERS / assignment, masters / assignment)
    path = masters / assignment / f"{assignment}.ipynb"
    nb = notebooks.read(path)
    cell = next(c for c in nb.cells[1:] if c.cell_type == "markdown")
    before = catalog(assignment).get(
        cell.source.strip(), context=translations.key(cell)
    )
    cell.source = cell.source.strip() + " Added."
    nbformat.write(nb, path)

    changed = translations.update(LANG, [assignment], masters)

    assert translations.catalog_path(LANG, assignment) in changed
    after = translations.read_catalog(translations.catalog_path(LANG, assignment), LANG)
    entry = after.get(cell.source.strip(), context=translations.key(cell))
    assert entry.fuzzy and entry.string == before.string  # a start, not a translation
    drift = translations.notebook_drift(assignment, LANG, masters)
    assert [s.text for s in drift.missing] == [cell.source.strip()]


# --- the code is the English code


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_korean_master_has_the_english_code_ids_tests_and_points(assignment):
    english, korean = translations.master(assignment), korean_master(assignment)
    assert korean.metadata[i18n.METADATA] == {"lang": LANG}
    assert [c.get("id") for c in korean.cells] == [c.get("id") for c in english.cells]
    for en, ko in zip(english.cells, korean.cells, strict=True):
        name = translations.key(en)
        assert en.cell_type == ko.cell_type and en.metadata == ko.metadata, name
        if en.cell_type == "code":
            assert translations.skeleton(en.source) == translations.skeleton(
                ko.source
            ), f"{name}: the code differs, not only its words"
            if translations.is_test(en):
                strip = [line.split("#")[0].rstrip() for line in en.source.splitlines()]
                assert strip == [
                    line.split("#")[0].rstrip() for line in ko.source.splitlines()
                ], name


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_korean_master_reads_korean(assignment):
    """Every markdown cell has Korean in it (none left in English by mistake)."""
    english = {translations.key(c) for c in translations.master(assignment).cells}
    untranslated = [
        translations.key(c)
        for c in korean_master(assignment).cells
        if c.cell_type == "markdown" and not HANGUL.search(c.source)
    ]
    assert english and not untranslated, untranslated


# --- every value survives


def fields(text: str) -> list[str]:
    return sorted(
        f"{name}!{conv}:{spec}"
        for _literal, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    )


def test_every_message_keeps_its_named_fields():
    wrong = [
        (m.id, m.string)
        for m in messages()
        if m.id and m.string and fields(m.id) != fields(m.string)
    ]
    assert not wrong, wrong


def test_messages_have_named_fields_only():
    positional = [m.id for m in messages() if m.id and re.search(r"\{(\d*)[:!}]", m.id)]
    assert not positional, positional


F_FIELD = re.compile(r"(?<!\{)\{([^{}]+)\}(?!\})")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_expression_in_a_string_survives(assignment):
    """An f-string's `{expression}`s are code: the translation keeps each one."""
    wrong = [
        (m.context, m.id, m.string)
        for m in catalog(assignment)
        if m.id
        and "f-string" in m.auto_comments
        and sorted(F_FIELD.findall(m.id)) != sorted(F_FIELD.findall(m.string))
    ]
    assert not wrong, wrong


def test_a_korean_message_is_korean_with_every_value_filled_in():
    from autograder.checks import core

    with i18n.use(LANG), pytest.raises(core.CheckFailed) as failed:
        core.expect_shape("h_n", __import__("torch").zeros(2, 3), (1, 2, 3))
    message = str(failed.value)
    assert HANGUL.search(message), message
    assert "h_n" in message and "(2, 3)" in message and "(1, 2, 3)" in message, message


def test_every_master_sets_up_its_figures_before_drawing():
    """The first code cell imports the checks, which give figures the font of the
    learner's language (autograder/fonts.py) before any figure is drawn."""
    late = [
        a
        for a in ASSIGNMENTS
        if "from autograder.checks import"
        not in next(
            c for c in translations.master(a).cells if c.cell_type == "code"
        ).source
    ]
    assert not late, late


# --- one text: glossary and register


def korean_texts() -> dict[str, str]:
    """Every Korean text a learner reads, by where it is."""
    texts = {
        f"{a}:{m.context}": m.string
        for a in ASSIGNMENTS
        for m in catalog(a)
        if m.id and m.string
    }
    texts |= {f"message:{m.id[:40]}": m.string for m in messages() if m.id and m.string}
    if README_KO.is_file():
        texts["README.ko.md"] = README_KO.read_text(encoding="utf-8")
    return texts


def test_no_word_the_glossary_says_to_avoid():
    found = [
        (where, word)
        for where, text in korean_texts().items()
        for term in glossary()
        for word in term["avoid"]
        if word in text
    ]
    assert not found, found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_term_is_introduced_with_its_english_at_first_use(assignment):
    """In the notebook's markdown, in order, the first use of a "first use" term is
    followed by its English in parentheses: 은닉 상태(hidden state)."""
    text = "\n".join(
        prose(c.source)
        for c in korean_master(assignment).cells
        if c.cell_type == "markdown"
    )
    terms = glossary()
    bare = []
    for term in (t for t in terms if t["first"]):
        masked = text
        for longer in terms:  # 게이트 inside 망각 게이트 is not a use of 게이트
            if term["korean"] in longer["korean"] and longer is not term:
                masked = masked.replace(longer["korean"], "□" * len(longer["korean"]))
        at = masked.find(term["korean"])
        if at < 0:
            continue
        after = masked[at + len(term["korean"]) :]
        if not re.match(r"\(" + re.escape(term["english"]), after, re.I):
            bare.append(f"{term['korean']}: {masked[at : at + 40]!r}")
    assert not bare, bare


# A sentence ending in 해요체 (…요.) or 한다체 (…다. but not …니다.).
OFF_REGISTER = re.compile(r"(?:[가-힣]요|(?<!니)(?<![가-힣]\s)[가-힣]다)[.!?](?=\s|$)")


def test_one_register_throughout():
    """합니다체: no sentence of a notebook, message or the README ends in 해요체 or
    한다체."""
    found = [
        (where, match.group(0))
        for where, text in korean_texts().items()
        for match in OFF_REGISTER.finditer(prose(text))
        if not match.group(0).endswith(("니다.", "니다!", "니다?"))
    ]
    assert not found, found[:20]


def test_the_glossary_is_the_one_the_notebooks_follow():
    terms = glossary()
    assert len(terms) > 30
    assert {"은닉 상태", "셀 상태", "망각 게이트"} <= {t["korean"] for t in terms}


def test_readme_links_the_korean_readme():
    readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
    assert "README.ko.md" in readme.split("\n## ")[0]
    assert HANGUL.search(README_KO.read_text(encoding="utf-8"))


# --- the language a learner reads


def test_language_follows_choice_then_environment_then_notebook_then_locale(
    tmp_path, monkeypatch
):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", i18n.ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert i18n.current() == "en"
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert i18n.current() == "ko"
    korean = tmp_path / "ko.ipynb"
    nb = nbformat.v4.new_notebook(metadata={i18n.METADATA: {"lang": "ko"}})
    nbformat.write(nb, korean)
    english = tmp_path / "en.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), english)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("JPY_SESSION_NAME", str(korean))
    assert i18n.current() == "ko"  # a kernel of the Korean edition's notebook
    monkeypatch.setenv(i18n.ENV, "en")
    assert i18n.current() == "en"
    with i18n.use("ko"):
        assert i18n.current() == "ko"
        assert i18n._("not graded") != "not graded"
    with pytest.raises(ValueError, match="no 'fr' edition"):
        with i18n.use("fr"):
            pass


@pytest.mark.parametrize(
    "metadata",
    [
        {"lstm_course": "ko"},
        {"lstm_course": {"lang": 5}},
        {"lstm_course": {"lang": "../x"}},
        [],
    ],
)
def test_an_edited_edition_in_the_metadata_is_english_not_a_crash(metadata):
    """The notebook's metadata is the learner's file: nonsense there means English."""
    assert i18n.notebook_language({"metadata": metadata}) is None
