"""A whole class on JupyterHub in a real browser: `make classroom`, real Unix users.

An instructor and two students are made with classroom/add-user.sh; `make classroom`
starts the hub (PAM logins, LocalProcessSpawner, configurable-http-proxy) on loopback
ports. Each person logs in through the hub's login page in Chromium. The instructor
generates and releases one assignment through the formgrader's API (what its buttons
call); each student fetches it in the Assignments tab, fills it (one right, one with a
catalogued mistake), presses Validate and Submit; the instructor collects, autogrades
with the course's settings, sees both scores in the formgrader inside JupyterLab, and
releases feedback; each student fetches and reads their own. Then, as each student's
UID, the other student's work and the exchange's inbound stay out of reach. Every
process and user the test made is removed. Screenshots land in artifacts/classroom/.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from grading import harness

from autograder import notebooks

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts" / "classroom"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
COURSE = "lstm-course"
ASSIGNMENT = "06_backprop_through_lstm"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
MASTER = nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, 4)
# One catalogued mistake that the visible test catches, so Validate reports it too.
MISTAKE = harness.catalog(
    REPO / "tests" / "mistakes" / f"{ASSIGNMENT}.toml", ASSIGNMENT
)[0]
SECONDS = 1000  # Playwright counts milliseconds

if os.geteuid() != 0:
    pytest.skip(
        "the classroom test creates Unix users: run it as root", allow_module_level=True
    )
if not shutil.which("useradd") or not shutil.which("node"):
    pytest.skip("the classroom test needs useradd and node", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: install Debian's chromium", allow_module_level=True
    )


@dataclass
class Person:
    name: str
    role: str  # for add-user.sh
    label: str  # for the screenshots
    password: str

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_user(person: Person, *command: str, stdin: str | None = None):
    """A command run as the person's own UID, in their home."""
    return subprocess.run(
        ["runuser", "-u", person.name, "--", *command],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=person.home,
        timeout=60,
    )


