"""A Celery worker for the chaos tests: `python -m tests.chaos.worker NAME`, with the pause points in."""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.chaos.settings")
    django.setup()
    from tests.chaos import pauses

    pauses.install()
    from config.celery_app import app

    app.worker_main(
        ["worker", "--pool=solo", "--loglevel=info", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{sys.argv[1]}@%h"]
    )  # fmt: skip


if __name__ == "__main__":
    main()
