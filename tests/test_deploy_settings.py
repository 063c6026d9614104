"""Safe defaults: DEBUG off, no start with the demo's key, HTTPS settings from the environment,
a Content-Security-Policy on every page, and `check --deploy` clean of security warnings."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import service_env

pytestmark = pytest.mark.django_db


def manage(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_env(tmp_path, **extra) -> dict:
    env = service_env(tmp_path / "var")
    # (Playwright's plugin sets DJANGO_ALLOW_ASYNC_UNSAFE in the test process.)
    for name in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "FIDELIS_HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return {**env, **extra}


def test_without_a_secret_key_and_with_debug_off_the_app_refuses_to_start(tmp_path):
    done = manage(["check"], production_env(tmp_path))

    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr and "Traceback" not in done.stderr


def test_the_demo_key_is_refused_too_unless_debug_is_on(tmp_path):
    demo_key = {"DJANGO_SECRET_KEY": "fidelis-demo-only-not-secret"}

    refused = manage(["check"], production_env(tmp_path, **demo_key))
    demo = manage(["check"], production_env(tmp_path, **demo_key, DJANGO_DEBUG="1"))

    assert refused.returncode != 0 and demo.returncode == 0, demo.stderr


def test_debug_is_off_by_default():
    assert "DJANGO_DEBUG" not in os.environ  # the test run sets none
    from config import settings as project_settings

    assert project_settings.DEBUG is False


def test_check_deploy_reports_no_security_warning_under_production_settings(tmp_path):
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="shop.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://shop.example.com",
    )

    done = manage(["check", "--deploy"], env)
    print(done.stdout, done.stderr)

    assert done.returncode == 0, done.stderr
    assert "security.W" not in done.stderr + done.stdout
    # The one warning left is about the offline test encoder, which production replaces.
    warnings = [line for line in done.stderr.splitlines() if line.startswith("?: (")]
    assert all("fidelis.W001" in line for line in warnings), warnings


def test_https_settings_come_from_the_environment(tmp_path):
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        FIDELIS_NUM_PROXIES="1",
        FIDELIS_HSTS_SECONDS="600",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://a.example,https://b.example",
    )
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
        "s.CSRF_TRUSTED_ORIGINS)"
    )

    done = manage(["shell", "-c", code], env)

    assert done.stdout.split("\n")[-2] == (
        "True True 600 ('HTTP_X_FORWARDED_PROTO', 'https') "
        "['https://a.example', 'https://b.example']"
    ), done.stderr


@pytest.mark.parametrize("url", ["/", "/search/?q=shirt", "/admin/login/", "/api/docs/"])
def test_every_page_has_a_content_security_policy_without_inline_scripts(client, url):
    policy = client.get(url)["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_the_embedded_server_commands_need_no_secret_key(tmp_path):
    env = production_env(tmp_path, FIDELIS_PGDATA=str(tmp_path / "pg"))
    env.pop("DATABASE_URL")

    done = manage(["pgserver", "status"], env)

    assert done.returncode == 0 and "stopped" in done.stdout, done.stderr
