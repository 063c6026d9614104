#!/usr/bin/env python
"""Django's command-line utility; starts the embedded PostgreSQL when DATABASE_URL is unset."""

import os
import secrets
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["pgserver"]:
        # Starting or stopping the embedded server signs nothing: it needs no secret key.
        os.environ.setdefault("DJANGO_SECRET_KEY", "pgserver-" + secrets.token_urlsafe(32))
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config import embedded_db

    try:
        settings.EMBEDDED_PGDATA  # noqa: B018 (loads the settings, which check themselves)
    except ImproperlyConfigured as err:
        sys.exit(f"error: {err}")
    if settings.EMBEDDED_PGDATA and sys.argv[1:2] != ["pgserver"]:
        try:
            embedded_db.start(settings.EMBEDDED_PGDATA, settings.DATABASE_NAME)
        except embedded_db.EmbeddedPostgresError as err:
            sys.exit(f"error: {err}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
