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
    """Token for token, but for the generator's one rule: the first code cell
    begins with the notebook's declaration of its edition (`edition_lines`)."""
    english, korean = translations.master(assignment), korean_master(assignment)
    assert korean.metadata[i18n.METADATA] == {"lang": LANG}
    assert [c.get("id") for c in korean.cells] == [c.get("id") for c in english.cells]
    declaration = translations.edition_lines(LANG)
    first = next(c for c in korean.cells if c.cell_type == "code")
    assert first.source.startswith(declaration), first.source[:200]
    for en, ko in zip(english.cells, korean.cells, strict=True):
        name = translations.key(en)
        assert en.cell_type == ko.cell_type and en.metadata == ko.metadata, name
        if en.cell_type == "code":
            code = ko.source[len(declaration) :] if ko is first else ko.source
            assert "i18n.edition(" not in en.source + code, name
            assert translations.skeleton(en.source) == translations.skeleton(code), (
                f"{name}: the code differs, not only its words"
            )
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


def test_the_edition_is_declared_before_the_checks_set_the_font():
    """The declaration is Python the kernel runs (whatever started it) before the
    cell imports the checks, whose import gives the figures the edition's font."""
    lines = translations.edition_lines(LANG)
    assert lines.startswith("from autograder import i18n\n\ni18n.edition(")
    assert f'i18n.edition("{LANG}")  # ' in lines and HANGUL.search(lines)
    compile(lines, "<edition>", "exec")
    for assignment in ASSIGNMENTS:
        first = next(
            c for c in korean_master(assignment).cells if c.cell_type == "code"
        )
        assert first.source.index("i18n.edition(") < first.source.index(
            "from autograder.checks import"
        ), assignment


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
    """Every Korean text a learner reads, by where it is: each entry of every
    notebook's catalog and of the message catalog (a cell has several), the
    README."""
    texts = {
        f"{a}:{m.context}:{m.id[:40]!r}": m.string
        for a in ASSIGNMENTS
        for m in catalog(a)
        if m.id and m.string
    }
    texts |= {f"message:{m.id!r}": m.string for m in messages() if m.id and m.string}
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
    monkeypatch.setenv("JPY_SESSION_NAME", str(english))
    monkeypatch.setattr(i18n, "_declared", [])
    assert i18n.current() == "en"
    i18n.edition("ko")  # a Korean notebook's first cell, in any kernel
    assert i18n.current() == "ko"
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


def run_alone(nb: nbformat.NotebookNode, folder) -> list[dict]:
    """`nb` run by plain nbclient, as nbconvert, VS Code or a JupyterLab the course
    did not start would: no $LSTM_COURSE_LANG, no session path, a C locale
    (conftest), and no edition in the metadata: what the kernel knows of the
    notebook is its code. Returns every output."""
    from nbclient import NotebookClient

    nb.metadata.pop(i18n.METADATA, None)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": folder}}
    ).execute()
    return [o for c in nb.cells for o in c.get("outputs", [])]


