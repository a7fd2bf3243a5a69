"""nbgrader configuration: this repository is itself an nbgrader course.

    solutions/<id>/<id>.ipynb   source (masters, with solutions and hidden tests)
    notebooks/<id>/<id>.ipynb   release (generated; what learners get)
    .course/                    submitted, autograded, feedback, exchange, gradebook
                                (git-ignored)

The Korean edition is a course of its own in ko/ (ko/nbgrader_config.py). The
grading options (sealed kernels, timeout, warnings on stderr, restored test cells,
a kernel that dies, feedback without hidden tests) live in `autograder/settings.py`,
shared with the `lstm-course` CLI so both grade alike.
"""

import os

from autograder.grading import course

course.configure(get_config(), os.path.dirname(os.path.abspath(__file__)))  # noqa: F821
