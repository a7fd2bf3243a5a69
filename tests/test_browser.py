"""The front door in a real browser: `make lab`, a release notebook, nbgrader's
Validate button; and `make lab-instructor`, with the formgrader.

Starts JupyterLab exactly as the README says (`make lab PORT=… BROWSER=no`) on a copy
of the release, drives Debian's Chromium with Playwright, checks that the learner sees
no instructor tools and no news popup, runs all cells, fills one exercise with its
correct answer, presses nbgrader's Validate button and reads the report. Then
`make lab-instructor` shows the formgrader and the Create Assignment sidebar. The
screenshots land in `artifacts/browser/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "artifacts" / "browser"
ASSIGNMENT = "06_backprop_through_lstm"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():  # loud: the reason shows in pytest's summary and as a warning
    warnings.warn("Chromium is missing: the real-browser test is SKIPPED", stacklevel=1)
    pytest.skip(
        "no /usr/bin/chromium: install Debian's chromium to run the browser test",
        allow_module_level=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def exercises(assignment: str) -> list[tuple[str, str]]:
    """(correct answer, last line of its visible test) for each exercise of a master."""
    master = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    cells = json.loads(master.read_text())["cells"]
    found, answer = [], None
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"])
        if meta.get("solution") and cell["cell_type"] == "code":
            answer = re.sub(
                r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", source, flags=re.M
            )
        elif meta.get("grade") and answer and "BEGIN HIDDEN TESTS" not in source:
            found.append((answer, source.strip().splitlines()[-1]))
            answer = None
    return found


@pytest.fixture
def lab(tmp_path):
    """`make lab` on a copy of the release; yields (url with token, notebook folder)."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", notebooks)
    with running(tmp_path, "lab", f"NOTEBOOKS={notebooks}") as url:
        yield url, notebooks


@pytest.fixture
def instructor_lab(tmp_path):
    """`make lab-instructor`; yields the url with its token."""
    with running(tmp_path, "lab-instructor") as url:
        yield url


@contextlib.contextmanager
def running(tmp_path, target, *variables):
    """`make <target> PORT=… BROWSER=no …` until the block ends: yields its url."""
    port = free_port()
    log = (tmp_path / "lab.log").open("w+")
    server = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            target,
            f"PORT={port}",
            "BROWSER=no",
            *variables,
        ],
        cwd=REPO,
        # a learner's environment: no MPLBACKEND=Agg from the in-process test harness
        # (figures would not be drawn in the notebook)
        env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (
            found := re.search(
                r"http://127\.0\.0\.1:\d+/lab\?token=\w+",
                (tmp_path / "lab.log").read_text(),
            )
        ):
            assert server.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, "JupyterLab did not start in 300 s"
            time.sleep(0.5)
        yield found.group(0)
    finally:
        subprocess.run(["kill", "--", f"-{server.pid}"], check=False)
        server.wait(timeout=30)
        log.close()


def test_validate_button_reports_on_a_learner_notebook(lab):
    from playwright.sync_api import sync_playwright

    url, notebooks = lab
    release = notebooks / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    before = release.read_text()
    (answer, filled_test), (_, other_test) = exercises(ASSIGNMENT)[:2]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url.replace("/lab?", f"/lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb?"))
        validate = page.get_by_role("button", name="Validate")
        validate.wait_for(timeout=90_000)
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000
        )
        page.wait_for_timeout(5_000)  # JupyterLab asks about news soon after loading
        page.screenshot(path=str(ARTIFACTS / "learner_lab.png"))
        assert page.get_by_text("Jupyter news").count() == 0, "the news popup is shown"
        assert instructor_tools(page) == set(), "the learner sees instructor tools"

        # Run all cells as a learner would, from the menu.
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        # Execution stops at the first stub, which says what to do.
        stub_error = page.locator(
            ".jp-OutputArea-output", has_text="NotImplementedError"
        )
        try:
            stub_error.first.wait_for(timeout=120_000)
        finally:
            page.screenshot(path=str(ARTIFACTS / "run_all.png"))

        # Fill the first exercise: replace the stub in its editor with the answer.
        stub = page.locator(
            ".jp-CodeCell", has_text="raise NotImplementedError()"
        ).first
        editor = stub.locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(answer)
        page.screenshot(path=str(ARTIFACTS / "filled.png"))

        validate.click()
        dialog = page.locator(".jp-Dialog")
        dialog.get_by_text("Validation Results").wait_for(timeout=180_000)
        report = dialog.inner_text()
        (ARTIFACTS / "validate.txt").write_text(report)
        page.screenshot(path=str(ARTIFACTS / "validate.png"))
        browser.close()

    # The learner's other stubs still fail; the filled exercise's test does not.
    assert "The following cell failed" in report, report
    assert "NotImplementedError" in report, report
    assert other_test in report, report
    assert filled_test not in report, report
    assert release.read_text() != before, "Validate saves the notebook first"


