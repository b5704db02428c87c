"""A real PostgreSQL server for tests and benchmarks: Debian's `postgresql` package
(`initdb`/`pg_ctl` from /usr/lib/postgresql/*/bin), started in a temporary directory as
an unprivileged user (`postgres` when we are root: initdb refuses root), listening only
on a Unix socket in that directory, and removed at the end.

    with PostgresServer.started() as server:
        url = server.create_database("t1")   # postgresql://kasset@/t1?host=/tmp/...
        server.kill()                         # SIGQUIT: the crash of a server
        server.start()
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresServer", "find_pg_bin"]

SUPERUSER = "kasset"


def find_pg_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (hack/setup installs it)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not found:
        raise RuntimeError(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: run hack/setup "
            "(it installs Debian's postgresql package)"
        )
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "sock"
        self.log = root / "server.log"
        self.bin = find_pg_bin()
        self.fsync = fsync
        self._user = "postgres" if os.geteuid() == 0 else None
        self._ids = 0

    @classmethod
    @contextlib.contextmanager
    def started(cls, *, fsync: bool = False) -> Iterator[PostgresServer]:
        root = Path(tempfile.mkdtemp(prefix="kasset-pg-"))
        server = cls(root, fsync=fsync)
        try:
            server.init()
            server.start()
            yield server
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)

    def init(self) -> None:
        self.socket_dir.mkdir()
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8")  # fmt: skip

    def start(self) -> None:
        options = f"-k {self.socket_dir} -c listen_addresses='' -c max_connections=50"
        if not self.fsync:
            # A killed process loses no committed WAL with fsync off (the OS still has
            # it); only a crash of the machine would. synchronous_commit must stay on.
            options += " -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def kill(self) -> None:
        """Stops the server the hard way (`immediate`: no checkpoint, connections cut),
        as a crash would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        self._ids += 1
        name = f"{prefix}_{self._ids}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = self._run("psql", "-h", str(self.socket_dir), "-U", SUPERUSER, "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)  # fmt: skip
        return done.stdout.strip()

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [str(self.bin / tool), *args],
                check=True,
                capture_output=True,
                text=True,
                user=self._user,
                cwd=self.root,
                timeout=120,
            )
        except subprocess.CalledProcessError as error:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({error.returncode}): {error.stderr.strip()}\n{log}"
            ) from error
