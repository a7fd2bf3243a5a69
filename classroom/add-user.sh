#!/usr/bin/env bash
# Give someone a classroom account (run as root; asks for the password, or reads it
# from standard input):
#
#   classroom/add-user.sh alice student
#   classroom/add-user.sh bob instructor
#
# A Unix user with a private home (mode 700), in the course's Unix group
# (nbgrader-lstm-course or formgrade-lstm-course), which lets them log in on the hub.
# An instructor also gets ~/lstm-course/source: the course's masters.
set -euo pipefail
COURSE=lstm-course
PREFIX=${LSTM_CLASSROOM_PREFIX:-/opt/lstm-classroom}
name=${1:?usage: add-user.sh NAME student|instructor}
case ${2:-} in
  student) group=nbgrader-$COURSE ;;
  instructor) group=formgrade-$COURSE ;;
  *) echo "add-user.sh: the role must be student or instructor, not '${2:-}'" >&2; exit 2 ;;
esac
if [ -t 0 ]; then
  read -rsp "password for $name: " password
  echo
else
  read -r password
fi
[ -n "$password" ] || { echo "add-user.sh: empty password" >&2; exit 2; }
groupadd -f "$group"
id "$name" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$name"
usermod -a -G "$group" "$name"
printf '%s:%s\n' "$name" "$password" | chpasswd
home=$(getent passwd "$name" | cut -d: -f6)
chmod 700 "$home"
if [ "$2" = instructor ] && [ ! -d "$home/$COURSE/source" ]; then
  mkdir -p "$home/$COURSE"
  cp -r "$PREFIX/course/source" "$home/$COURSE/source"
  chown -R "$name:" "$home/$COURSE"
  chmod 700 "$home/$COURSE"
fi
echo "classroom: $name can log in as a ${2} of $COURSE"
