"""Production settings plus the floor view's address, for `make bench-api` only."""

import os

from .secret import BENCH_SECRET_KEY

os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.api.urls"
