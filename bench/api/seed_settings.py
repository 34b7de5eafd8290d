"""The test settings, signing with the bench server's key: the buyer's session made while seeding is
one the server accepts."""

from config.settings.test import *  # noqa: F403

from .secret import BENCH_SECRET_KEY

SECRET_KEY = BENCH_SECRET_KEY
