from pathlib import Path

import pytest

from core import cache as core_cache
from tests.chaos.processes import Process, RedisServer


@pytest.fixture(autouse=True)
def _cache_breaker_closed():
    core_cache.reset()
    yield
    core_cache.reset()


@pytest.fixture
def logs(tmp_path) -> Path:
    """Where the processes log; shown when a wait times out, kept by pytest's tmp_path for a failed run."""
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture
def sink(tmp_path) -> Path:
    """What the processes send out: emails in sink/mail/, refunds asked in sink/payments.log."""
    path = tmp_path / "sink"
    (path / "mail").mkdir(parents=True)
    return path


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def processes(transactional_db):
    """Processes started by a test, stopped before the database is emptied (they hold connections to it)."""
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()