def user_pids(name: str) -> list[int]:
    found = subprocess.run(
        ["ps", "-o", "pid=", "-u", name], capture_output=True, text=True
    )
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture(scope="module")
def classroom():
    """`make classroom` with one instructor and two students; yields the hub's URL and
    the people, and removes every process, user and folder it made."""
    tag = secrets.token_hex(3)
    people = [
        Person(f"lstm{tag}t", "instructor", "instructor", secrets.token_urlsafe(12)),
        Person(f"lstm{tag}a", "student", "student-right", secrets.token_urlsafe(12)),
        Person(f"lstm{tag}b", "student", "student-mistake", secrets.token_urlsafe(12)),
    ]
    # Not under /tmp/pytest-of-root (mode 700): the users must reach the exchange.
    base = Path(f"/srv/lstm-classroom-test-{tag}")
    groups = {f"nbgrader-{COURSE}", f"formgrade-{COURSE}"}
    new_groups = {g for g in groups if not _group_exists(g)}
    port = free_port()
    env = {
        **os.environ,
        "LSTM_CLASSROOM_PORT": str(port),
        "LSTM_CLASSROOM_HUB_PORT": str(free_port()),
        "LSTM_CLASSROOM_PROXY_API_PORT": str(free_port()),
        "LSTM_CLASSROOM_STATE": str(base / "state"),
        "LSTM_CLASSROOM_EXCHANGE": str(base / "exchange"),
    }
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    log = (ARTIFACTS / "hub.log").open("w")
    hub = None
    try:
        base.mkdir(mode=0o755)
        base.chmod(0o755)
        hub = subprocess.Popen(
            ["make", "--no-print-directory", "classroom"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for_hub(url, hub)  # setup.sh first: the course's environment exists now
        for person in people:
            subprocess.run(
                [REPO / "classroom" / "add-user.sh", person.name, person.role],
                input=person.password + "\n",
                text=True,
                check=True,
                capture_output=True,
            )
        yield url, people, base / "exchange"
    finally:
        if hub is not None:
            os.killpg(hub.pid, signal.SIGTERM)  # the hub stops the users' servers
            try:
                hub.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(hub.pid, signal.SIGKILL)
                hub.wait()
        log.close()
        for person in people:
            for pid in user_pids(person.name):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            subprocess.run(["userdel", "--remove", person.name], capture_output=True)
        for group in new_groups:
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def wait_for_hub(url: str, hub: subprocess.Popen) -> None:
    deadline = time.monotonic() + 900  # a fresh machine builds the environment first
    while True:
        try:
            with urllib.request.urlopen(f"{url}/hub/api") as answer:
                if "version" in json.load(answer):
                    return
        except OSError:
            pass
        assert hub.poll() is None, (ARTIFACTS / "hub.log").read_text()[-5000:]
        assert time.monotonic() < deadline, "the hub did not start in 900 s"
        time.sleep(1)


def log_in(browser, url: str, person: Person):
    """The person logs in on the hub's page; the hub starts their server meanwhile."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/hub/login")
    page.fill("#username_input", person.name)
    page.fill("#password_input", person.password)
    page.click("#login_submit")
    return page


def in_lab(page, person: Person):
    """The page, once the person's own JupyterLab is there."""
    page.wait_for_url(re.compile(rf"/user/{person.name}/lab"), timeout=180 * SECONDS)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(
        timeout=120 * SECONDS
    )
    return page


def menu(page, top: str, item: str) -> list[str]:
    """Click `top` in JupyterLab's menu bar, then its `item`; returns all its items."""
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    target = page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=item).first
    target.wait_for(timeout=60 * SECONDS)
    items = page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
    target.click()
    return items


def formgrader_api(page, url: str, person: Person, action: str) -> dict:
    """A POST to the instructor's formgrader API with the browser's session."""
    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
    answer = page.request.post(
        f"{url}/user/{person.name}/formgrader/api/{action}",
        headers={"X-XSRFToken": xsrf},
        timeout=600 * SECONDS,
    )
    assert answer.ok, (action, answer.status, answer.text())
    result = answer.json()
    assert result.get("success"), (action, result)
    return result


def assignments_tab(page):
    menu(page, "Nbgrader", "Assignment List")
    return page.locator("#nbgrader-assignment-list")


def fill_as_student(person: Person, mistake: harness.Mistake | None) -> None:
    """The student's answers, written into their fetched notebook as their own UID."""
    fetched = person.home / ASSIGNMENT / NOTEBOOK
    filled = harness.fill(nbformat.read(fetched, 4), MASTER)
    if mistake is not None:
        filled = harness.apply(filled, mistake)
    written = as_user(person, "tee", str(fetched), stdin=nbformat.writes(filled))
    assert written.returncode == 0, written.stderr


def scores() -> tuple[float, float]:
    """(full marks, the mistake's score): the master's points, less its exercise's."""
    points = {
        notebooks.nbgrader_meta(cell)["grade_id"]: notebooks.nbgrader_meta(cell)[
            "points"
        ]
        for cell in MASTER.cells
        if notebooks.nbgrader_meta(cell).get("grade")
    }
    exercise = notebooks.exercises(MASTER)
    lost = sum(p for cell, p in points.items() if exercise[cell] == MISTAKE.exercise)
    assert 0 < lost < sum(points.values())
    return sum(points.values()), sum(points.values()) - lost


def student_submits(page, url: str, person: Person, mistake) -> None:
    """Fetch, fill, Validate and Submit in the Assignments tab."""
    in_lab(page, person)
    # The student's nbgrader: the Assignments tab, Validate, no formgrader.
    assert "Formgrader" not in menu(page, "Nbgrader", "Assignment List")
    assert page.request.get(f"{url}/user/{person.name}/formgrader").status == 404
    tab = page.locator("#nbgrader-assignment-list")
    tab.get_by_role("button", name="Fetch", exact=True).click(timeout=120 * SECONDS)
    tab.locator(".assignment-notebooks-link").first.click()  # show its notebooks
    validate = tab.get_by_role("button", name="Validate")
    validate.wait_for(timeout=60 * SECONDS)
    fill_as_student(person, mistake)
    validate.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=300 * SECONDS)
    report = dialog.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"{person.label}-validate.png"))
    if mistake is None:
        assert "Success! Your notebook passes all the tests." in report, report
    else:
        assert "The following cell failed" in report, report
        assert mistake.feedback in report, report
    dialog.get_by_role("button", name="Ok").click()
    tab.get_by_role("button", name="Submit").click()
    tab.locator("#submitted_assignments_list .list_item").first.wait_for(
        timeout=120 * SECONDS
    )
    page.screenshot(path=str(ARTIFACTS / f"{person.label}-assignments.png"))


