"""What a graded class got wrong, as tables: one row a dict with stable English keys,
the same rows in the HTML page, the CSV files and the JSON.

Each student's result on each exercise is one of full, partial, zero or not
answered (the answer cell left as released, or only "not answered" failures). Lost
cells are diagnosed (`diagnosis.diagnose`); a student holds a mistake once per
exercise however many of its cells show it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from autograder.report import diagnosis, similar
from autograder.report.diagnosis import Diagnosis
from autograder.report.exercises import Exercise
from autograder.report.graded import Graded

FULL, PARTIAL, ZERO = "full", "partial", "zero"
NOT_ANSWERED = diagnosis.NOT_ANSWERED
STATUSES = (FULL, PARTIAL, ZERO, NOT_ANSWERED)


@dataclass
class Submission:
    """One student's notebook of one assignment, as graded."""

    student: str
    assignment: str
    cells: dict[str, tuple[float, float]]  # grade_id -> (score, max_score)
    exercises: list[Exercise]
    stubs: dict[str, str]  # answer grade_id -> the release's source
    graded: Graded | None = None  # None: the autograded notebook is unreadable
    problem: str = ""

    @property
    def points(self) -> float:
        return sum(score for score, _most in self.cells.values())

    @property
    def max_points(self) -> float:
        return sum(most for _score, most in self.cells.values())


@dataclass
class Outcome:
    """One student's result on one exercise."""

    student: str
    assignment: str
    exercise: str
    score: float
    max_score: float
    status: str
    hidden_only: bool  # every visible test passed, a hidden one did not
    lost: list[tuple[str, Diagnosis]] = field(default_factory=list)  # (cell, why)

    @property
    def diagnosis(self) -> Diagnosis | None:
        """The mistake a lost exercise is held for: the first failed cell's (the
        visible test comes first; a hidden test's failure may be diagnosed
        otherwise, as a consequence of the same mistake)."""
        told = [d for _c, d in self.lost if d.kind != NOT_ANSWERED]
        return told[0] if told and self.status in (PARTIAL, ZERO) else None

    def mistake(self) -> str:
        """Its mistake id, or its category when its check names none."""
        d = self.diagnosis
        return "" if d is None else d.mistake or f"{self.exercise} ({d.kind})"


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines() if line.strip()]


def outcome(sub: Submission, ex: Exercise) -> Outcome | None:
    cells = {c: sub.cells[c] for c in ex.cells if c in sub.cells}
    score = sum(s for s, _m in cells.values())
    max_score = sum(m for _s, m in cells.values())
    if max_score <= 0:
        return None
    graded = sub.graded
    lost = [
        (c, diagnosis.diagnose(graded.outputs.get(c, [])))
        for c, (s, m) in cells.items()
        if s < m and graded is not None
    ]
    answer = graded.answers.get(ex.name) if graded else None
    unchanged = answer is not None and ex.name in sub.stubs
    unchanged = unchanged and _lines(answer) == _lines(sub.stubs[ex.name])
    if score >= max_score:
        status = FULL
    elif unchanged or (lost and all(d.kind == NOT_ANSWERED for _c, d in lost)):
        status = NOT_ANSWERED
    else:
        status = ZERO if score <= 0 else PARTIAL
    visible = [cells[c] for c in cells if c not in ex.hidden]
    hidden = [cells[c] for c in cells if c in ex.hidden]
    hidden_only = (
        bool(visible)
        and all(s >= m for s, m in visible)
        and any(s < m for s, m in hidden)
    )
    return Outcome(
        sub.student,
        sub.assignment,
        ex.name,
        score,
        max_score,
        status,
        hidden_only,
        lost,
    )


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _by(items, key) -> dict:
    grouped = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def analyse(submissions: list[Submission], show=str) -> dict[str, list[dict]]:
    """Every table of the report. `show(student)` is how a student is named."""
    outcomes = [
        o for sub in submissions for ex in sub.exercises if (o := outcome(sub, ex))
    ]
    return {
        "assignments": assignments_table(submissions, outcomes),
        "exercises": exercises_table(outcomes, _order(submissions)),
        "misconceptions": misconceptions_table(outcomes, show, _order(submissions)),
        "students": students_table(submissions, outcomes, show),
        "lost": lost_table(outcomes, show),
        "incidents": incidents_table(submissions, show),
        "identical": identical_table(submissions, show),
        "submissions": submissions_table(submissions, show),
    }


def assignments_table(submissions, outcomes) -> list[dict]:
    subs_of = _by(submissions, lambda s: s.assignment)
    outcomes_of = _by(outcomes, lambda o: o.assignment)
    rows = []
    for assignment in sorted(subs_of):
        subs, ours = subs_of[assignment], outcomes_of[assignment]
        totals = [s.points for s in subs]
        max_points = max(s.max_points for s in subs)
        rows.append(
            {
                "assignment": assignment,
                "students": len(subs),
                "max_points": max_points,
                "median_points": _median(totals),
                "full_marks": sum(t >= max_points for t in totals),
                "exercises_not_answered": sum(o.status == NOT_ANSWERED for o in ours),
                "hidden_only": sum(o.hidden_only for o in ours),
            }
        )
    return rows


def exercises_table(outcomes: list[Outcome], order: dict) -> list[dict]:
    rows = []
    for (assignment, exercise), ours in _by(
        outcomes, lambda o: (o.assignment, o.exercise)
    ).items():
        counts = Counter(o.status for o in ours)
        rows.append(
            {
                "assignment": assignment,
                "exercise": exercise,
                "max_points": max(o.max_score for o in ours),
                "students": len(ours),
                **{status.replace("-", "_"): counts[status] for status in STATUSES},
                "hidden_only": sum(o.hidden_only for o in ours),
                "median_points": _median([o.score for o in ours]),
            }
        )
    return sorted(rows, key=lambda r: order[(r["assignment"], r["exercise"])])


