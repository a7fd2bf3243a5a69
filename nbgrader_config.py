"""nbgrader configuration: this repository is itself an nbgrader course.

    solutions/<id>/<id>.ipynb   source (masters, with solutions and hidden tests)
    notebooks/<id>/<id>.ipynb   release (generated; what learners get)
    .course/                    submitted, autograded, feedback, exchange, gradebook
                                (git-ignored)

The grading options (sealed kernels, timeout, warnings on stderr, restored test
cells, a kernel that dies, feedback without hidden tests) live in
`autograder/settings.py`, shared with the `lstm-course` CLI so both grade alike.
"""

import os

from autograder import gradebook, settings

ROOT = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(ROOT, ".course")
EXCHANGE = os.path.join(WORK, "exchange")
os.makedirs(EXCHANGE, exist_ok=True)  # sqlite and the exchange need their folders

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "lstm-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = ".course/submitted"
c.CourseDirectory.autograded_directory = ".course/autograded"
c.CourseDirectory.feedback_directory = ".course/feedback"
c.CourseDirectory.solution_directory = ".course/solution"
# A shared gradebook (postgresql://user:password@host/grades): $LSTM_COURSE_DB.
c.CourseDirectory.db_url = gradebook.from_env() or "sqlite:///" + os.path.join(
    WORK, "gradebook.db"
)
c.Exchange.root = EXCHANGE

# Grading kernels run sealed in bubblewrap; LSTM_COURSE_UNSEALED=1 opts out.
settings.apply(c, sealed=settings.sealed_by_env())
