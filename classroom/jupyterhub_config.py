"""JupyterHub for one class of the LSTM course on one machine (run as root).

    make classroom                     # setup.sh, then this hub on http://127.0.0.1:8000

Users are the machine's Unix accounts (classroom/add-user.sh makes them): they log in on
the hub's page with their password (PAM) and each server runs as its owner's UID
(LocalProcessSpawner). Only members of the Unix groups nbgrader-<course> (students) and
formgrade-<course> (instructors) may log in; the hub mirrors those memberships into
its own groups, which nbgrader reads to know who takes and who teaches the course.

Settings from the environment, all optional (LSTM_CLASSROOM_…): PREFIX (setup.sh's
prefix), IP and PORT (the public address), HUB_PORT and PROXY_API_PORT (loopback),
STATE (the hub's database and secrets), EXCHANGE (nbgrader's exchange root).
"""

import grp
import os
import pwd

from jupyterhub.spawner import LocalProcessSpawner

COURSE = "lstm-course"
STUDENTS = f"nbgrader-{COURSE}"
INSTRUCTORS = f"formgrade-{COURSE}"

env = os.environ.get
PREFIX = env("LSTM_CLASSROOM_PREFIX", "/opt/lstm-classroom")
BIN = os.path.join(PREFIX, "venv", "bin")
STATE = env("LSTM_CLASSROOM_STATE", "/var/lib/lstm-classroom")
EXCHANGE = env("LSTM_CLASSROOM_EXCHANGE", "/srv/nbgrader/exchange")

# The exchange: a fixed root every user can write to, sticky so that nobody can remove
# or rename another's folder. nbgrader makes the course's folders inside it with their
# own modes (outbound 755, inbound 2733: writable, not listable; feedback 711).
os.makedirs(EXCHANGE, exist_ok=True)
os.chmod(EXCHANGE, 0o1777)
os.makedirs(STATE, mode=0o700, exist_ok=True)

c = get_config()  # noqa: F821 (injected by traitlets)

c.JupyterHub.ip = env("LSTM_CLASSROOM_IP", "127.0.0.1")
c.JupyterHub.port = int(env("LSTM_CLASSROOM_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("LSTM_CLASSROOM_HUB_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{env('LSTM_CLASSROOM_PROXY_API_PORT', '8001')}"
)
c.ConfigurableHTTPProxy.command = [
    os.path.join(PREFIX, "proxy", "node_modules", ".bin", "configurable-http-proxy")
]
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "jupyterhub-proxy.pid")

# Log in with the Unix password; only the course's Unix groups get in.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}
c.Authenticator.manage_groups = True


def course_groups(authenticator, handler, authentication):
    """Mirror the user's course Unix groups into the hub's groups at each login."""
    name = authentication["name"]
    authentication["groups"] = [
        group for group in (STUDENTS, INSTRUCTORS) if name in grp.getgrnam(group).gr_mem
    ]
    return authentication


c.Authenticator.post_auth_hook = course_groups

# Each user's own JupyterLab, as their own UID, from the world-readable environment
# (LocalProcessSpawner; ClassroomSpawner below).
c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 180
c.Spawner.environment = {
    # nbgrader runs `alembic` through PATH.
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
    "LSTM_CLASSROOM_EXCHANGE": EXCHANGE,
}
# The server's token may read its own user's groups (nbgrader's JupyterHubAuthPlugin).
c.JupyterHub.load_roles = [
    {
        "name": "server",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            "read:users:name!user",
            "read:users:groups!user",
        ],
    }
]


def instructor_settings(spawner):
    """Instructors get the formgrader, Create Assignment and the course's grading
    settings (classroom/roles/instructor); students keep the sys-prefix defaults."""
    if INSTRUCTORS in {group.name for group in spawner.user.groups}:
        # A new dict: the configured one is shared by every user's spawner.
        spawner.environment = {
            **spawner.environment,
            "JUPYTER_CONFIG_PATH": os.path.join(PREFIX, "roles", "instructor"),
        }


c.Spawner.pre_spawn_hook = instructor_settings

# cgroup v2 only (v1 needs nothing here): a process may join a cgroup only where it
# may write their common ancestor, so each instructor's server starts in a subtree
# of their own under setup.sh's lstm-course/: it runs in `grader`, its grading
# sandboxes get their cgroups in `lstm-course` beside it (autograder/sealed/bounds.py).
CGROUPS = "/sys/fs/cgroup/lstm-course"


def own_cgroups(name):
    """As root, in the server's process before it becomes `name`: move it into
    lstm-course/<name>/grader, the subtree made theirs."""
    user = pwd.getpwnam(name)
    mine = os.path.join(CGROUPS, name)
    for folder in (mine, f"{mine}/grader", f"{mine}/lstm-course"):
        os.makedirs(folder, exist_ok=True)
    for folder in (mine, f"{mine}/lstm-course"):
        with open(f"{folder}/cgroup.subtree_control", "w") as control:
            control.write("+pids +memory +cpu")
    for folder, _, files in os.walk(mine):
        for entry in [folder] + [os.path.join(folder, f) for f in files]:
            os.chown(entry, user.pw_uid, user.pw_gid)
    with open(f"{mine}/grader/cgroup.procs", "w") as procs:
        procs.write(str(os.getpid()))


class ClassroomSpawner(LocalProcessSpawner):
    def make_preexec_fn(self, name):
        become = super().make_preexec_fn(name)
        instructor = INSTRUCTORS in {group.name for group in self.user.groups}
        if not (instructor and os.path.exists(f"{CGROUPS}/cgroup.procs")):
            return become

        def preexec():
            own_cgroups(name)
            become()

        return preexec


c.JupyterHub.spawner_class = ClassroomSpawner
