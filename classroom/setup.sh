#!/usr/bin/env bash
# Build the classroom's environment where every user can read it (run as root):
#
#   classroom/setup.sh            # into $LSTM_CLASSROOM_PREFIX (default /opt/lstm-classroom)
#
#   $PREFIX/venv        Debian's Python with the course, JupyterHub and nbgrader
#   $PREFIX/proxy       configurable-http-proxy, exactly as classroom/package-lock.json
#   $PREFIX/course      the masters, copied into each new instructor's course folder
#   $PREFIX/venv/etc/jupyter   the course's nbgrader and JupyterLab settings (see below)
#
# Idempotent: re-running reinstalls the course (fast) and skips what is up to date.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
PREFIX=${LSTM_CLASSROOM_PREFIX:-/opt/lstm-classroom}
# Not a Python under /root: a home with mode 700 is unreadable to the students' UIDs.
PYTHON=${LSTM_CLASSROOM_PYTHON:-/usr/bin/python3}
umask 022

"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' || {
  echo "classroom: $PYTHON must be Python 3.11 (the course and torch==2.13.0 need it)" >&2
  exit 1
}
mkdir -p "$PREFIX"
chmod 755 "$PREFIX"
exec 9>"$PREFIX/.setup.lock"  # one setup at a time
flock 9

# Python: the course (non-editable, so nothing points back into this checkout; built
# from a copy, so nothing is written into it) + the hub.
if [ ! -x "$PREFIX/venv/bin/python" ]; then
  "$PYTHON" -m venv "$PREFIX/venv"
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp -r "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/autograder" "$REPO/lstm_ref" "$build"
requirements="$HERE/requirements.txt"
if ! cmp -s "$requirements" "$PREFIX/venv/.requirements" ||
   ! cmp -s "$REPO/pyproject.toml" "$PREFIX/venv/.pyproject"; then
  "$PREFIX/venv/bin/pip" install --quiet -r "$requirements" "$build"
  cp "$requirements" "$PREFIX/venv/.requirements"
  cp "$REPO/pyproject.toml" "$PREFIX/venv/.pyproject"
fi
# The course's own code changes more often than its dependencies: always refresh it.
"$PREFIX/venv/bin/pip" install --quiet --no-deps --force-reinstall "$build"

# Node: the hub's proxy, pinned by the lock file.
if ! cmp -s "$HERE/package-lock.json" "$PREFIX/proxy/package-lock.json"; then
  mkdir -p "$PREFIX/proxy"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$PREFIX/proxy/"
  npm ci --prefix "$PREFIX/proxy" --omit=dev --no-audit --no-fund --loglevel=error
fi

# The course's masters, the source of every instructor's course folder.
rm -rf "$PREFIX/course"
mkdir -p "$PREFIX/course"
cp -r "$REPO/solutions" "$PREFIX/course/source"

# Settings every user's server reads (sys-prefix level, lowest priority):
# nbgrader's exchange and course, and the student's view of the nbgrader plugins.
etc="$PREFIX/venv/etc/jupyter"
mkdir -p "$etc/labconfig" "$etc/jupyter_server_config.d"
cp "$HERE/nbgrader_config.py" "$etc/nbgrader_config.py"
cp "$HERE/roles/student/page_config.json" "$etc/labconfig/page_config.json"
cp "$HERE/roles/student/nbgrader.json" "$etc/jupyter_server_config.d/nbgrader.json"
# The instructor's extra settings, put first on JUPYTER_CONFIG_PATH by the hub.
rm -rf "$PREFIX/roles"
mkdir -p "$PREFIX/roles/instructor/labconfig"
cp "$HERE/roles/instructor/page_config.json" "$PREFIX/roles/instructor/labconfig/"
cp "$HERE/roles/instructor/jupyter_server_config.json" \
   "$HERE/roles/instructor/nbgrader_config.py" "$PREFIX/roles/instructor/"
chmod -R a+rX "$PREFIX"

# Grading sandboxes are bounded by cgroups (autograder/sealed/bounds.py), and the
# instructors autograde as themselves: their group may make cgroups in lstm-course/
# at the top of each hierarchy (cgroup v1: pids, memory, cpu; v2: one, whose
# controllers go on to the cgroups below it, where the hub starts each instructor's
# server: jupyterhub_config.py). cgroups do not outlive a reboot: `make classroom`
# runs this again.
instructors=formgrade-lstm-course
groupadd -f "$instructors"
cgroups=/sys/fs/cgroup
delegate() {  # a folder of cgroups, and its files, writable by the group
  mkdir -p "$1" && chgrp "$instructors" "$@" && chmod g+w "$@"
}
if [ -f "$cgroups/cgroup.subtree_control" ]; then  # cgroup v2
  controllers="+pids +memory +cpu"
  { echo "$controllers" > "$cgroups/cgroup.subtree_control" &&
    delegate "$cgroups/lstm-course" &&
    echo "$controllers" > "$cgroups/lstm-course/cgroup.subtree_control"; } ||
    echo "classroom: no cgroup v2 subtree for the instructors: autograde refuses" >&2
else
  for controller in pids memory cpu; do
    [ -w "$cgroups/$controller/cgroup.procs" ] && delegate "$cgroups/$controller/lstm-course" ||
      echo "classroom: no cgroup $controller subtree for the instructors" >&2
  done
fi
echo "classroom environment ready in $PREFIX"
