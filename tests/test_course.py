"""Private nbgrader courses: an assignment generated once is reused, never stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from grading import batches, harness
from grading.batches import FIXTURE, FIXTURE_MASTERS, FIXTURE_TIMEOUT
from nbgrader.api import Gradebook

from autograder.grading import check, course


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setattr(course, "GENERATED", folder)
    return folder


def masters_copy(tmp_path: Path) -> Path:
    masters = tmp_path / "masters"
    shutil.copytree(FIXTURE_MASTERS / FIXTURE, masters / FIXTURE)
    return masters


def generated(masters: Path, monkeypatch) -> tuple[bytes, list, int]:
    """A new private course's release of FIXTURE, its gradebook's cells, and how
    many times nbgrader generated it."""
    calls = []
    real = course.NbGraderAPI.generate_assignment

    def counted(api, *args, **kwargs):
        calls.append(args)
        return real(api, *args, **kwargs)

    monkeypatch.setattr(course.NbGraderAPI, "generate_assignment", counted)
    with course.TempCourse(masters) as temp:
        release = temp.release(FIXTURE).read_bytes()
        with Gradebook(temp.db_url, course.COURSE_ID) as gb:
            notebook = gb.find_notebook(FIXTURE, FIXTURE)
            cells = sorted(
                (c.name, c.checksum, c.source) for c in notebook.source_cells
            )
    return release, cells, len(calls)


def test_a_second_course_starts_from_the_first_generation(cache, tmp_path, monkeypatch):
    masters = masters_copy(tmp_path)
    first = generated(masters, monkeypatch)
    second = generated(masters, monkeypatch)
    assert first[2] == 1 and second[2] == 0
    assert second[:2] == first[:2]
    assert len(list(cache.iterdir())) == 1


def test_a_changed_master_is_generated_again(cache, tmp_path, monkeypatch):
    masters = masters_copy(tmp_path)
    before = generated(masters, monkeypatch)
    path = masters / FIXTURE / f"{FIXTURE}.ipynb"
    master = nbformat.read(path, as_version=4)
    master.cells.insert(0, nbformat.v4.new_markdown_cell("A new first line."))
    nbformat.write(master, path)
    after = generated(masters, monkeypatch)
    assert after[2] == 1
    assert b"A new first line." in after[0] and b"A new first line." not in before[0]
    assert len(list(cache.iterdir())) == 2


def test_the_cache_keeps_the_most_recently_used(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(course, "KEPT", 2)
    folders = []
    for word in ("one", "two", "three"):
        masters = masters_copy(tmp_path / word)
        path = masters / FIXTURE / f"{FIXTURE}.ipynb"
        master = nbformat.read(path, as_version=4)
        master.cells.insert(0, nbformat.v4.new_markdown_cell(word))
        nbformat.write(master, path)
        folders.append(masters)
        assert generated(masters, monkeypatch)[2] == 1
        if word == "two":  # one is used again: three's arrival lets two go
            assert generated(folders[0], monkeypatch)[2] == 0
    kept = [course.generation(m, FIXTURE).is_dir() for m in folders]
    assert kept == [True, False, True]
    assert len(list(cache.iterdir())) == 2


def test_a_check_from_the_cache_grades_as_one_that_generated(cache, tmp_path):
    masters = masters_copy(tmp_path)
    master = nbformat.read(masters / FIXTURE / f"{FIXTURE}.ipynb", as_version=4)
    with course.TempCourse(masters) as temp:
        release = nbformat.read(temp.release(FIXTURE), as_version=4)
    mistake = harness.catalog(batches.FIXTURE_CATALOGS / f"{FIXTURE}.toml", FIXTURE)[0]
    learner = harness.write(
        harness.apply(harness.fill(release, master), mistake),
        tmp_path / "class",
        "learner",
        FIXTURE,
    )
    reports = [
        check.check([learner], masters, FIXTURE_TIMEOUT)[0].as_json() for _ in "ab"
    ]
    assert reports[0] == reports[1]
    assert 0 < reports[0]["score"] < reports[0]["max_score"]


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(course, "GENERATED", blocked / "generated")
    masters = masters_copy(tmp_path)
    assert [generated(masters, monkeypatch)[2] for _ in "ab"] == [1, 1]


def test_a_kept_generation_is_its_users_alone(cache, tmp_path, monkeypatch):
    """Its gradebook holds the hidden tests: on a shared machine (the hub) no other
    user may read it."""
    masters = masters_copy(tmp_path)
    generated(masters, monkeypatch)
    kept = course.generation(masters, FIXTURE)
    assert kept.stat().st_mode & 0o077 == 0
