"""Gunicorn in production: `gunicorn -c config/gunicorn.py config.wsgi`.

Binds to $PORT on every interface when PORT is set (as gunicorn does by itself, and as platforms
that set PORT expect), else to 127.0.0.1:8000; GUNICORN_CMD_ARGS="--bind ..." overrides either.
WEB_CONCURRENCY sync workers (4 by default): each answers one request at a time.

Metrics (core/metrics.py): with PROMETHEUS_MULTIPROC_DIR set, every worker, and every Celery
process given the same directory, writes its counts there, and /metrics adds them up. The
directory must exist and be writable by these processes; it lives as long as the deployment.
"""

import os
import re
from pathlib import Path

from prometheus_client import multiprocess

_port = os.environ.get("PORT")
bind = [f"0.0.0.0:{_port}" if _port else "127.0.0.1:8000"]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
# Above the 30 s a photo upload may wait for the decode budget (messaging/photos.py), plus its work.
timeout = 60
graceful_timeout = 30
keepalive = 5
# No max_requests: each recycled worker would leave one more set of metric files to add up at every
# scrape. Workers are replaced when they die, and at each deploy.

# No control socket (gunicorn 25+): the process manager stops and reloads gunicorn with signals, and two
# instances on one host would otherwise share the default path.
control_socket_disable = True

# Django logs each request itself (with its id); gunicorn's access log would say it twice.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The workers' heartbeat files (gunicorn's own, empty): in memory, as gunicorn's docs advise for containers.
_SHARED_MEMORY = "/dev/shm"  # noqa: S108 - gunicorn makes its files there with mkstemp
if Path(_SHARED_MEMORY).is_dir():
    worker_tmp_dir = _SHARED_MEMORY

_METRICS_FILE = re.compile(r"_(\d+)\.db$")


def on_starting(server) -> None:
    """Before the first worker: make the metrics directory, and drop the files of processes that
    are gone (an earlier run's workers). Files of processes still running (a Celery worker sharing
    the directory) are kept. Dropped counters make the totals fall; Prometheus reads that as a
    counter reset, as it reads any restart."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for path in Path(directory).glob("*.db"):
        found = _METRICS_FILE.search(path.name)
        if found and not _running(int(found.group(1))):
            path.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker exited: its live gauges (requests in progress) stop counting; its counters stay."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
