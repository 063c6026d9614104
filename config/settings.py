"""Fidelis settings: one module, driven by environment variables, with defaults that work offline.

Environment variables (all optional):
  DATABASE_URL            postgres://... of a PostgreSQL with pgvector; unset = the embedded server
  FIDELIS_PGDATA          data dir of the embedded server (default var/pgdata)
  FIDELIS_PG_SHARED_BUFFERS  the embedded server's shared_buffers (default 1GB)
  FIDELIS_ENCODER         encoder profile: tiny (default), bench, or an open_clip model name
  FIDELIS_ENCODER_WEIGHTS weights for a named model: an open_clip pretrained tag or a local file
  FIDELIS_ENCODER_PRECISION  auto (default; fp32 for tiny), or force fp32, bf16, onnx-fp32, int8
  FIDELIS_VECTOR_MATCH_SIMILARITY  cut-off for vector-only matches (default: the model's own)
  FIDELIS_HNSW_M, FIDELIS_HNSW_EF_CONSTRUCTION, FIDELIS_HNSW_EF_SEARCH  the vector indexes'
                          graph (default 16, 256) and search breadth (default auto: by catalog size)
  DJANGO_SECRET_KEY       required unless DEBUG is on (the demo turns it on)
  DJANGO_DEBUG            off by default; `./fidelis demo` turns it on
  DJANGO_ALLOWED_HOSTS, DJANGO_CSRF_TRUSTED_ORIGINS  comma-separated
  FIDELIS_HTTPS           on (default with DEBUG off): HSTS, HTTPS redirect, secure cookies
  FIDELIS_NUM_PROXIES     reverse proxies in front of the app that set X-Forwarded-For (default 0)
  FIDELIS_API_BASIC_AUTH  accept HTTP Basic auth on the API (default off)
  FIDELIS_STORAGE         "local" (default) or "s3" (AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL)
  FIDELIS_MAX_UPLOAD_MB   largest accepted image upload (default 10)
  DATABASE_REPLICA_URLS   comma-separated postgres://... of streaming replicas for search reads
  FIDELIS_LOG_FORMAT      "plain" (default) or "json": one JSON object per log line
  FIDELIS_STATIC_MANIFEST hashed static file names (default on with DEBUG off; needs collectstatic)
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FIDELIS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The demo key is public: it signs sessions and CSRF tokens only while the demo runs with DEBUG.
DEMO_SECRET_KEY = "fidelis-demo-only-not-secret"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or DEMO_SECRET_KEY
if not DEBUG and SECRET_KEY == DEMO_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set, and DEBUG is off: set DJANGO_SECRET_KEY to a long random "
        "string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or run the demo "
        "with ./fidelis demo."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- HTTPS and the proxy in front (all from the environment) ---------------------------------
HTTPS = env_bool("FIDELIS_HTTPS", not DEBUG)
NUM_PROXIES = int(os.environ.get("FIDELIS_NUM_PROXIES", "0"))
if NUM_PROXIES:
    # The proxy terminates TLS and says so; trust the header only when a proxy is declared.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = env_bool("FIDELIS_USE_X_FORWARDED_HOST", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("FIDELIS_HSTS_SECONDS", 31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FIDELIS_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("FIDELIS_HSTS_PRELOAD", HTTPS)
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# /healthz answers plain HTTP probes from the load balancer (issue 19).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "procrastinate.contrib.django",
    "config",
    "catalog",
    "retrieval",
    "creation",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files with hashed names and far-future caching, before anything touches a session.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.LimitRequestBodyMiddleware",  # before anything reads the body
    "config.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the view into a 429.
    "axes.middleware.AxesMiddleware",
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
# than a whole text search's queries (bench/search.py). Health checks drop broken ones. Set,
# not defaulted: dj_database_url.parse writes CONN_MAX_AGE 0 (a connection per request).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("FIDELIS_DB_CONN_MAX_AGE", 300))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A primary that hangs (a lost machine) is given up on instead of holding every request.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Streaming replicas for shopper search reads (config/replicas.py decides which reads).
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    DATABASES[f"replica{_number}"] = dj_database_url.parse(_url) | {
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        # A replica that is down answers "refused" at once; one that hangs is given up on.
        "OPTIONS": {"connect_timeout": 2},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]
# How long a replica that could not be reached is left out before it is tried again.
FIDELIS_REPLICA_RETRY_S = float(os.environ.get("FIDELIS_REPLICA_RETRY_S", "10"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sign-in: lockout after repeated failures (django-axes) ------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("FIDELIS_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("FIDELIS_LOGIN_COOLOFF_MINUTES", "15")) / 60  # hours
# Per username and address: a guesser is stopped without letting anyone lock a merchant out
# from elsewhere; the token endpoint's throttle bounds guesses spread over many usernames.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_IPWARE_PROXY_COUNT = NUM_PROXIES or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if NUM_PROXIES else ["REMOTE_ADDR"]
)

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
# Product photos: served by the app (catalog.media) so that a photo is reachable only while its
# product is searchable. Generated images: a private storage with no URL at all.
if os.environ.get("FIDELIS_STORAGE", "local") == "s3":
    # django-storages reads AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
    AWS_DEFAULT_ACL = "private"
    _media_storage = {"BACKEND": "config.storages.AppServedS3Storage"}
    _private_storage = {
        "BACKEND": "config.storages.PrivateS3Storage",
        "OPTIONS": {"location": "private"},
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _private_storage = {
        "BACKEND": "config.storages.PrivateFileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "private"},
    }
STORAGES = {
    "default": _media_storage,
    "private": _private_storage,
    # Hashed names (whitenoise caches them forever) once `collectstatic` has run: `./fidelis
    # serve` runs it. The demo (DEBUG) serves the files as they are.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("FIDELIS_STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "/admin/login/"

# --- Content-Security-Policy (django-csp): scripts and styles only from our own static files ---
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin and the Swagger UI set a few inline style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *env_list("FIDELIS_CSP_IMG_SRC")],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Images ------------------------------------------------------------------------------------
FIDELIS_MAX_UPLOAD_BYTES = int(float(os.environ.get("FIDELIS_MAX_UPLOAD_MB", "10")) * 2**20)
# Decoded size limit: stops decompression bombs (a few kB of PNG that decode to gigabytes).
FIDELIS_MAX_IMAGE_PIXELS = int(os.environ.get("FIDELIS_MAX_IMAGE_PIXELS", 40_000_000))

# --- Product feeds (catalog/feeds/) ------------------------------------------------------------
# Images named by URL in a feed or the API: fetched with these bounds, then checked like uploads.
FIDELIS_FEED_FETCH_TIMEOUT_S = float(os.environ.get("FIDELIS_FEED_FETCH_TIMEOUT_S", "10"))
FIDELIS_FEED_MAX_REDIRECTS = 3
# Private, loopback and link-local addresses (a shop's intranet, the cloud metadata service)
# are refused unless this is on: tests serve images from 127.0.0.1 with it.
FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES = env_bool("FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES", False)
# For test runs: fetch only from 127.0.0.0/8 addresses written as such, never resolve a name.
FIDELIS_FEED_LOOPBACK_ONLY = env_bool("FIDELIS_FEED_LOOPBACK_ONLY", False)
# One feed line (a CSV record or a JSON object) may hold at most this much.
FIDELIS_FEED_MAX_LINE_BYTES = 1 * 2**20
# A feed fetched by URL (./fidelis manage import_feed https://...) may be this large.
FIDELIS_FEED_MAX_BYTES = int(float(os.environ.get("FIDELIS_FEED_MAX_MB", "1024")) * 2**20)

# --- Create mode (creation/) ------------------------------------------------------------------
# tiny (default: seeded random weights, offline), or a diffusers hub repo id or local folder.
FIDELIS_GENERATOR = os.environ.get("FIDELIS_GENERATOR", "tiny")
# Create jobs one merchant may submit per hour (a quota, so one shop cannot hog the workers).
FIDELIS_CREATE_JOBS_PER_HOUR = int(os.environ.get("FIDELIS_CREATE_JOBS_PER_HOUR", "60"))
# A real C2PA signing certificate chain and key (PEM); by default the project makes its own CA.
FIDELIS_C2PA_CERT = os.environ.get("FIDELIS_C2PA_CERT", "")
FIDELIS_C2PA_KEY = os.environ.get("FIDELIS_C2PA_KEY", "")
# A request body larger than this is refused from its Content-Length, before it is read
# (config.middleware.LimitRequestBodyMiddleware).
FIDELIS_MAX_REQUEST_BYTES = FIDELIS_MAX_UPLOAD_BYTES + 2**20
DATA_UPLOAD_MAX_MEMORY_SIZE = FIDELIS_MAX_REQUEST_BYTES
# The admin's product form takes a few photos at once; the API and search take one.
DATA_UPLOAD_MAX_NUMBER_FILES = 10
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Encoders (retrieval/encoders.py holds the profile table) ----------------------------------
FIDELIS_ENCODER = os.environ.get("FIDELIS_ENCODER", "tiny")
FIDELIS_ENCODER_WEIGHTS = os.environ.get("FIDELIS_ENCODER_WEIGHTS", "")
FIDELIS_ENCODER_PRECISION = os.environ.get("FIDELIS_ENCODER_PRECISION", "")
# ONNX Runtime's threads spin between runs: a shopper's photo is encoded sooner, at the price of
# CPU burnt. A queue worker shares its cores with imports and embeds in batches: there they
# wait idle instead (a feed import end to end, 1,000 products: 22.2-23.9 products/s instead of
# 20.5-22.1 with the checks ahead, 17.6-19.2 instead of 14.8-15.1 in turn; bench/import.py).
_QUEUE_WORKER = sys.argv[1:3] == ["procrastinate", "worker"]
FIDELIS_ONNX_SPIN = env_bool("FIDELIS_ONNX_SPIN", not _QUEUE_WORKER)
# The cosine similarity a hit found only by the vector half must exceed to count as a match
# (retrieval/match_cutoff.py holds each model's; calibrate_match_cutoff prints a shop's own).
_match_similarity = os.environ.get("FIDELIS_VECTOR_MATCH_SIMILARITY", "")
FIDELIS_VECTOR_MATCH_SIMILARITY = float(_match_similarity) if _match_similarity else None

# The vector indexes' HNSW graph and search breadth (retrieval/vector_index.py, README "Sizing").
# A denser graph (higher ef_construction, then m) keeps recall at a narrower search; a graph
# whose parameters differ from these is rebuilt by `manage.py reindex --rebuild-index`.
FIDELIS_HNSW_M = int(os.environ.get("FIDELIS_HNSW_M", "16"))
FIDELIS_HNSW_EF_CONSTRUCTION = int(os.environ.get("FIDELIS_HNSW_EF_CONSTRUCTION", "256"))
# "auto" (the default): chosen from the number of vectors when a connection opens
# (retrieval/session.py); or a number.
_ef_search = os.environ.get("FIDELIS_HNSW_EF_SEARCH", "auto")
FIDELIS_HNSW_EF_SEARCH = None if _ef_search == "auto" else int(_ef_search)

# Query vectors each app process keeps for repeated searches (retrieval/encoders.py); 0 = none.
FIDELIS_QUERY_VECTOR_CACHE = int(os.environ.get("FIDELIS_QUERY_VECTOR_CACHE", "10000"))

# How long after an indexing job the typo-correction lexicon is rebuilt (retrieval/tasks.py):
# new products are searchable at once; their words are offered as corrections this much later.
FIDELIS_LEXICON_REFRESH_DELAY_S = float(os.environ.get("FIDELIS_LEXICON_REFRESH_DELAY_S", "30"))

# How often a worker also scans every image for one without a vector (retrieval/indexing.py):
# new images are taken from the indexing backlog; the scan finds vectors missing otherwise.
FIDELIS_INDEXING_FULL_SCAN_S = float(os.environ.get("FIDELIS_INDEXING_FULL_SCAN_S", "600"))
# How long a queue worker may wait for images still arriving to fill a batch
# (retrieval/indexing.py).
FIDELIS_INDEXING_GATHER_S = float(os.environ.get("FIDELIS_INDEXING_GATHER_S", "0.5"))
# How often (seconds, a divisor of 60) the indexing backlog is swept for images whose job was
# never queued (retrieval/tasks.py): a job lost that way waits at most this long.
FIDELIS_INDEXING_SWEEP_S = int(os.environ.get("FIDELIS_INDEXING_SWEEP_S", "30"))

# Merchants' synonyms applied to the keyword half (search_eval --compare synonyms=off turns it off).
FIDELIS_SYNONYMS = env_bool("FIDELIS_SYNONYMS", True)

# --- Search analytics (analytics/) -------------------------------------------------------------
FIDELIS_ANALYTICS = env_bool("FIDELIS_ANALYTICS", True)
FIDELIS_ANALYTICS_FLUSH_S = float(os.environ.get("FIDELIS_ANALYTICS_FLUSH_S", "1"))
# Tests turn this on: rows are written at once, in the caller's transaction (rolled back with it).
FIDELIS_ANALYTICS_INLINE = False
FIDELIS_ANALYTICS_RETENTION_DAYS = int(os.environ.get("FIDELIS_ANALYTICS_RETENTION_DAYS", "90"))
# A past query is suggested to others once this many distinct visits searched it (within the
# retention period) and it still finds shown products by every word.
FIDELIS_POPULAR_QUERY_SEARCHERS = int(os.environ.get("FIDELIS_POPULAR_QUERY_SEARCHERS", "5"))

# --- Queue -------------------------------------------------------------------------------------
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# A worker writes a heartbeat every FIDELIS_WORKER_HEARTBEAT_S; the jobs of a worker silent for
# three heartbeats (killed, machine lost) go back to the queue (catalog/stalled_jobs.py), which
# is checked every FIDELIS_STALLED_CHECK_EVERY_S (a divisor of 60).
FIDELIS_WORKER_HEARTBEAT_S = float(os.environ.get("FIDELIS_WORKER_HEARTBEAT_S", "10"))
FIDELIS_STALLED_AFTER_S = 3 * FIDELIS_WORKER_HEARTBEAT_S
FIDELIS_STALLED_CHECK_EVERY_S = int(os.environ.get("FIDELIS_STALLED_CHECK_EVERY_S", "10"))
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": FIDELIS_WORKER_HEARTBEAT_S,
    "stalled_worker_timeout": FIDELIS_STALLED_AFTER_S,
}

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "config.openapi.FidelisAutoSchema",
    "EXCEPTION_HANDLER": "config.exception_handlers.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Hashed, expiring tokens that can be rotated and revoked (django-rest-knox).
        "knox.auth.TokenAuthentication",
    ]
    + (
        # Off by default: a password on every request invites guessing and leaks in logs.
        ["rest_framework.authentication.BasicAuthentication"]
        if env_bool("FIDELIS_API_BASIC_AUTH", False)
        else []
    ),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # X-Forwarded-For is trusted only through the declared number of proxies.
    "NUM_PROXIES": NUM_PROXIES,
}
# Requests per client (anonymous: per address; signed in: per user; create: per merchant).
# Read by config.throttles on every request, so a test or a deployment can change them.
FIDELIS_THROTTLE_RATES = {
    "search": os.environ.get("FIDELIS_THROTTLE_SEARCH", "120/min"),
    "suggest": os.environ.get("FIDELIS_THROTTLE_SUGGEST", "600/min"),
    "photo_search": os.environ.get("FIDELIS_THROTTLE_PHOTO_SEARCH", "30/min"),
    "token": os.environ.get("FIDELIS_THROTTLE_TOKEN", "10/min"),
    "create": os.environ.get("FIDELIS_THROTTLE_CREATE", "20/min"),
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=int(os.environ.get("FIDELIS_TOKEN_TTL_DAYS", "30"))),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fidelis API",
    "DESCRIPTION": "Catalog search with a provenance guard.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOG_FORMAT = os.environ.get("FIDELIS_LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"FIDELIS_LOG_FORMAT is {LOG_FORMAT!r}: set it to plain or json.")
LOG_FORMATTERS = {
    "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    # One JSON object per line for a log collector (python-json-logger).
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {LOG_FORMAT: LOG_FORMATTERS[LOG_FORMAT]},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "fidelis": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Server errors (and 503s) are logged; each 4xx is the client's, and would flood it.
        "django.request": {"level": "ERROR"},
        "procrastinate": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
