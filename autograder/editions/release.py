"""Regenerating learners' notebooks (`notebooks/`) from the masters with nbgrader.

Each assignment is generated in a temporary course, then compared with, or copied
over, the committed release, so `--check` never touches the working tree. First the
points each master and the README's course map state are rewritten from the test
cells' metadata (`points`). Then each translated edition: its masters
(`ko/solutions/`) are generated from the English ones and their catalogs
(`translations`, which refuses while a translation is missing or stale), and its
release (`ko/notebooks/`) from those.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.editions import points, translations
from autograder.grading import course


def files(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and ".ipynb_checkpoints" not in p.parts
    }


def differences(generated: Path, committed: Path) -> list[Path]:
    """Committed files that differ from, are missing from, or are absent in the
    generated release."""
    new, old = files(generated), files(committed)
    changed = [
        name
        for name in sorted(new | old)
        if name not in new
        or name not in old
        or not filecmp.cmp(generated / name, committed / name, shallow=False)
    ]
    return [committed / name for name in changed]


def update(generated: Path, committed: Path, check: bool) -> list[Path]:
    """Compare `generated` with `committed`; unless `check`, copy it over."""
    found = differences(generated, committed)
    if found and not check:
        shutil.rmtree(committed, ignore_errors=True)
        shutil.copytree(generated, committed)
    return found


def release_from(
    ids: list[str], check: bool, masters: Path, target: Path
) -> list[Path]:
    """nbgrader's release of `masters` compared with (or copied over) `target`."""
    stale = []
    with course.TempCourse(masters) as temp:
        for assignment in ids:
            generated = temp.release(assignment).parent
            stale += update(generated, Path(target) / assignment, check)
    return stale


def edition(ids: list[str], lang: str, check: bool) -> list[Path]:
    """`lang`'s masters generated from the English ones, then their release."""
    stale = []
    with tempfile.TemporaryDirectory(prefix=f"lstm-course-{lang}-") as folder:
        masters = Path(folder)
        for assignment in ids:
            shutil.copytree(course.MASTERS / assignment, masters / assignment)
            nb = translations.edition(assignment, lang)
            nbformat.write(nb, masters / assignment / f"{assignment}.ipynb")
            committed = course.masters_of(lang) / assignment
            stale += update(masters / assignment, committed, check)
        stale += release_from(ids, check, masters, course.release_of(lang))
    return stale


def release(
    ids: list[str],
    check: bool = False,
    masters: Path = course.MASTERS,
    target: Path = course.RELEASE,
) -> list[Path]:
    """Regenerate (or with `check`, only compare) the release of `ids`, and of the
    course's translated editions; return the files that differed."""
    course_masters = Path(masters).resolve() == course.MASTERS
    readmes = (
        [course.ROOT / n for n in ("README.md", "README.ko.md")]
        if course_masters
        else []
    )
    stale = points.write(ids, masters, readmes, check)
    stale += release_from(ids, check, masters, target)
    if course_masters:
        for lang in course.TRANSLATED:
            stale += edition(ids, lang, check)
    return stale
