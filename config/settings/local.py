"""Developer machine: DEBUG on, SQLite and the filesystem broker unless told otherwise."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
from .base import VAR_DIR, env, env_flag

SECRET_KEY = env.str("SECRET_KEY", default="local-development-only-not-secret")
# The demo signs in with a password alone; set TWO_STEP_REQUIRED_FOR_TEAM=true to try the team's
# two-step sign-in locally.
TWO_STEP_REQUIRED_FOR_TEAM = env_flag("TWO_STEP_REQUIRED_FOR_TEAM", default=False)
VAR_DIR.mkdir(exist_ok=True)
