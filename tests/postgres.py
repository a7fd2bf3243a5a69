"""A real PostgreSQL server for the tests, from Debian's packages.

`initdb` and `pg_ctl` build and start a private cluster in a temporary folder,
listening on a free loopback port, with password logins; it is stopped and
removed at the end of the session. PostgreSQL refuses to run as root, so as root
the server runs as the `postgres` user (made by the Debian package).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

USER, PASSWORD = "grader", "grader-secret"


def bin_dir() -> Path:
    """The newest Debian PostgreSQL's bin/ (initdb is not on PATH there)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    if shutil.which("pg_ctl"):
        return Path(shutil.which("pg_ctl")).parent
    raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running PostgreSQL cluster; `create(name)` gives a fresh database's URL."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="lstm-postgres-"))
        self.port = free_port()
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            shutil.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", owner.pw_name, "--"]
        secret = self.folder / "password"
        secret.write_text(PASSWORD)
        if self.as_user:
            shutil.chown(secret, "postgres")
        self.pg(
            "initdb",
            "-D",
            self.data,
            "-U",
            USER,
            f"--pwfile={secret}",
            "--auth=scram-sha-256",
            "--no-locale",
            "-E",
            "UTF8",
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
        self.pg("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")

    def pg(self, tool: str, *args) -> None:
        command = [*self.as_user, str(bin_dir() / tool), *map(str, args)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.is_file() else ""
            raise RuntimeError(f"{tool} failed:\n{done.stdout}{done.stderr}{log}")

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def query(self, database: str, sql: str) -> list[tuple]:
        # autocommit: CREATE DATABASE refuses to run in a transaction
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def create(self, database: str) -> str:
        """A new empty database; its URL."""
        self.query("postgres", f'CREATE DATABASE "{database}"')
        return self.url(database)

    def stop(self) -> None:
        try:
            self.pg("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    server = Server()
    yield server
    server.stop()