INSTRUCTOR_TOOLS = {"Formgrader", "Course List", "Create assignment"}


def instructor_tools(page) -> set[str]:
    """The instructor's entries of the Nbgrader menu, plus "Create Assignment" if its
    sidebar is there."""
    tabs = page.locator(".lm-TabBar-tab").evaluate_all(
        "tabs => tabs.map(tab => tab.getAttribute('title') || '')"
    )
    found = {"Create Assignment"} & {t.removeprefix("Nbgrader ") for t in tabs}
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = set(page.locator(".lm-Menu-itemLabel").all_inner_texts())
    page.keyboard.press("Escape")
    assert "Assignment List" in items  # the menu is there, with the learner's entry
    return found | (items & INSTRUCTOR_TOOLS)


def test_instructor_lab_has_the_formgrader(instructor_lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(instructor_lab)
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(
            timeout=120_000
        )
        page.wait_for_timeout(5_000)
        assert page.get_by_text("Jupyter news").count() == 0, "the news popup is shown"
        assert instructor_tools(page) == INSTRUCTOR_TOOLS | {"Create Assignment"}
        page.goto(instructor_lab.replace("/lab?", "/formgrader?"))
        page.get_by_text("Manage Assignments").first.wait_for(timeout=120_000)
        # the course's masters, listed from solutions/ through nbgrader_config.py
        page.get_by_text(ASSIGNMENT).first.wait_for(timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "formgrader.png"))
        browser.close()


@pytest.fixture
def korean_lab(tmp_path):
    """`make lab LANG=ko` on a copy of the Korean release."""
    notebooks = tmp_path / "ko-notebooks"
    shutil.copytree(REPO / "ko" / "notebooks", notebooks)
    with running(tmp_path, "lab", "LANG=ko", f"NOTEBOOKS={notebooks}") as url:
        yield url, notebooks


def test_korean_release_speaks_korean_in_jupyterlab(korean_lab):
    """A wrong answer in the Korean edition: its visible test says why in Korean,
    with the values filled in, and the figures above it are drawn with no missing
    glyph."""
    from grading import harness
    from playwright.sync_api import sync_playwright

    url, notebooks = korean_lab
    (answer, visible_test), *_ = exercises(ASSIGNMENT)
    mistake = harness.catalog(
        REPO / "tests" / "mistakes" / f"{ASSIGNMENT}.toml", ASSIGNMENT
    )[0]
    assert mistake.old in answer
    wrong = answer.replace(mistake.old, mistake.new, 1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url.replace("/lab?", f"/lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb?"))
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000
        )
        stub = page.locator(
            ".jp-CodeCell", has_text="raise NotImplementedError()"
        ).first
        stub.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(wrong)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        test_cell = page.locator(".jp-CodeCell", has_text=visible_test).first
        # the cell's output once its check has spoken (an output area starts empty)
        output = test_cell.locator(".jp-OutputArea-output", has_text="CheckFailed")
        output.first.wait_for(timeout=180_000)
        text = output.first.text_content() or ""
        (ARTIFACTS / "korean_feedback.txt").write_text(text)
        test_cell.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "korean_lab.png"))
        # What the kernel drew, as JupyterLab saves it (its page draws only the
        # cells near the viewport, so the saved notebook is the reliable record).
        page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Save Notebook").first.click()
        saved = notebooks / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        deadline = time.monotonic() + 60
        while "image/png" not in saved.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        browser.close()

    outputs = [
        o for c in json.loads(saved.read_text())["cells"] for o in c.get("outputs", [])
    ]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    stderr = ["".join(o["text"]) for o in outputs if o.get("name") == "stderr"]
    assert re.search(r"[가-힣]", text) and "Traceback" not in text, text
    assert figures, "no figure was drawn above the test"
    assert not [s for s in stderr if "glyph" in s.lower()], stderr