@dataclass
class Held:
    """A mistake (or a category of lost cell) in one exercise, across the class."""

    students: set[str] = field(default_factory=set)
    messages: Counter = field(default_factory=Counter)


def misconceptions_table(outcomes: list[Outcome], show, order: dict) -> list[dict]:
    held: dict[tuple[str, str], dict[tuple, Held]] = defaultdict(dict)
    for o in outcomes:
        d = o.diagnosis
        if d is None:
            continue
        # without an id, its message is the best name a mistake has
        key = (d.kind, d.mistake, "" if d.mistake else d.message)
        entry = held[(o.assignment, o.exercise)].setdefault(key, Held())
        entry.students.add(o.student)
        entry.messages[d.message] += 1
    rows = []
    for (assignment, exercise), kinds in sorted(
        held.items(), key=lambda h: order[h[0]]
    ):
        ranked = sorted(kinds.items(), key=lambda kv: (-len(kv[1].students), kv[0]))
        for rank, ((kind, mistake, _same), entry) in enumerate(ranked, 1):
            message = min(entry.messages.items(), key=lambda m: (-m[1], m[0]))[0]
            rows.append(
                {
                    "assignment": assignment,
                    "exercise": exercise,
                    "rank": rank,
                    "mistake": mistake,
                    "kind": kind,
                    "students_count": len(entry.students),
                    "message": message,
                    "message_variants": len(entry.messages),
                    "students": sorted(show(s) for s in entry.students),
                }
            )
    return rows


def students_table(submissions, outcomes, show) -> list[dict]:
    outcomes_of = _by(outcomes, lambda o: o.student)
    rows = []
    for student, subs in _by(submissions, lambda s: s.student).items():
        ours = outcomes_of[student]
        points = sum(s.points for s in subs)
        max_points = sum(s.max_points for s in subs)
        lost = [o for o in ours if o.status in (PARTIAL, ZERO)]
        rows.append(
            {
                "student": show(student),
                "editions": sorted({s.graded.edition for s in subs if s.graded}),
                "assignments": len(subs),
                "points": points,
                "max_points": max_points,
                "lost_points": max_points - points,
                "exercises_lost": len(lost),
                "not_answered": sum(o.status == NOT_ANSWERED for o in ours),
                "mistakes": [o.mistake() for o in lost],
                "incidents": sum(len(s.graded.incidents) for s in subs if s.graded),
            }
        )
    # who to help first: who lost the most points, then the most exercises
    rows.sort(key=lambda r: (-r["lost_points"], -r["exercises_lost"], r["student"]))
    return [{"help_rank": i, **row} for i, row in enumerate(rows, 1)]


def lost_table(outcomes: list[Outcome], show) -> list[dict]:
    rows = [
        {
            "student": show(o.student),
            "assignment": o.assignment,
            "exercise": o.exercise,
            "points": o.score,
            "max_points": o.max_score,
            "status": o.status,
            "hidden_only": o.hidden_only,
            "mistake": o.mistake(),
        }
        for o in outcomes
        if o.status != FULL
    ]
    return sorted(rows, key=lambda r: (r["student"], r["assignment"]))


def incidents_table(submissions: list[Submission], show) -> list[dict]:
    """What the grader refused or bounded, as `lstm-course grade` lists it."""
    rows = []
    for sub in submissions:
        owner = {c: ex.name for ex in sub.exercises for c in [ex.name, *ex.cells]}
        for incident in sub.graded.incidents if sub.graded else []:
            rows.append(
                {
                    "student": show(sub.student),
                    "assignment": sub.assignment,
                    "exercise": owner.get(incident.cell, ""),
                    "cell": incident.cell,
                    "kind": incident.kind,
                    "reason": incident.reason,
                }
            )
    return sorted(rows, key=lambda r: (r["student"], r["assignment"], r["cell"]))


def _order(submissions: list[Submission]) -> dict[tuple[str, str], int]:
    """Each (assignment, exercise) in course order."""
    order: dict[tuple[str, str], int] = {}
    for sub in sorted(submissions, key=lambda s: s.assignment):
        for ex in sub.exercises:
            order.setdefault((sub.assignment, ex.name), len(order))
    return order


def identical_table(submissions: list[Submission], show) -> list[dict]:
    answers: dict[tuple[str, str], similar.Answers] = {}
    for sub in submissions:
        if sub.graded is None:
            continue
        for ex in sub.exercises:
            if ex.name not in sub.graded.shapes:
                continue
            key = (sub.assignment, ex.name)
            if key not in answers:
                stub = similar.shape(sub.stubs.get(ex.name, ""))
                answers[key] = similar.Answers(*key, stub, similar.shape(ex.solution))
            answers[key].by_student[sub.student] = sub.graded.shapes[ex.name]
    order = _order(submissions)
    groups = [
        g
        for key in sorted(answers, key=order.get)
        for g in similar.groups(answers[key])
    ]
    return [
        {
            "assignment": g.assignment,
            "exercise": g.exercise,
            "students": sorted(show(s) for s in g.students),
            "size": g.nodes,
            "solution": g.solution,
        }
        for g in sorted(groups, key=lambda g: g.solution)  # the course's own last
    ]


def submissions_table(submissions: list[Submission], show) -> list[dict]:
    rows = [
        {
            "student": show(s.student),
            "assignment": s.assignment,
            "edition": s.graded.edition if s.graded else "",
            "points": s.points,
            "max_points": s.max_points,
            "incidents": [str(i) for i in s.graded.incidents] if s.graded else [],
            "problem": s.problem,
        }
        for s in submissions
    ]
    return sorted(rows, key=lambda r: (r["assignment"], r["student"]))
