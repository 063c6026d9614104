"""The project's settings as production has them, plus the two things a test run lacks: a
secret key (a fresh random one per run) and HTTPS (the test client and the loopback servers
speak plain HTTP). Server processes started by tests inherit both through the environment."""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-" + secrets.token_urlsafe(40))
os.environ.setdefault("FIDELIS_HTTPS", "0")

from config.settings import *  # noqa: F403
