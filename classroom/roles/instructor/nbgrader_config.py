"""The instructor's course folder and the course's grading settings.

On JUPYTER_CONFIG_PATH of the instructor's server (the hub puts it there), so the
formgrader's Generate, Release, Collect, Autograde and Feedback buttons, and
`nbgrader` in the instructor's JupyterLab terminal, grade as the course does.
"""

import os

from autograder.grading import options

c = get_config()  # noqa: F821 (injected by traitlets)

# ~/lstm-course/source holds the masters (copied at account creation); nbgrader's
# default folders (release, submitted, autograded, feedback, gradebook.db) go beside.
c.CourseDirectory.root = os.path.expanduser("~/lstm-course")
options.apply(c)
