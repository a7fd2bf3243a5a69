"""nbgrader configuration: this repository is itself an nbgrader course.

    solutions/<id>/<id>.ipynb   source (masters, with solutions and hidden tests)
    notebooks/<id>/<id>.ipynb   release (generated; what learners get)
    .course/                    submitted, autograded, feedback, exchange, gradebook
                                (git-ignored)
"""

import os

ROOT = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(ROOT, ".course")
os.makedirs(WORK, exist_ok=True)  # sqlite does not create folders

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "lstm-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = ".course/submitted"
c.CourseDirectory.autograded_directory = ".course/autograded"
c.CourseDirectory.feedback_directory = ".course/feedback"
c.CourseDirectory.solution_directory = ".course/solution"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(WORK, "gradebook.db")
c.Exchange.root = os.path.join(WORK, "exchange")

# A stub learners recognise, and a per-cell time limit that stops infinite loops.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.timeout = 60
