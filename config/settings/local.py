"""Developer machine: DEBUG on, SQLite and the filesystem broker unless told otherwise."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
from .base import VAR_DIR, env

SECRET_KEY = env.str("SECRET_KEY", default="local-development-only-not-secret")
VAR_DIR.mkdir(exist_ok=True)
