"""The real processes of the chaos tests: a private Redis on a free port (never the machine's own), Celery
workers and a gunicorn web server on the test database, each logging to a file the test can show. What they
send out goes to a sink directory: sink/mail/ (one file per email, tests/chaos/mail_sink.py) and
sink/payments.log (one line per refund asked of the gateway, tests/chaos/gateway.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
MACHINE_REDIS_PORT = 6379


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dead_port() -> int:
    """A port where nothing listens (a refused connection, as a Redis that is gone)."""
    return free_port()


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log and log.exists() else ""
    raise AssertionError(f"{what}: not within {timeout}s\n{tail}")


class RedisServer:
    """redis-server on its own port, in memory only. stop() kills it (an outage); start() brings it back on
    the same port, empty, as a restarted Redis without persistence comes back."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        assert self.port != MACHINE_REDIS_PORT, "never the machine's own Redis"
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.directory / f"redis-{self.port}.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, timeout=10, what=f"redis-server on {self.port} answering")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_connect_timeout=1, socket_timeout=2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """Stopped but not gone: connections open, nothing answered (a hung or overloaded Redis)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def _env(redis_url: str, sink: Path, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.chaos.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "CELERY_EAGER": "false",
        "CHAOS_MAIL_DIR": str(sink / "mail"),
        "CHAOS_PAYMENTS": str(sink / "payments.log"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, no rollback sent; the database and the broker find out."""
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def start_worker(
    name: str, *, redis_url: str, sink: Path, logs: Path, pause: str = "", wait_ready: bool = True
) -> Process:
    """A Celery worker (solo pool: one process, so SIGKILL takes the task with it), pausing at `pause`
    (tests/chaos/pauses.py), its pause marker at logs/NAME.paused."""
    env = _env(redis_url, sink, CHAOS_PAUSE=pause, CHAOS_MARKER=str(logs / f"{name}.paused"))
    worker = Process(name, [sys.executable, "-m", "tests.chaos.worker", name], env, logs / f"{name}.log")
    if wait_ready:
        wait_until(lambda: " ready." in worker.output() or not worker.alive(), timeout=60, what=f"{name} ready")
        assert worker.alive(), worker.output()
    return worker


def paused(worker: Process, logs: Path, *, timeout: float = 60) -> str:
    """Wait until `worker` stops at its pause point; what it says about where it is."""
    marker = logs / f"{worker.name}.paused"
    wait_until(
        lambda: marker.exists() or not worker.alive(), timeout=timeout, what=f"{worker.name} paused", log=worker.log
    )
    assert worker.alive(), worker.output()
    return marker.read_text()


def start_web(*, redis_url: str, sink: Path, logs: Path, threads: int = 8) -> tuple[Process, str]:
    """gunicorn serving the project on a free port, one process with `threads` threads; (process, base URL)."""
    port = free_port()
    web = Process(
        "web",
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", str(threads), "--timeout", "60", "--no-control-socket", "--access-logfile", "-"],
        _env(redis_url, sink),
        logs / "web.log",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert web.alive(), web.output()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_until(answers, timeout=60, what="gunicorn listening", log=web.log)
    return web, base


def payments_asked(sink: Path) -> list[str]:
    """The reference of every refund the gateway was asked for, in order, repeats included."""
    log = sink / "payments.log"
    return log.read_text().split() if log.exists() else []
