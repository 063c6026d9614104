"""The container files (Dockerfile, compose.yaml) match the app: Docker cannot run on these
machines, so what can be checked without it is checked here."""

import re
import subprocess
import sys

import yaml
from django.conf import settings

from tests.processes import database_url, service_env

ROOT = settings.BASE_DIR
# Read by libraries, not by our code: django-storages and the images' own entrypoints.
LIBRARY_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def app_environment() -> dict[str, str]:
    """The web service's environment with compose's ${NAME:-default} written as the default."""
    env = compose()["services"]["web"]["environment"]
    return {
        name: re.sub(r"\$\{[A-Z_]+:[-?]([^}]*)\}", r"\1", str(value)) for name, value in env.items()
    }


def project_source() -> str:
    files = [*ROOT.glob("config/*.py"), *ROOT.glob("*/management/commands/*.py"), ROOT / "fidelis"]
    return "\n".join(path.read_text() for path in files)


def test_every_setting_compose_passes_is_read_by_the_app():
    source = project_source()
    unread = [
        name for name in app_environment() if name not in LIBRARY_VARIABLES and name not in source
    ]
    assert unread == []


def test_the_image_installs_what_fidelis_checks_for():
    """The Dockerfile writes the install stamp ./fidelis compares, computed the same way over
    the same files: every requirements file is in the image before the stamp is written."""
    stamp = "cat requirements*.txt | sha256sum | cut -c1-16"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert stamp in (ROOT / "fidelis").read_text()
    assert stamp in dockerfile
    copied = re.search(r"^COPY (requirements\S*) ", dockerfile, re.MULTILINE)
    assert copied and copied.start() < dockerfile.index(stamp)
    assert sorted(ROOT.glob(copied[1])) == sorted(ROOT.glob("requirements*.txt"))


def test_every_service_runs_after_migrate_and_the_app_starts_with_its_settings(tmp_path):
    services = compose()["services"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    env = service_env(tmp_path / "var", **app_environment())
    env["DATABASE_URL"] = database_url()  # this test's database instead of the db service
    env["DJANGO_SECRET_KEY"] = "compose-" + "k" * 50
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set in the test process by Playwright's plugin
    checked = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "ERROR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
