"""The gradebook's database: checked before grading, and taken in turns when shared.

nbgrader keeps its gradebook behind a SQLAlchemy URL: sqlite in `.course/` by
default, PostgreSQL (`postgresql://user:password@host/grades`) when several
grading runs, on one machine or several, share one. `LSTM_COURSE_DB` sets it for
`lstm-course grade` and for plain nbgrader commands (nbgrader_config.py) alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from autograder.errors import CourseError

ENV = "LSTM_COURSE_DB"
CONNECT_TIMEOUT = 10  # seconds before an unreachable server is reported
HOW = f"--db or ${ENV}"


def from_env() -> str | None:
    return os.environ.get(ENV) or None


def shown(url: str | URL) -> str:
    """The URL without its password, fit to print."""
    try:
        parsed = make_url(url)._replace(password=None)
        return parsed.render_as_string(hide_password=False)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1@", str(url))


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise CourseError(
            f"gradebook {shown(url)!r} is not a database URL: give "
            f"postgresql://user:password@host/grades or sqlite:///path ({HOW})"
        ) from None


def _is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def check(url: str) -> None:
    """Connect once; a gradebook that cannot be used raises one `CourseError` line
    naming the URL (without its password) and the fix."""
    parsed = _parse(url)
    args = {"connect_timeout": CONNECT_TIMEOUT} if _is_postgres(parsed) else {}
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=args)
    except (NoSuchModuleError, ModuleNotFoundError):
        raise CourseError(
            f"gradebook {shown(parsed)}: no driver for {parsed.drivername!r}; "
            f"use postgresql://… or sqlite:///… ({HOW})"
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as error:
        what = diagnose(parsed, error)
        raise CourseError(f"gradebook {shown(parsed)}: {what}") from None
    finally:
        engine.dispose()


def diagnose(url: URL, error: DBAPIError) -> str:
    """What went wrong, and what to do about it, from the driver's message."""
    message = str(error.orig).strip()
    reason = message.splitlines()[0] if message else type(error.orig).__name__
    reason = " ".join(re.sub(r"^.* failed: |FATAL:", "", reason).split())
    if not _is_postgres(url):
        return f"cannot open it ({reason}): create its folder or fix the path ({HOW})"
    if re.search(r"password|authentication|pg_hba|role .* does not exist", message):
        return (
            f"the server refused the login of user {url.username!r} ({reason}): "
            f"fix the user and password in the URL ({HOW}) or the server's pg_hba.conf"
        )
    if re.search(r"database .* does not exist", message):
        return (
            f"database {url.database!r} does not exist: create it "
            f"(createdb -h {url.host or 'localhost'} -U {url.username} {url.database})"
        )
    return (
        f"cannot reach the server ({reason}): start PostgreSQL there, or fix the "
        f"host and port in the URL ({HOW})"
    )


@contextmanager
def exclusive(url: str, course_id: str) -> Iterator[None]:
    """Hold the course's lock on a shared (PostgreSQL) gradebook.

    nbgrader's `update_or_create_*` read, then insert: two grading runs releasing
    the same assignment, or recording the same student, at once would both insert
    and one fail on a unique constraint. A PostgreSQL advisory lock makes them take
    turns; it is released when the block ends, or when its connection dies.
    sqlite gradebooks are never shared (nbgrader #174), so they need none.
    """
    parsed = make_url(url)
    if not _is_postgres(parsed):
        yield
        return
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            key = {"name": f"nbgrader {course_id}"}
            connection.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), key)
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:name))"), key
                )
    finally:
        engine.dispose()
