"""The project's settings as production has them, plus what a test run needs: a secret key (a
fresh random one per run), plain HTTP (the test client and the loopback servers speak it), and
image URLs fetched from loopback only. Server processes started by tests inherit these through
the environment."""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-" + secrets.token_urlsafe(40))
os.environ.setdefault("FIDELIS_HTTPS", "0")
# Image URLs in feeds and the API: a test (or the API fuzzing) fetches from loopback only.
os.environ.setdefault("FIDELIS_FEED_LOOPBACK_ONLY", "1")
# The lexicon refreshed at once after indexing: `run_jobs` runs only jobs that are due.
os.environ.setdefault("FIDELIS_LEXICON_REFRESH_DELAY_S", "0")
# Static files as they are: only the serving test runs collectstatic (for hashed names).
os.environ.setdefault("FIDELIS_STATIC_MANIFEST", "0")

from config.settings import *  # noqa: F403

# Analytics rows written at once in the test's own transaction, so that a test's rows go with
# it. The real-process test turns the batching thread back on (FIDELIS_ANALYTICS_INLINE=0).
FIDELIS_ANALYTICS_INLINE = os.environ.get("FIDELIS_ANALYTICS_INLINE", "1") == "1"