def formgrader_scores(page, students: list[Person]) -> dict[str, str]:
    """The formgrader inside the instructor's JupyterLab (an iframe): student -> the
    Overall Score of their submission, as its Manual Grading page shows it."""
    menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator("iframe").first
    frame.get_by_role("link", name="Manual Grading").click(timeout=60 * SECONDS)
    frame.locator(f'a[href$="/gradebook/{ASSIGNMENT}"]').click()
    frame.locator(f'a[href$="/gradebook/{ASSIGNMENT}/{ASSIGNMENT}"]').click()
    rows = frame.locator("table tbody tr")
    rows.filter(has_text="Submission #").first.wait_for(timeout=60 * SECONDS)
    frame.get_by_text("Show All Names").click()  # submissions are anonymous at first
    found = {}
    for person in students:
        name = frame.get_by_text(person.name, exact=True)
        name.wait_for(timeout=60 * SECONDS)
        found[person.name] = rows.filter(has=name).locator("td").nth(2).inner_text()
    page.screenshot(path=str(ARTIFACTS / "instructor-formgrader.png"))
    return found


def student_reads_feedback(page, person: Person) -> str:
    """Fetch Feedback in the Assignments tab, open it; returns the feedback's text."""
    tab = assignments_tab(page)
    tab.get_by_role("button", name="Fetch Feedback").click(timeout=60 * SECONDS)
    tab.get_by_text("(view feedback)").click(timeout=120 * SECONDS)  # file browser
    page.locator(".jp-DirListing-item", has_text=".html").first.dblclick()
    viewer = page.frame_locator(".jp-MainAreaWidget iframe").last
    viewer.get_by_text("Score:").first.wait_for(timeout=60 * SECONDS)
    mistake = viewer.get_by_text(MISTAKE.feedback).first
    if mistake.count():  # show the feedback line in the screenshot
        mistake.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{person.label}-feedback.png"))
    return viewer.locator("body").inner_text()


def cannot_read(person: Person, path: Path) -> bool:
    """True when `person`'s UID can neither list nor read `path`."""
    command = ["ls", str(path)] if path.is_dir() else ["cat", str(path)]
    done = as_user(person, *command)
    return done.returncode != 0 and "Permission denied" in done.stderr


def test_a_class_on_jupyterhub(classroom):
    from playwright.sync_api import sync_playwright

    url, (teacher, right, wrong), exchange = classroom
    full, with_mistake = scores()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            # Everyone logs in at once: the hub starts the three servers together.
            everyone = (teacher, right, wrong)
            pages = {who.name: log_in(browser, url, who) for who in everyone}
            instructor = in_lab(pages[teacher.name], teacher)
            formgrader_api(instructor, url, teacher, f"assignment/{ASSIGNMENT}/assign")
            formgrader_api(instructor, url, teacher, f"assignment/{ASSIGNMENT}/release")

            student_submits(pages[right.name], url, right, None)
            student_submits(pages[wrong.name], url, wrong, MISTAKE)

            formgrader_api(instructor, url, teacher, f"assignment/{ASSIGNMENT}/collect")
            for person in (right, wrong):
                graded = formgrader_api(
                    instructor,
                    url,
                    teacher,
                    f"submission/{ASSIGNMENT}/{person.name}/autograde",
                )
                # The course's settings: the student's kernel ran sealed.
                assert "'bwrap'" in graded["log"], graded["log"][-3000:]
            assert formgrader_scores(instructor, [right, wrong]) == {
                right.name: f"{full:g} / {full:g}",
                wrong.name: f"{with_mistake:g} / {full:g}",
            }
            for action in ("generate_feedback", "release_feedback"):
                formgrader_api(
                    instructor, url, teacher, f"assignment/{ASSIGNMENT}/{action}"
                )

            for person, score in ((right, full), (wrong, with_mistake)):
                feedback = student_reads_feedback(pages[person.name], person)
                assert f"(Score: {score:.1f} / {full:.1f})" in feedback, feedback[:500]
                assert (MISTAKE.feedback in feedback) == (person is wrong)
                hidden = harness.secret_lines(MASTER, ("HIDDEN TESTS",))
                assert hidden and not [line for line in hidden if line in feedback]
        except Exception:
            for i, page in enumerate(p for c in browser.contexts for p in c.pages):
                page.screenshot(path=str(ARTIFACTS / f"failed-{i}.png"))
            raise
        finally:
            browser.close()

    # As each student's own UID: the other's work and the exchange's secrets are out
    # of reach. (A submission's folder in inbound is hidden by its unguessable name:
    # nbgrader makes it 777 with 644 files, inside an inbound folder nobody can list.)
    course = exchange / COURSE
    for person, other in ((right, wrong), (wrong, right)):
        for path in (
            course / "inbound",
            course / "feedback",
            other.home,
            other.home / ASSIGNMENT / NOTEBOOK,
            teacher.home,
            teacher.home / COURSE / "submitted" / other.name,
        ):
            assert cannot_read(person, path), (person.name, path)
        own = as_user(person, "cat", str(person.home / ASSIGNMENT / NOTEBOOK))
        assert own.returncode == 0, own.stderr  # the check itself works
