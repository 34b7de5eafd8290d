"""Gunicorn hooks for the load test: what each request cost inside its worker.

`bench/load/loadtest.py` starts gunicorn with `-c bench/load/gunicorn_conf.py` and LOAD_REQUEST_LOG
naming a file. After each request a worker appends one line to it:

    <unix time> <method> <path> <status> <ms in the worker> <ms of its CPU> <queries> <ms in queries> <bytes in>

A sync worker serves one request at a time, so the process's CPU time across the request is that
request's (Python, templates, the photo pipeline; PostgreSQL's own CPU is not in it, the time spent
waiting on queries is). Queries are counted with Django's `execute_wrapper` on the worker's
connection. Nothing here changes what the application does.
"""

import os
import time

LOG = os.environ.get("LOAD_REQUEST_LOG", "")


class _Queries:
    """Counts the queries a request makes and the time spent in them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


_queries = _Queries()


def pre_request(worker, req) -> None:
    from django.db import connection

    if _queries not in connection.execute_wrappers:
        connection.execute_wrappers.append(_queries)
    _queries.count, _queries.seconds = 0, 0.0
    req.load_started = (time.perf_counter(), time.process_time())


def post_request(worker, req, environ, resp) -> None:
    if not LOG or not hasattr(req, "load_started"):
        return
    wall = (time.perf_counter() - req.load_started[0]) * 1000
    cpu = (time.process_time() - req.load_started[1]) * 1000
    length = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), "0")
    status = str(getattr(resp, "status", "0")).split(" ", 1)[0]
    line = (
        f"{time.time():.3f} {req.method} {req.path} {status} {wall:.1f} {cpu:.1f} {_queries.count}"
        f" {_queries.seconds * 1000:.1f} {length}\n"
    )
    with open(LOG, "a") as log:  # one short append per request: lines from the workers do not mix
        log.write(line)
