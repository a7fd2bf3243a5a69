"""nbgrader's global settings for the classroom: one course, one exchange.

Installed by setup.sh into the hub environment's `etc/jupyter/` (sys-prefix level), so
every user's server and every `nbgrader` command in that environment reads it. The
hub sets LSTM_CLASSROOM_EXCHANGE for the servers it spawns (see jupyterhub_config.py).
"""

import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "lstm-course"
# A fixed root, mode 1777 (world-writable, sticky), created by the hub at start.
c.Exchange.root = os.environ.get("LSTM_CLASSROOM_EXCHANGE", "/srv/nbgrader/exchange")
# Courses come from the hub's groups: nbgrader-<course> (students) and
# formgrade-<course> (instructors); a user sees only their own courses.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
