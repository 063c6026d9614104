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
