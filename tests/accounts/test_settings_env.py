"""Settings come from the environment (12-factor): checked in fresh ``python -c`` processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; "
    "print(json.dumps({'engine': d['ENGINE'], 'name': d['NAME'], 'host': d.get('HOST'), 'port': d.get('PORT'), "
    "'cache': s.CACHES['default']['BACKEND'], 'cache_location': s.CACHES['default'].get('LOCATION'), "
    "'broker': s.CELERY_BROKER_URL, 'eager': s.CELERY_TASK_ALWAYS_EAGER, 'email_backend': s.EMAIL_BACKEND, "
    "'email_host': s.EMAIL_HOST, 'email_port': s.EMAIL_PORT, 'site_url': s.SITE_URL, "
    "'csrf': s.CSRF_TRUSTED_ORIGINS, 'debug': s.DEBUG, 'env': s.VERBATIM_ENV, "
    "'secret_is_file': s.SECRET_KEY == 'from-a-docker-secret'}))"
)
VARIABLES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SITE_URL", "DEBUG", "VERBATIM_ENV",
             "PYTEST_VERSION", "ANYMAIL_ESP", "CSRF_TRUSTED_ORIGINS", "PYTEST_CURRENT_TEST")


def run(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.endswith("_FILE")}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_the_default_secret_key():
    result = run({})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_production_starts_with_a_secret_key_and_honours_the_urls():
    result = run({
        "SECRET_KEY": "a-real-secret-from-the-vault",
        "DATABASE_URL": "postgres://verbatim:pw@db.internal:6543/feedback",
        "REDIS_URL": "redis://cache.internal:6380/3",
        "EMAIL_URL": "smtp://mail.internal:2525",
        "SITE_URL": "https://feedback.example.com/",
    })
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout)
    assert s["env"] == "production" and s["debug"] is False
    assert (s["engine"], s["name"], s["host"], s["port"]) == (
        "django.db.backends.postgresql", "feedback", "db.internal", 6543)
    assert s["cache"] == "config.cache.RedisCache"
    assert s["cache_location"] == "redis://cache.internal:6380/3" == s["broker"]
    assert s["eager"] is False
    assert s["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["email_host"], s["email_port"]) == ("mail.internal", 2525)
    assert s["site_url"] == "https://feedback.example.com"
    assert s["csrf"] == ["https://feedback.example.com"]


def test_a_secret_may_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-docker-secret\n")
    result = run({"SECRET_KEY_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["secret_is_file"] is True


def test_with_nothing_set_in_development_it_runs_on_sqlite_eager_tasks_and_console_mail():
    result = run({"VERBATIM_ENV": "development"})
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout)
    assert s["engine"] == "django.db.backends.sqlite3" and s["name"].endswith("verbatim.sqlite3")
    assert s["eager"] is True and s["broker"] == "memory://"
    assert s["email_backend"] == "django.core.mail.backends.console.EmailBackend"
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache"
