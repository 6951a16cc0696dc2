"""Exit 0 when the PostgreSQL and Redis URLs given answer; else print why and exit 1."""

import socket
import sys
from urllib.parse import urlsplit


def reachable(url: str, default_port: int) -> str | None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"{parts.scheme} at {host}:{port} is not reachable ({exc.strerror or exc})"


def main() -> int:
    pg_url, redis_url = sys.argv[1], sys.argv[2]
    problems = [p for p in (reachable(pg_url, 5432), reachable(redis_url, 6379)) if p]
    if problems:
        print("; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
