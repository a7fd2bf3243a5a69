"""Regenerating learners' notebooks (`notebooks/`) from the masters with nbgrader.

Each assignment is generated in a temporary course, then compared with, or copied
over, the committed release, so `--check` never touches the working tree. First the
points each master and the README's course map state are rewritten from the test
cells' metadata (`autograder.points`).
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from autograder import course, points


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


def release(
    ids: list[str],
    check: bool = False,
    masters: Path = course.MASTERS,
    target: Path = course.RELEASE,
) -> list[Path]:
    """Regenerate (or with `check`, only compare) the release of `ids`; return the
    files that differed."""
    readme = course.ROOT / "README.md" if Path(masters) == course.MASTERS else None
    stale = points.write(ids, masters, readme, check)
    with course.TempCourse(masters) as temp:
        for assignment in ids:
            generated = temp.release(assignment).parent
            committed = Path(target) / assignment
            found = differences(generated, committed)
            stale += found
            if found and not check:
                shutil.rmtree(committed, ignore_errors=True)
                shutil.copytree(generated, committed)
    return stale
