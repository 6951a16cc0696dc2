"""A throwaway multi-process deployment on this machine, for tests/deploy and the benchmark.

`Cluster` creates its own PostgreSQL database (dropped at the end) and its own channel-layer
prefix on Redis (its keys deleted at the end), so it never touches another run's data.
It migrates, collects static files and starts daphne processes on free ports with the
production settings, as deploy/ describes; `Server.kill()` / `restart()` for crash tests.
Generated secrets live only in the child processes' environment; they are never printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_BASE_URL = "https://cc.example.test"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


class ClusterError(RuntimeError):
    pass


def process_cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process (all its threads) has used so far, from /proc
    (Linux). OSError when there is no such process."""
    # The fields after the command's closing parenthesis; utime and stime are 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (`process_cpu_times`)."""
    return sum(process_cpu_times(pid))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable(url: str, default_port: int) -> str:
    """Why the server named by `url` cannot be reached ("" when it answers)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return ""
    except OSError as exc:
        return f"{parts.scheme} at {host}:{port} is not reachable ({exc.strerror or exc})"


def postgres_server_url() -> str:
    """The PostgreSQL server to create throwaway databases on: the suite's own when it runs
    on PostgreSQL, else this machine's default."""
    for name in ("DATABASE_URL", "TEST_DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return DEFAULT_PG


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """One daphne process. `address` is what the proxy forwards to."""

    cluster: Cluster
    name: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, timeout: float = 30.0) -> Server:
        self.start_async()
        self.wait_started(timeout=timeout)
        return self

    def start_async(self) -> None:
        self.log_path = self.cluster.workdir / f"{self.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps it)
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "--proxy-headers",
            "-v",
            "1",
            self.cluster.asgi_application,
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def wait_started(self, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self.process is None or self.process.poll() is not None:
                raise ClusterError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ClusterError(f"{self.name} did not listen in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)  # a process starting up: nothing to wait on but its port

    def kill(self) -> None:
        """SIGKILL: a crash, no goodbye to its websockets."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, *, timeout: float = 10.0) -> None:
        """SIGTERM, as systemd does on a deploy; SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> Server:
        self.kill()
        return self.start()

    def rss_kb(self) -> int:
        """Resident memory of the process, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ClusterError("no VmRSS in /proc")

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (user + system), from /proc (Linux)."""
        return process_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Cluster:
    """Database, Redis prefix, settings and processes of one throwaway deployment."""

    postgres_url: str = field(default_factory=postgres_server_url)
    redis_url: str | None = None
    settings_module: str = "contactcenter.settings_production"
    asgi_application: str = "contactcenter.asgi:application"
    public_base_url: str = PUBLIC_BASE_URL
    phlo_base_url: str = "http://127.0.0.1:9/v1"
    extra_env: dict[str, str] = field(default_factory=dict)
    label: str = "ccdeploy"

    def __post_init__(self) -> None:
        token = secrets.token_hex(5)
        self.database = f"{self.label}_{token}"
        self.channels_prefix = f"{self.label}-{token}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.label}-"))
        self.static_root = self.workdir / "static"
        # Throwaway credentials; the test signs callbacks with the same token.
        self.auth_token = secrets.token_urlsafe(24)
        self.auth_id = "MA" + secrets.token_hex(9).upper()
        self.phlo_id = "5e1d6a3c-1111-4000-8000-000000000001"
        self.node_id = "5e1d6a3c-1111-4000-8000-000000000002"
        self._secret_key = secrets.token_urlsafe(64)
        self.servers: list[Server] = []
        self._created = False
        # sql()'s connections, one per thread, all listed to be closed by destroy().
        self._readers = threading.local()
        self._readers_lock = threading.Lock()
        self._reader_conns: list = []

    @property
    def database_url(self) -> str:
        return _with_database(self.postgres_url, self.database)

    # --- environment ----------------------------------------------------------------------

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": self.settings_module,
                "DATABASE_URL": self.database_url,
                "CHANNELS_PREFIX": self.channels_prefix,
                "DJANGO_SECRET_KEY": self._secret_key,
                "DJANGO_STATIC_ROOT": str(self.static_root),
                "PUBLIC_BASE_URL": self.public_base_url,
                "PHLO_SIMULATOR": "0",
                "PHLO_BASE_URL": self.phlo_base_url,
                "PLIVO_AUTH_ID": self.auth_id,
                "PLIVO_AUTH_TOKEN": self.auth_token,
                "PHLO_ID": self.phlo_id,
                "PHLO_MPC_NODE_ID": self.node_id,
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
            }
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        env.update(overrides)
        return env

    # --- database -------------------------------------------------------------------------

    def _admin(self):
        import psycopg

        return psycopg.connect(_with_database(self.postgres_url, "postgres"), autocommit=True)

    def create(self, *, collectstatic: bool = True) -> Cluster:
        """Create the database, migrate it and (by default) collect static files."""
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self._created = True
        steps = ["migrate"] + (["collectstatic"] if collectstatic else [])
        self.run_python("-m", "harness.seed", "prepare", *steps)
        return self

    def run_python(self, *args: str, stdin: str | None = None, **env: str) -> str:
        """Run python with the cluster's environment; its stdout, or ClusterError."""
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env(**env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def seed(self, command: str, spec: dict) -> dict:
        """`harness.seed <command>` with a JSON spec on stdin; its JSON answer."""
        out = self.run_python("-m", "harness.seed", command, stdin=json.dumps(spec))
        return json.loads(out.strip().splitlines()[-1])

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the cluster's database directly (what the tests check against).

        Each thread keeps its connection: a new one forks a PostgreSQL backend, and the
        queue bench's twenty polling agents forked dozens a second, a third of a core taken
        from the app they measure. A connection the server dropped (a restart) is opened
        again once; the query is a read, so running it again is safe."""
        import psycopg

        try:
            return list(self._reader().execute(query, params).fetchall())
        except psycopg.OperationalError:
            self._forget_reader()
            return list(self._reader().execute(query, params).fetchall())

    def _reader(self):
        import psycopg

        conn = getattr(self._readers, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.database_url, autocommit=True)
            self._readers.conn = conn
            with self._readers_lock:
                self._reader_conns.append(conn)
        return conn

    def _forget_reader(self) -> None:
        conn = getattr(self._readers, "conn", None)
        self._readers.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close_readers(self) -> None:
        """Close every thread's reading connection (before the database is dropped)."""
        with self._readers_lock:
            conns, self._reader_conns = self._reader_conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    # --- processes ------------------------------------------------------------------------

    def start_server(self, *, name: str | None = None, **env: str) -> Server:
        server = Server(
            cluster=self,
            name=name or f"app{len(self.servers) + 1}",
            port=free_port(),
            env=self.env(**env),
        )
        self.servers.append(server)
        return server.start()

    def start_servers(self, count: int, **env: str) -> list[Server]:
        """Start `count` processes at once (they boot in parallel)."""
        servers = [
            Server(
                cluster=self,
                name=f"app{len(self.servers) + i + 1}",
                port=free_port(),
                env=self.env(**env),
            )
            for i in range(count)
        ]
        self.servers += servers
        for server in servers:
            server.start_async()
        for server in servers:
            server.wait_started()
        return servers

    def stop_servers(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()

    # --- teardown -------------------------------------------------------------------------

    def destroy(self) -> None:
        """Stop every process, drop the database, delete this run's Redis keys and its
        working directory (logs and static files; CLUSTER_KEEP_LOGS=1 keeps them)."""
        self.stop_servers()
        self.close_readers()
        if self._created:
            from psycopg import sql

            with contextlib.suppress(Exception), self._admin() as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.database)
                    )
                )
            self._created = False
        if self.redis_url:
            with contextlib.suppress(Exception):
                flush_redis_prefix(self.redis_url, self.channels_prefix)
        if os.environ.get("CLUSTER_KEEP_LOGS") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def flush_redis_prefix(redis_url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        return client.delete(*keys) if keys else 0
    finally:
        client.close()
