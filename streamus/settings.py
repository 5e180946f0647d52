"""StreamUs settings.

The environment is read once, here, through django-environ. `.env.example`
is the single list of knobs. Embedded defaults (SQLite under var/, local
media under var/media/, Redis and LiveKit on loopback) make `make run` work
with no configuration; production refuses to start on unsafe values.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Everything a running instance writes (SQLite database, media, spool, rendered LiveKit config, beat
# schedule) lives under one directory, so a second instance (the `make run` smoke test) can use its own.
VAR_DIR = Path(env.str("STREAMUS_VAR_DIR", default=str(BASE_DIR / "var")))

# development | test | production
ENVIRONMENT = env.str("STREAMUS_ENV", default="development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"STREAMUS_ENV must be development, test or production, not {ENVIRONMENT!r}")

INSECURE_DEFAULT_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET)
DEBUG = env.bool("DEBUG", default=ENVIRONMENT == "development")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"])
# Origins of web builds of the mobile app allowed to call /api/v1/ cross-origin, bearer mode only
# (apps.core.middleware.ApiCorsMiddleware). Native apps need none.
API_CORS_ORIGINS = env.list("API_CORS_ORIGINS", default=[])
# The mobile app's builds, so that https join links open it (apps.core.views: /.well-known/ files).
MOBILE_IOS_APP_IDS = env.list("MOBILE_IOS_APP_IDS", default=[])  # e.g. ABCDE12345.local.streamus.app
MOBILE_ANDROID_PACKAGE = env.str("MOBILE_ANDROID_PACKAGE", default="")  # e.g. local.streamus.app
MOBILE_ANDROID_CERT_SHA256 = env.list("MOBILE_ANDROID_CERT_SHA256", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# A development key so `make run` works out of the box; production refuses it.
DEV_STREAM_KEY_ENCRYPTION_KEY = "ZGV2LW9ubHktc3RyZWFtdXMta2V5LWRvLW5vdC11c2U="
STREAM_KEY_ENCRYPTION_KEYS = env.list(
    "STREAM_KEY_ENCRYPTION_KEYS",
    default=[] if ENVIRONMENT == "production" else [DEV_STREAM_KEY_ENCRYPTION_KEY],
)


INSTALLED_APPS = [
    "daphne",
    # django.contrib.admin with our site: its login goes through the login rate limit.
    "apps.accounts.admin_config.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "apps.core.apps.StaticFilesConfig",  # django.contrib.staticfiles, less ReDoc
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.streams",
    "apps.studio",
    "apps.shows",
    "apps.destinations",
    "apps.branding",
    "apps.engagement",
    "apps.recordings",
    "apps.library",
    "apps.rtc",
]

MIDDLEWARE = [
    "apps.core.middleware.MetricsMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.ApiCorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from Daphne, before sessions and the database are touched.
    "apps.core.static.StaticFilesMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it sees what views raise: a database that cannot be reached is a 503 with a plain sentence.
    "apps.core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "streamus.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "streamus.asgi.application"

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
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'streamus.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a few people at once (web, workers, the media process): WAL lets
    # readers run beside the writer, IMMEDIATE takes the write lock when a transaction starts (a
    # deferred one that reads, then writes, fails at once with "database is locked" when another
    # writer got there first), and the busy timeout makes a writer wait its turn instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }
# Parallel test runs (several developers on one database server) pick their own name.
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if ENVIRONMENT == "test":
    # Hundreds of test users: a deliberately slow hash would dominate the suite's time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise looks in it at start, even when empty
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Storage: local files by default, S3 / MinIO when STORAGE=s3 -------------
STORAGE = env.str("STORAGE", default="local")
if STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME")
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)  # MinIO
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    # Sets Content-Type / Content-Disposition on every object (see apps/library/storage.py).
    default_storage = {"BACKEND": "apps.library.storage.UserFileS3Storage"}
elif STORAGE == "local":
    default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(f"STORAGE must be 'local' or 's3', not {STORAGE!r}")
# Static files are served by the web process itself (WhiteNoise, apps/core/static.py). Production
# serves what `collectstatic` wrote: names carrying a content hash (cached for a year), each with
# its gzip and brotli twin. Development and tests serve straight from the finders (static/, the npm
# build in static/dist/, the apps' static/), re-read on every request in development so the output
# of `npm run build` shows without a restart.
STATIC_FROM_FINDERS = ENVIRONMENT != "production"
WHITENOISE_USE_FINDERS = STATIC_FROM_FINDERS
WHITENOISE_AUTOREFRESH = ENVIRONMENT == "development"
WHITENOISE_MAX_AGE = 0 if ENVIRONMENT == "development" else 3600
# Pages link to the hashed names only; source maps are fetched by developers' tools, not compressed.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if STATIC_FROM_FINDERS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploads: brand images, library clips, local recordings ------------------
# Brand images are small; anything larger is a mistake or an attack.
BRAND_ASSET_MAX_BYTES = env.int("BRAND_ASSET_MAX_BYTES", default=10 * 1024 * 1024)
# 25 megapixels covers a 6K still; decoding more is a decompression bomb.
BRAND_ASSET_MAX_PIXELS = env.int("BRAND_ASSET_MAX_PIXELS", default=25_000_000)
# Resumable uploads (library clips, per-participant recordings) arrive in chunks of this size.
UPLOAD_CHUNK_BYTES = env.int("UPLOAD_CHUNK_BYTES", default=8 * 1024 * 1024)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024**3)
UPLOAD_SPOOL_DIR = Path(env.str("UPLOAD_SPOOL_DIR", default=str(VAR_DIR / "upload-spool")))
LIBRARY_MAX_CLIP_SECONDS = env.int("LIBRARY_MAX_CLIP_SECONDS", default=4 * 3600)

# --- Redis: channel layer, Celery broker, cache, rate limits, show control ---
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}},
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# A show can run for many hours: the broker must not hand its task to another
# worker while it is still running (acks_late), so the visibility timeout is
# longer than any show we accept (24 h).
MAX_SHOW_SECONDS = 24 * 3600
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": MAX_SHOW_SECONDS + 3600}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Tasks named "media.*" run one live show each, on media workers only.
CELERY_TASK_ROUTES = {"media.*": {"queue": "media"}}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Seconds a media worker has after SIGTERM (a deploy, a scale-down) to hand its live shows over to another
# media worker (the slate covers the switch; apps/shows/worker.py) and store its recording parts before it
# is killed; docs/RELIABILITY.md has the whole story. docker/compose.yaml's stop_grace_period and the Kubernetes
# terminationGracePeriodSeconds of the media Deployment are this number (tests/deploy checks them).
MEDIA_STOP_GRACE_SECONDS = 120
# Periodic jobs run by beat; each app adds its own entries.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Abandoned resumable uploads release their spool files / S3 parts (and quota).
    "library-sweep-stale-uploads": {"task": "library.sweep_stale_uploads", "schedule": 3600.0},
    # A live show whose whole media worker died holds no lock any more; start it again (the lock keeps
    # it to one run). A killed pool child alone is handled by acks_late + reject_on_worker_lost.
    "streams-resume-orphan-shows": {"task": "streams.resume_orphan_shows", "schedule": 30.0},
    # Platform access tokens (YouTube ~1 h, Twitch ~4 h) are refreshed before they expire.
    "destinations-refresh-platform-tokens": {"task": "destinations.refresh_platform_tokens", "schedule": 600.0},
    # Invites that expired: the guest is taken out of the room and their sockets close (each socket also
    # ends itself at the moment of expiry; this catches guests connected only to LiveKit).
    "studio-expire-guests": {"task": "studio.expire_guests", "schedule": 15.0},
    # Every live show has a chat ingest runner (a Redis lease keeps it to one; slices chain themselves).
    "engagement-kick-ingest": {"task": "engagement.kick_ingest", "schedule": 30.0},
    # Beat → broker → a default worker, end to end: the time it last ran is on beat's metrics endpoint.
    "core-beat-heartbeat": {"task": "core.beat_heartbeat", "schedule": 15.0},
    # Refresh-token rows (and their blacklist rows) past expiry, and expired sessions, are deleted.
    "accounts-purge-expired-credentials": {"task": "accounts.purge_expired_credentials", "schedule": 6 * 3600.0},
}

# --- LiveKit ----------------------------------------------------------------
LIVEKIT_URL = env.str("LIVEKIT_URL", default="ws://127.0.0.1:7880")
# Development credentials so `make run` works out of the box; production refuses them.
DEV_LIVEKIT_API_KEY = "devkey"
DEV_LIVEKIT_API_SECRET = "streamus-dev-livekit-secret-0123456789"
LIVEKIT_API_KEY = env.str("LIVEKIT_API_KEY", default=DEV_LIVEKIT_API_KEY)
LIVEKIT_API_SECRET = env.str("LIVEKIT_API_SECRET", default=DEV_LIVEKIT_API_SECRET)
# What browsers and the mobile app connect to (wss:// behind the TLS front in production); the
# server side (web, media) keeps LIVEKIT_URL, which may be an address inside the network.
# Empty: LIVEKIT_URL (one address for both, as in `make run`).
LIVEKIT_PUBLIC_URL = env.str("LIVEKIT_PUBLIC_URL", default="")

# --- Destinations ------------------------------------------------------------
# Private, loopback and link-local destination hosts are refused (SSRF) unless
# this is set for local testing.
ALLOW_PRIVATE_DESTINATIONS = env.bool("ALLOW_PRIVATE_DESTINATIONS", default=False)
# Networks (CIDR) a destination may be in although they are not public: an ingest server on the
# creator's own network, named one by one. Unlike ALLOW_PRIVATE_DESTINATIONS, allowed in production.
DESTINATION_ALLOWED_NETWORKS = env.list("DESTINATION_ALLOWED_NETWORKS", default=[])
try:
    for _network in DESTINATION_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as exc:
    raise ImproperlyConfigured(f"DESTINATION_ALLOWED_NETWORKS: {exc}") from None
# --- Connected platform accounts (OAuth) ----------------------------------------
# A platform whose client id is empty is hidden, with an explanation, on the
# connections page. Every base URL is a setting so tests (and proxies) can point
# the same code at another server; the defaults are the real production hosts.
# Redirect URIs registered with each platform: SITE_URL + /connections/<platform>/callback/
YOUTUBE_CLIENT_ID = env.str("YOUTUBE_CLIENT_ID", default="")
YOUTUBE_CLIENT_SECRET = env.str("YOUTUBE_CLIENT_SECRET", default="")
GOOGLE_ACCOUNTS_BASE_URL = env.str("GOOGLE_ACCOUNTS_BASE_URL", default="https://accounts.google.com")
GOOGLE_OAUTH_BASE_URL = env.str("GOOGLE_OAUTH_BASE_URL", default="https://oauth2.googleapis.com")
YOUTUBE_API_BASE_URL = env.str("YOUTUBE_API_BASE_URL", default="https://www.googleapis.com/youtube/v3")
TWITCH_CLIENT_ID = env.str("TWITCH_CLIENT_ID", default="")
TWITCH_CLIENT_SECRET = env.str("TWITCH_CLIENT_SECRET", default="")
TWITCH_AUTH_BASE_URL = env.str("TWITCH_AUTH_BASE_URL", default="https://id.twitch.tv/oauth2")
TWITCH_API_BASE_URL = env.str("TWITCH_API_BASE_URL", default="https://api.twitch.tv/helix")
TWITCH_INGEST_BASE_URL = env.str("TWITCH_INGEST_BASE_URL", default="https://ingest.twitch.tv")
FACEBOOK_CLIENT_ID = env.str("FACEBOOK_CLIENT_ID", default="")
FACEBOOK_CLIENT_SECRET = env.str("FACEBOOK_CLIENT_SECRET", default="")
FACEBOOK_DIALOG_BASE_URL = env.str("FACEBOOK_DIALOG_BASE_URL", default="https://www.facebook.com/v24.0")
FACEBOOK_GRAPH_BASE_URL = env.str("FACEBOOK_GRAPH_BASE_URL", default="https://graph.facebook.com/v24.0")
# --- Chat ingest (apps/engagement) ----------------------------------------------
# Twitch chat is IRC over this websocket; Facebook live comments stream from this host.
TWITCH_CHAT_URL = env.str("TWITCH_CHAT_URL", default="wss://irc-ws.chat.twitch.tv:443")
FACEBOOK_STREAMING_BASE_URL = env.str("FACEBOOK_STREAMING_BASE_URL", default="https://streaming-graph.facebook.com")
# One Celery task reads a show's chats for this long, then hands over to the next (under the task time limit).
ENGAGEMENT_INGEST_SLICE_SECONDS = env.int("ENGAGEMENT_INGEST_SLICE_SECONDS", default=200)
# Seconds for one call to a platform API; a slow platform must not hold up go-live for long.
PLATFORM_HTTP_TIMEOUT = env.float("PLATFORM_HTTP_TIMEOUT", default=10.0)
FFMPEG_BIN = env.str("FFMPEG_BIN", default="ffmpeg")
FFPROBE_BIN = env.str("FFPROBE_BIN", default="ffprobe")
# Where the recorder writes while a show runs (fragmented files survive a crash and
# are uploaded by the next run); uploaded to default storage at stop.
BROADCAST_SPOOL_DIR = Path(env.str("BROADCAST_SPOOL_DIR", default=str(VAR_DIR / "spool")))
BROADCAST_X264_PRESET = env.str("BROADCAST_X264_PRESET", default="veryfast")
# The show's program: the LiveKit compositor (the studio's room), or the generated test scene
# (moving pattern, clock, tone) for a media worker without LiveKit and for the engine's own tests.
BROADCAST_SOURCE = env.str("BROADCAST_SOURCE", default="compositor")
if BROADCAST_SOURCE not in {"compositor", "test_scene"}:
    raise ImproperlyConfigured(f"BROADCAST_SOURCE must be compositor or test_scene, not {BROADCAST_SOURCE!r}")
# Extra CA bundle the pushers trust for rtmps (tests and private ingests); system CAs otherwise.
BROADCAST_EXTRA_CA_FILE = env.str("BROADCAST_EXTRA_CA_FILE", default="")
# How long the program may stay below real time before the encoder steps down (a faster preset, then
# fewer frames per second, then a smaller picture; media/broadcast/pacing.py).
BROADCAST_STEP_DOWN_SECONDS = env.float("BROADCAST_STEP_DOWN_SECONDS", default=30.0)

# --- Email -------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="StreamUs <noreply@streamus.local>")

# --- API and auth ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.JWTCookieAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.rest.AutoSchema",
    # The API speaks JSON (uploads say otherwise where they take files or chunks), so the schema can say
    # exactly what each operation accepts and answers.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.core.rest.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.throttling.UserThrottle", "apps.core.throttling.AnonThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
JWT_ACCESS_COOKIE = "streamus_access"
JWT_REFRESH_COOKIE = "streamus_refresh"
SPECTACULAR_SETTINGS = {
    "TITLE": "StreamUs API",
    "DESCRIPTION": "Streams, destinations, guests, brand kits and recordings.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Documents HEAD where a view answers it (the upload resume point); errors come from apps.core.rest.AutoSchema.
    "DEFAULT_GENERATOR_CLASS": "apps.core.rest.Generator",
    # Swagger UI from our own static files: no CDN at run time, and CSP's script-src 'self' holds.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` / `kind` / `layout`: name each choice set after its owner.
    "ENUM_NAME_OVERRIDES": {
        "StreamStatusEnum": "apps.streams.models.Stream.Status",
        "StreamLayoutEnum": "apps.streams.models.Layout",
        "DestinationStatusEnum": "apps.destinations.models.StreamDestination.Status",
        "ConnectedAccountStatusEnum": "apps.destinations.models.ConnectedAccount.Status",
        "BrandAssetKindEnum": "apps.branding.models.BrandAsset.Kind",
        "RecordingKindEnum": "apps.recordings.models.Recording.Kind",
        "ClipStatusEnum": "apps.library.models.MediaClip.Status",
        "UploadStatusEnum": "apps.library.models.UploadSession.Status",
        "GuestRoleEnum": "apps.streams.models.Guest.Role",
        "CommentStatusEnum": "apps.engagement.models.Comment.Status",
        "CommentPlatformEnum": "apps.engagement.models.Platform",
        "DestinationPlatformEnum": "apps.destinations.models.Platform",
        "DestinationPlatformStateEnum": "apps.destinations.models.PlatformState",
        "DestinationCanvasEnum": "apps.destinations.models.Canvas",
        "DestinationPrivacyEnum": "apps.destinations.models.PrivacyStatus",
        "RecordingFileFormatEnum": "apps.recordings.models.Recording.Format",
        "StreamRecordingFormatEnum": "apps.streams.models.RecordingFormat",
        "StreamResolutionEnum": "apps.streams.models.RESOLUTIONS",
        "StreamFpsEnum": "apps.streams.models.FPS_CHOICES",
        "UploadPurposeEnum": "apps.library.models.UploadSession.Purpose",
        "UserTierEnum": "apps.accounts.tiers.Tier.CHOICES",
        "SceneLayoutEnum": "media.scene.layout.LAYOUTS",
        "SceneTransitionEnum": "apps.studio.scene.TRANSITIONS",
        "PlaybackModeEnum": "apps.studio.playback.MODES",
        "DestinationStateEnum": "apps.destinations.models.DestinationState",
    },
}
# API requests per signed-in user / per anonymous address ("N/second|minute|hour|day"; empty: no limit).
API_RATE_USER = env.str("API_RATE_USER", default="1200/minute")
API_RATE_ANON = env.str("API_RATE_ANON", default="300/minute")
# Login attempts per (ip, email) per window before 429 (site, admin and API alike).
LOGIN_RATE_LIMIT = env.int("LOGIN_RATE_LIMIT", default=10)
LOGIN_RATE_WINDOW_SECONDS = env.int("LOGIN_RATE_WINDOW_SECONDS", default=300)
# Failed logins per account per window, from all addresses together, before the account backs off.
# Above LOGIN_RATE_LIMIT, so that no single address can trip it (apps/core/ratelimit.py).
LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("LOGIN_ACCOUNT_FAILURE_LIMIT", default=30)
LOGIN_BACKOFF_SECONDS = env.int("LOGIN_BACKOFF_SECONDS", default=60)
LOGIN_BACKOFF_MAX_SECONDS = env.int("LOGIN_BACKOFF_MAX_SECONDS", default=3600)
if LOGIN_ACCOUNT_FAILURE_LIMIT <= LOGIN_RATE_LIMIT:
    raise ImproperlyConfigured(
        "LOGIN_ACCOUNT_FAILURE_LIMIT must be above LOGIN_RATE_LIMIT: one address must not trip it"
    )

# --- Behind a proxy ------------------------------------------------------------
# Addresses (or CIDR networks) of the proxies in front of web: the TLS front in
# docker/compose.yaml, a load balancer. Their X-Forwarded-For is read right to left
# to find the client (apps.core.ratelimit.client_address), which every rate limit and
# API throttle keys on. Empty: the header is ignored and the peer is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    for _proxy in TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from None

# Request bodies are refused (413) over these sizes before they are read
# (apps.core.bodylimit); resumable upload chunks and brand images have their own
# limits above. The front (docker/Caddyfile) enforces the same numbers.
# Login, signup, password reset, token refresh, webhooks: no account needed, so small.
REQUEST_BODY_MAX_PUBLIC = env.int("REQUEST_BODY_MAX_PUBLIC", default=64 * 1024)
# The JSON API (scenes, destinations, streams): nothing legitimate comes near 1 MiB.
REQUEST_BODY_MAX_API = env.int("REQUEST_BODY_MAX_API", default=1024 * 1024)
# Every other page a signed-in creator posts to.
REQUEST_BODY_MAX = env.int("REQUEST_BODY_MAX", default=2 * 1024 * 1024)
# One websocket message (studio, comments): commands and chat lines, never media.
WEBSOCKET_MAX_MESSAGE_BYTES = env.int("WEBSOCKET_MAX_MESSAGE_BYTES", default=64 * 1024)

# --- Security headers ----------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Cookies are Secure whenever the site is served over https (always in production).
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=ENVIRONMENT == "production")
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if ENVIRONMENT == "production":
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Called over the internal network, never by a browser: probes and LiveKit's signed webhooks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^rtc/webhook$", r"^metrics$"]
# {livekit} is the LiveKit origin browsers use, from LIVEKIT_PUBLIC_URL or LIVEKIT_URL
# (apps/core/middleware.py): the studio's browser talks to it and to our own origin, nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self' {livekit}; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

# --- Logging: JSON lines with a request id; secrets redacted -------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "apps.core.logging.RequestIdFilter"},
        "redact": {"()": "apps.core.logging.RedactSecretsFilter"},
    },
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # Celery's pool (billiard) logs "Process ... exited with ..." on a logger that does not propagate:
        # without a handler of ours, Python's last-resort handler printed it to stderr as plain text.
        "multiprocessing": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Metrics (Prometheus; apps/core/metrics.py) -------------------------------------
# Web: GET /metrics on the web port, for loopback clients outside production, and for
# "Authorization: Bearer METRICS_TOKEN" when a token is set. Celery pool processes and beat serve
# their own endpoint when METRICS_PORT is set (pool child i on METRICS_PORT + i), bound to METRICS_BIND.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_PORT = env.int("METRICS_PORT", default=0)
METRICS_BIND = env.str("METRICS_BIND", default="127.0.0.1")

# --- Production refuses to start unsafe ------------------------------------------
# Each problem names the variable to fix. Checked after every setting is read.
if ENVIRONMENT == "production":
    problems = []
    if DEBUG:
        problems.append("DEBUG is on")
    if SECRET_KEY == INSECURE_DEFAULT_SECRET or len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY is the default or shorter than 32 characters")
    if not STREAM_KEY_ENCRYPTION_KEYS or DEV_STREAM_KEY_ENCRYPTION_KEY in STREAM_KEY_ENCRYPTION_KEYS:
        problems.append("STREAM_KEY_ENCRYPTION_KEYS is empty or holds the development key")
    if LIVEKIT_API_KEY == DEV_LIVEKIT_API_KEY:
        problems.append("LIVEKIT_API_KEY is the development key")
    if LIVEKIT_API_SECRET == DEV_LIVEKIT_API_SECRET or len(LIVEKIT_API_SECRET) < 32:
        problems.append("LIVEKIT_API_SECRET is the development secret or shorter than 32 characters")
    if "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS allows every host (*)")
    if not SECURE_COOKIES:
        problems.append("SECURE_COOKIES is off (session and CSRF cookies would travel over plain http)")
    if ALLOW_PRIVATE_DESTINATIONS:
        problems.append("ALLOW_PRIVATE_DESTINATIONS is on (destinations could reach the server's own network)")
    if not (LIVEKIT_PUBLIC_URL or LIVEKIT_URL).startswith("wss://"):
        problems.append(
            f"LIVEKIT_PUBLIC_URL is not wss ({LIVEKIT_PUBLIC_URL or LIVEKIT_URL!r}): an https page cannot open ws://"
        )
    if not SITE_URL.startswith("https://"):
        problems.append(f"SITE_URL is not https ({SITE_URL!r}): browsers give the camera only to secure origins")
    if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
        problems.append("METRICS_TOKEN is shorter than 32 characters")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))

# Error reports, scrubbed like the logs: no local variables, no request bodies (apps/core/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from apps.core import sentry

    sentry.init(dsn=SENTRY_DSN, environment=ENVIRONMENT)
