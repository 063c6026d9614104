"""Project-level behaviour: migrations in step with models, the embedded server's errors."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from config import embedded_db


@pytest.mark.django_db
def test_models_and_migrations_are_in_step():
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


def test_too_long_data_dir_names_the_fix():
    with pytest.raises(embedded_db.EmbeddedPostgresError, match="FIDELIS_PGDATA"):
        embedded_db.start(Path("/tmp") / ("x" * 120), "fidelis")


def test_stopping_a_server_that_is_not_running_says_so(tmp_path):
    assert embedded_db.is_running(tmp_path) is False
    assert embedded_db.stop(tmp_path) is False


def test_the_test_server_is_the_embedded_one_or_database_url(settings):
    if settings.EMBEDDED_PGDATA:
        assert embedded_db.is_running(settings.EMBEDDED_PGDATA)


def test_database_url_replaces_the_embedded_server(tmp_path):
    """With DATABASE_URL set, settings point there and nothing embedded is configured."""
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    env = {
        **os.environ,
        "DATABASE_URL": "postgres://shop:secret@db.example.internal:6543/shopdb",
        "FIDELIS_PGDATA": str(tmp_path / "must-not-be-created"),
    }
    code = (
        "import json; from config import settings as s; d = s.DATABASES['default'];"
        "print(json.dumps([s.EMBEDDED_PGDATA, d['HOST'], d['PORT'], d['NAME'], d['USER']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(out.stdout) == [None, "db.example.internal", 6543, "shopdb", "shop"]
    assert not (tmp_path / "must-not-be-created").exists()
