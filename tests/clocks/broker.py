"""Point the Celery app at another broker for one test, with a fresh connection pool."""

from contextlib import contextmanager

from config.celery_app import app
from core import queue


def _reset_pool() -> None:
    # As Celery does after a fork: drop the connection and producer pools; they are rebuilt lazily.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url: str):
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    _reset_pool()
    queue.resume()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_pool()
        queue.resume()
