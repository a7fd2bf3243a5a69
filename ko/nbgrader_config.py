"""nbgrader configuration of the Korean edition (한국어판), a course of its own:

    ko/solutions/<id>/<id>.ipynb   source: the Korean masters, generated from the
                                   English ones by `lstm-course release`
    ko/notebooks/<id>/<id>.ipynb   release (generated; what Korean learners get)
    ko/.course/                    submitted, autograded, feedback, exchange,
                                   gradebook (git-ignored)

Run nbgrader from this folder (`cd ko && nbgrader generate_assignment …`); the
grading options are the English edition's.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the course's own packages (autograder/)

from autograder.grading import course  # noqa: E402

course.configure(get_config(), HERE, course_id="lstm-course-ko")  # noqa: F821