@pytest.mark.parametrize("lang", [LANG, i18n.SOURCE])
def test_a_notebook_speaks_its_edition_and_draws_it_whatever_runs_it(
    lang, tmp_path, monkeypatch
):
    """The setup cell, a figure, and an exercise with its visible test, cut from
    06's master in each edition: the ✓ is in the notebook's language, and the
    Korean figure has every glyph (matplotlib warns on stderr of a missing one)."""
    # MPLBACKEND too: the in-process harness sets Agg, under which nothing is drawn
    for name in ("JPY_SESSION_NAME", i18n.ENV, "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assignment = "06_backprop_through_lstm"
    master = (
        korean_master(assignment) if lang == LANG else translations.master(assignment)
    )
    code = [c for c in master.cells if c.cell_type == "code"]
    figure = next(c for c in code if "plt.show()" in c.source)
    test = next(c for c in code if c.source.startswith("from autograder.checks"))
    answer = code[code.index(test) - 1]
    nb = nbformat.v4.new_notebook(
        cells=[code[0], figure, answer, test], metadata=dict(master.metadata)
    )
    outputs = run_alone(nb, str(tmp_path))

    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "✓" in printed and bool(HANGUL.search(printed)) == (lang == LANG), printed
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert "glyph" not in stderr.lower() and "font" not in stderr.lower(), stderr


# --- particles chosen by rule


@pytest.mark.parametrize(
    "value, topic, subject, object_, with_, by",
    [
        ("값", "은", "이", "을", "과", "으로"),  # a final consonant
        ("크기", "는", "가", "를", "와", "로"),  # a vowel
        ("셀", "은", "이", "을", "과", "로"),  # ㄹ: 로
        ("0", "은", "이", "을", "과", "으로"),  # 영
        ("1", "은", "이", "을", "과", "로"),  # 일
        ("2", "는", "가", "를", "와", "로"),  # 이
        ("3", "은", "이", "을", "과", "으로"),  # 삼
        ("6", "은", "이", "을", "과", "으로"),  # 육
        ("10", "은", "이", "을", "과", "으로"),  # 십
        ("100", "은", "이", "을", "과", "으로"),  # 백
        ("2000", "은", "이", "을", "과", "으로"),  # 이천
        ("30000", "은", "이", "을", "과", "으로"),  # 삼만
        ("1,024", "는", "가", "를", "와", "로"),  # 천이십사
        ("0.5", "는", "가", "를", "와", "로"),  # 영 점 오
        ("2.0", "은", "이", "을", "과", "으로"),  # 이 점 영
        ("0.881", "은", "이", "을", "과", "로"),  # …팔일
        ("1e-10", "은", "이", "을", "과", "으로"),  # 십
        ("99.5%", "는", "가", "를", "와", "로"),  # 퍼센트
        ("(2, 3)", "은", "이", "을", "과", "으로"),  # a shape: …삼
        ("x", "는", "가", "를", "와", "로"),  # 엑스
        ("h_n", "은", "이", "을", "과", "으로"),  # 에이치 엔
        ("h_n[-1]", "은", "이", "을", "과", "로"),  # … 마이너스 일
        ("weight_hh_l0", "은", "이", "을", "과", "으로"),  # … 엘 영
        ("bias_hh", "는", "가", "를", "와", "로"),  # … 에이치에이치
        ("LSTM", "은", "이", "을", "과", "으로"),  # 엠
        ("GRU", "는", "가", "를", "와", "로"),  # 유
        ("MyLSTM", "은", "이", "을", "과", "으로"),  # 마이 엘에스티엠
        ("nn.LSTMCell", "은", "이", "을", "과", "로"),  # 셀
        ("lstm_cell", "은", "이", "을", "과", "로"),  # 셀
        ("output", "은", "이", "을", "과", "으로"),  # 아웃풋
        ("input_size", "는", "가", "를", "와", "로"),  # 사이즈
        ("batch_first", "는", "가", "를", "와", "로"),  # 퍼스트
        ("None", "은", "이", "을", "과", "으로"),  # 논
        ("'B'", "는", "가", "를", "와", "로"),  # 비, in its quotes
    ],
)
def test_a_particle_after_a_value_follows_its_final_sound(
    value, topic, subject, object_, with_, by
):
    template = i18n.Message("{v}은(는) {v}이(가) {v}을(를) {v}과(와) {v}(으)로")
    assert template.format(v=value) == (
        f"{value}{topic} {value}{subject} {value}{object_} {value}{with_} {value}{by}"
    )


def test_a_particle_pair_is_chosen_only_right_after_a_field():
    """After the field (or its closing backtick or quote): chosen; a pair anywhere
    else, or a value formatted some other way, is left as written. The copula's
    (이) and a field's format spec work too."""
    message = i18n.Message("`{name}`은(는) {n:.1f}(이)라는 값이고, ({n})은(는) 그대로")
    chosen = message.format(name="h_n", n=2)
    assert chosen == "`h_n`은 2.0이라는 값이고, (2)은(는) 그대로"
    assert message.format_map({"name": "x", "n": 3}) == (
        "`x`는 3.0이라는 값이고, (3)은(는) 그대로"
    )
    with i18n.use(LANG):
        assert i18n._("not graded") == "채점되지 않음"  # no pair: a plain str
        assert type(i18n._("not graded")) is str


# A particle whose form depends on the sound before it (은/는, 이/가, 을/를, 과/와,
# 으로/로), written by hand right after a field: the value decides it, not the catalog.
HAND_PARTICLE = re.compile(r"\}[`'\"]*(?:은|는|이|가|을|를|과|와|으로|로)(?![가-힣(])")
LOOSE_PAIR = re.compile(rf"(?<![}}`'\"])({i18n.PAIR.pattern})")


def test_the_catalog_writes_a_particle_after_a_field_as_its_pair():
    hand = [m.string for m in messages() if m.string and HAND_PARTICLE.search(m.string)]
    assert not hand, hand
    loose = [
        m.string
        for m in messages()
        if m.string
        and any(
            not re.search(r"\}[`'\"]*$", m.string[: found.start()])
            for found in i18n.PAIR.finditer(m.string)
        )
    ]
    assert not loose, loose


def formatted_messages() -> set[str]:
    """Every message the code formats straight from `_()`: `_("…").format(…)` or
    `_(NAME).format(…)` with `NAME = N_("…")`, the way a `Message` is formatted."""
    import ast

    trees = [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in (course.ROOT / "autograder").rglob("*.py")
    ]
    constants = {
        node.targets[0].id: node.value.args[0].value
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "N_"
        and isinstance(node.value.args[0], ast.Constant)
    }
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            inner = getattr(node, "value", None)
            if not (
                isinstance(node, ast.Attribute)
                and node.attr in ("format", "format_map")
                and isinstance(inner, ast.Call)
                and getattr(inner.func, "id", None) == "_"
            ):
                continue
            arg = inner.args[0]
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in constants:
                found.add(constants[arg.id])
    return found


def test_a_message_with_a_particle_pair_is_formatted_where_it_is_translated():
    """A pair is chosen by `Message.format`: its message must reach `.format`
    straight from `_()` (joined or concatenated first, it would show 은(는))."""
    formatted = formatted_messages()
    in_code = {s.text for s in translations.message_segments()}  # not stale ones
    unformatted = [
        m.id
        for m in messages()
        if m.string
        and i18n.PAIR.search(m.string)
        and m.id in in_code
        and m.id not in formatted
    ]
    assert not unformatted, unformatted


def test_the_korean_font_draws_its_arrows_with_dejavu_sans():
    """Nanum's arrows have hairline shafts that vanish at a figure's size ("8 → 1"
    reads "8 ›1"): the course's copy of it takes DejaVu Sans's, scaled to its em,
    and keeps its minus sign (autograder/fonts.py)."""
    from pathlib import Path

    from fontTools.ttLib import TTFont

    from autograder import fonts

    source = Path(fonts.SOURCES[LANG])
    if not source.is_file():
        pytest.skip(f"no Korean font: {fonts.INSTALL[LANG]}")
    ours, donor = TTFont(fonts.course_copy(source)), TTFont(fonts.arrow_donor())
    scale = ours["head"].unitsPerEm / donor["head"].unitsPerEm
    for code in (0x2190, 0x2191, 0x2192, 0x2193, 0x21D2):
        mine = ours["glyf"][ours.getBestCmap()[code]]
        theirs = donor["glyf"][donor.getBestCmap()[code]]
        for edge in ("xMin", "yMin", "xMax", "yMax"):
            assert abs(getattr(mine, edge) - getattr(theirs, edge) * scale) <= 1, (
                hex(code),
                edge,
            )
    assert fonts.MINUS in ours.getBestCmap()
