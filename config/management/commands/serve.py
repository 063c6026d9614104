"""manage.py serve: the production web server (gunicorn, settings in config/gunicorn.py)."""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from config.health import pending_migrations


class Command(BaseCommand):
    help = "Collect static files, check the database, then run gunicorn (config/gunicorn.py)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", help="address:port (default FIDELIS_BIND or 127.0.0.1:8000)")

    def handle(self, *args, bind: str | None, **options):
        _check_migrated()
        # Hashed names for whitenoise; quick when nothing changed.
        call_command("collectstatic", interactive=False, verbosity=0)
        connections.close_all()  # the server's processes open their own
        if bind:
            os.environ["FIDELIS_BIND"] = bind
        self.stdout.write(f"Serving on http://{os.environ.get('FIDELIS_BIND', '127.0.0.1:8000')}/")
        sys.stdout.flush()
        gunicorn = [sys.executable, "-m", "gunicorn", "--config", "python:config.gunicorn"]
        os.chdir(settings.BASE_DIR)
        os.execv(sys.executable, gunicorn)


def _check_migrated() -> None:
    try:
        pending = pending_migrations(connections[DEFAULT_DB_ALIAS])
    except DatabaseError as err:
        raise CommandError(
            f"The database cannot be reached ({err}): check DATABASE_URL, or unset it to use "
            "the embedded server."
        ) from err
    if pending:
        raise CommandError(
            f"{len(pending)} migrations are not applied: run ./fidelis manage migrate first "
            "(once per release, from one machine)."
        )
