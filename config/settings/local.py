"""Developer machine (`make run`): SQLite and the filesystem broker unless told otherwise, the demo
data, and DEBUG off like production, so errors show the site's own pages. `DEBUG=true make run` (or
DEBUG=true in the environment) turns on Django's debug pages for developing."""

from .base import *  # noqa: F403
from .base import STORAGES, VAR_DIR, env, env_flag

SECRET_KEY = env.str("SECRET_KEY", default="local-development-only-not-secret")
# seed_demo may load the demo people here (never under production settings).
DEMO_DATA = env_flag("DEMO_DATA", default=True)
# The demo signs in with a password alone; set TWO_STEP_REQUIRED_FOR_TEAM=true to try the team's
# two-step sign-in locally.
TWO_STEP_REQUIRED_FOR_TEAM = env_flag("TWO_STEP_REQUIRED_FOR_TEAM", default=False)
# Static files come from whitenoise, with DEBUG on or off, straight from the source folders: no
# collectstatic before `make run`, and an edited stylesheet shows on the next request.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
VAR_DIR.mkdir(exist_ok=True)
