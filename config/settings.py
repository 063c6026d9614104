"""Fidelis settings: one module, driven by environment variables, with defaults that work offline.

Environment variables (all optional):
  DATABASE_URL            postgres://... of a PostgreSQL with pgvector; unset = the embedded server
  FIDELIS_PGDATA          data dir of the embedded server (default var/pgdata)
  FIDELIS_PG_SHARED_BUFFERS  the embedded server's shared_buffers (default 1GB)
  FIDELIS_ENCODER         encoder profile: tiny (default), bench, or an open_clip model name
  FIDELIS_ENCODER_WEIGHTS weights for a named model: an open_clip pretrained tag or a local file
  FIDELIS_ENCODER_PRECISION  auto (default; fp32 for tiny), or force fp32, bf16, onnx-fp32, int8
  DJANGO_SECRET_KEY, DJANGO_DEBUG, DJANGO_ALLOWED_HOSTS
  FIDELIS_STORAGE         "local" (default) or "s3" (AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL)
  FIDELIS_MAX_UPLOAD_MB   largest accepted image upload (default 10)
"""

import os
from pathlib import Path

import dj_database_url

from config import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FIDELIS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
# The default key is for the offline demo only; a deployment sets DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "fidelis-demo-only-not-secret")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "procrastinate.contrib.django",
    "config",
    "catalog",
    "retrieval",
    "creation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "retrieval.context_processors.encoder_status",
            ],
        },
    },
]

# --- Database: an existing server through DATABASE_URL, else the embedded one -------------
DATABASE_NAME = "fidelis"
if os.environ.get("DATABASE_URL"):
    EMBEDDED_PGDATA = None
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
else:
    EMBEDDED_PGDATA = Path(os.environ.get("FIDELIS_PGDATA", VAR_DIR / "pgdata")).resolve()
    DATABASES = {"default": embedded_db.connection_settings(EMBEDDED_PGDATA, DATABASE_NAME)}
# Keep connections between requests: opening one forks a PostgreSQL backend, which cost more
# than a whole text search's queries (bench/search.py). Health checks drop broken ones.
DATABASES["default"].setdefault("CONN_MAX_AGE", int(os.environ.get("FIDELIS_DB_CONN_MAX_AGE", 300)))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and media (through STORAGES, so several machines can share media) --------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("FIDELIS_MEDIA_ROOT", VAR_DIR / "media"))
if os.environ.get("FIDELIS_STORAGE", "local") == "s3":
    # django-storages reads AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...
    _media_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Generated concept images never get a public URL: they live in their own storage and are
# served only through an authenticated view (creation.views.generated_image_file).
_private_storage = dict(_media_storage)
if _private_storage["BACKEND"].endswith("FileSystemStorage"):
    _private_storage["OPTIONS"] = {"location": VAR_DIR / "private", "base_url": None}
else:
    _private_storage["OPTIONS"] = {
        "location": "private",
        "default_acl": "private",
        "querystring_auth": True,
    }
STORAGES = {
    "default": _media_storage,
    "private": _private_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "/admin/login/"

# --- Images ------------------------------------------------------------------------------------
FIDELIS_MAX_UPLOAD_BYTES = int(float(os.environ.get("FIDELIS_MAX_UPLOAD_MB", "10")) * 2**20)
# Decoded size limit: stops decompression bombs (a few kB of PNG that decode to gigabytes).
FIDELIS_MAX_IMAGE_PIXELS = int(os.environ.get("FIDELIS_MAX_IMAGE_PIXELS", 40_000_000))

# --- Create mode (creation/) ------------------------------------------------------------------
# tiny (default: seeded random weights, offline), or a diffusers hub repo id or local folder.
FIDELIS_GENERATOR = os.environ.get("FIDELIS_GENERATOR", "tiny")
# Create jobs one merchant may submit per hour (a quota, so one shop cannot hog the workers).
FIDELIS_CREATE_JOBS_PER_HOUR = int(os.environ.get("FIDELIS_CREATE_JOBS_PER_HOUR", "60"))
# A real C2PA signing certificate chain and key (PEM); by default the project makes its own CA.
FIDELIS_C2PA_CERT = os.environ.get("FIDELIS_C2PA_CERT", "")
FIDELIS_C2PA_KEY = os.environ.get("FIDELIS_C2PA_KEY", "")
DATA_UPLOAD_MAX_MEMORY_SIZE = FIDELIS_MAX_UPLOAD_BYTES + 2**20

# --- Encoders (retrieval/encoders.py holds the profile table) ----------------------------------
FIDELIS_ENCODER = os.environ.get("FIDELIS_ENCODER", "tiny")
FIDELIS_ENCODER_WEIGHTS = os.environ.get("FIDELIS_ENCODER_WEIGHTS", "")
FIDELIS_ENCODER_PRECISION = os.environ.get("FIDELIS_ENCODER_PRECISION", "")

# --- Queue -------------------------------------------------------------------------------------
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exception_handlers.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fidelis API",
    "DESCRIPTION": "Catalog search with a provenance guard.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "fidelis": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "procrastinate": {"handlers": ["console"], "level": "WARNING"},
    },
}
