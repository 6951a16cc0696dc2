"""Throwaway Redis and PostgreSQL servers of a test's own, on free loopback ports, that the
test stops and starts again at will (never the machine's shared ones).

`OwnRedis` and `OwnPostgres` raise `Unavailable` (with the reason) when this machine lacks
the server's binaries, so the fixtures skip with that reason instead of failing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT = 30.0


class Unavailable(RuntimeError):
    """This machine cannot run the server; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `condition` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class OwnRedis:
    """`redis-server` with no persistence; `stop()` kills it (a crash), `start()` brings it
    back, empty, on the same port, as a restarted Redis without persistence is."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise Unavailable("redis-server is not installed (apt-get install redis-server)")
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until(lambda: port_open(self.port), timeout=START_TIMEOUT, what="redis-server")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _postgres_bin() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not candidates:
        raise Unavailable(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
            " (apt-get install postgresql)"
        )
    return Path(candidates[-1]).parent


class OwnPostgres:
    """A PostgreSQL cluster initdb'd in `workdir` (trust auth, fsync off), on a free port.

    PostgreSQL refuses to run as root: as root, it runs as the `postgres` system user."""

    def __init__(self, workdir: Path) -> None:
        self.bin = _postgres_bin()
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no postgres user") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise Unavailable("running as root and runuser is missing")
            os.chown(workdir, user.pw_uid, user.pw_gid)
            self._as = [runuser, "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, cwd=self.workdir
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def init(self) -> OwnPostgres:
        self._run(
            str(self.bin / "initdb"),
            "-D", str(self.data),
            "-U", "postgres",
            "--auth=trust",
            "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        return self

    def start(self) -> OwnPostgres:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.workdir}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        # -w: pg_ctl returns once the server accepts connections.
        self._run(
            str(self.bin / "pg_ctl"),
            "-D", str(self.data),
            "-o", options,
            "-l", str(self.workdir / "postgres.log"),
            "-w",
            "-t", str(int(START_TIMEOUT)),
            "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, new connections refused until `start()`."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
