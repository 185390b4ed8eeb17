"""Configuration classes; every value comes from the environment."""
import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
ENV_FILE = Path(os.environ.get("TUTORHUB_ENV_FILE") or BASE_DIR / ".env")

# Every entry point reads the same settings: the web server (wsgi.py), the worker (jobs/worker.py) and the
# flask command import this module before anything reads the environment. A real environment variable wins
# over the file (python-dotenv's override=False); TUTORHUB_ENV_FILE names another file, TUTORHUB_DOTENV=0 skips
# it (the tests do, so a developer's .env cannot leak into them).
if os.environ.get("TUTORHUB_DOTENV", "1") != "0":
    load_dotenv(ENV_FILE, override=False)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def normalize_database_url(url):
    """Heroku hands out postgres:// URLs; SQLAlchemy wants a driver-qualified scheme."""
    if url and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-key-never-use-in-production-2026")
    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY") or SECRET_KEY
    # Passphrases encrypting secrets at rest (app/common/crypto.py), newest first; empty: one derived from SECRET_KEY.
    DATA_ENCRYPTION_KEYS = env_list("DATA_ENCRYPTION_KEYS")
    SQLALCHEMY_DATABASE_URI = normalize_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'tutorhub.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {}
    # PostgreSQL connection pool per process (SQLAlchemy's pool_size / max_overflow), unless
    # SQLALCHEMY_ENGINE_OPTIONS sets them. Under eventlet hundreds of greenthreads share one process: past
    # pool_size each extra connection is opened and closed again (overflow), so the pool is sized for the
    # load and overflow kept small.
    DATABASE_POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "20"))
    DATABASE_MAX_OVERFLOW = int(os.environ.get("DATABASE_MAX_OVERFLOW", "5"))
    # Socket.IO message sends writing at once per process (messaging's send gate, a FifoGate from
    # app/common/gate.py); the rest wait their turn in arrival order before taking a connection. 0: no limit.
    MESSAGE_SEND_CONCURRENCY = int(os.environ.get("MESSAGE_SEND_CONCURRENCY", "10"))
    # The server (wsgi.py) runs full garbage collections on this schedule instead of when Python decides
    # (app/common/runtime.py schedule_full_collections); 0: Python's automatic full collections.
    GC_FULL_COLLECT_SECONDS = float(os.environ.get("GC_FULL_COLLECT_SECONDS", "600"))
    # Young collections between two generation-1 collections in the server (Python's default: 10).
    GC_MIDDLE_THRESHOLD = int(os.environ.get("GC_MIDDLE_THRESHOLD", "2"))
    # Every pooled PostgreSQL connection is pinged when checked out (SQLAlchemy's pool_pre_ping), so one the server
    # closed (a restart, pg_terminate_backend, an idle timeout) is replaced before a request uses it; a SQLite file
    # has no server to lose. Off saves a round trip per checkout, at the price of errors after a restart.
    DATABASE_PRE_PING = env_bool("DATABASE_PRE_PING", True)
    # SQLite (the embedded default): seconds a writer waits for the database's write lock before failing.
    SQLITE_BUSY_TIMEOUT_SECONDS = float(os.environ.get("SQLITE_BUSY_TIMEOUT_SECONDS", "30"))
    # None means "use fakeredis in-process" (the embedded default).
    REDIS_URL = os.environ.get("REDIS_URL")
    # Connections per process; past that, a caller waits up to REDIS_POOL_TIMEOUT seconds for a free one.
    REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", "100"))
    REDIS_POOL_TIMEOUT = float(os.environ.get("REDIS_POOL_TIMEOUT", "10"))
    # Jobs run inside the request process (RQ is_async=False) unless a worker is configured.
    JOBS_ASYNC = env_bool("JOBS_ASYNC", default=bool(os.environ.get("REDIS_URL")))

    API_TITLE = "Tutorhub API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
    API_SPEC_OPTIONS = {
        "info": {"description": "Tutoring marketplace backend. Every route lives under /api/v1."},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
    }
    PAGINATION_MAX_PAGE_SIZE = 100

    # `flask seed-demo` also builds the demo marketplace (app/seed_market.py) around the named accounts.
    SEED_DEMO_MARKET = env_bool("SEED_DEMO_MARKET", default=True)
    # Accounts holding one of these roles must use MFA: without it they may log in only to set it up.
    MFA_REQUIRED_ROLES = tuple(env_list("MFA_REQUIRED_ROLES", "admin"))
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15")))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "30")))
    # Tokens travel in the Authorization header only (never in cookies), so they need no CSRF claim.
    JWT_TOKEN_LOCATION = ("headers",)
    JWT_COOKIE_CSRF_PROTECT = False
    MFA_TOKEN_EXPIRES = timedelta(minutes=5)
    EMAIL_CONFIRM_MAX_AGE = timedelta(days=3)
    PASSWORD_RESET_OTP_TTL = timedelta(minutes=10)
    PASSWORD_RESET_MAX_ATTEMPTS = 5
    # argon2id parameters: OWASP's baseline (19 MiB, 2 passes, 1 lane). A stored hash made with other
    # parameters is re-hashed at the next successful login (argon2's check_needs_rehash).
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "2"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", "19456"))  # KiB
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "1"))
    # Under eventlet, hashing runs in OS threads (eventlet.tpool), this many at once per process; the others
    # wait in arrival order (app/common/security.py).
    PASSWORD_HASH_CONCURRENCY = int(os.environ.get("PASSWORD_HASH_CONCURRENCY", "2"))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count in this process's memory until it answers again (flask-limiter's documented fallback).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = env_bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute")  # per client address
    # Failed-login lockouts (app/auth/lockout.py), never account-wide: LOGIN_LOCKOUT_FAILURES wrong passwords
    # from one address lock that address out of that account for the rest of LOGIN_FAILURE_WINDOW seconds;
    # past LOGIN_ACCOUNT_SLOWDOWN_FAILURES on one account (all addresses), an address that has not signed in to it
    # in LOGIN_KNOWN_ADDRESS_DAYS gets one try per LOGIN_SLOWDOWN_SECONDS.
    LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", "900"))
    LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "5"))
    LOGIN_ACCOUNT_SLOWDOWN_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_SLOWDOWN_FAILURES", "20"))
    LOGIN_SLOWDOWN_SECONDS = int(os.environ.get("LOGIN_SLOWDOWN_SECONDS", "300"))
    LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("LOGIN_KNOWN_ADDRESS_DAYS", "90"))
    RATELIMIT_MFA = os.environ.get("RATELIMIT_MFA", "10 per minute")  # per client address
    # MFA verify, also per mfa_token and per account (over all its tokens and addresses); a token is spent
    # after MFA_TOKEN_MAX_FAILURES wrong codes.
    RATELIMIT_MFA_TOKEN = os.environ.get("RATELIMIT_MFA_TOKEN", "6 per minute")
    RATELIMIT_MFA_ACCOUNT = os.environ.get("RATELIMIT_MFA_ACCOUNT", "20 per hour")
    MFA_TOKEN_MAX_FAILURES = int(os.environ.get("MFA_TOKEN_MAX_FAILURES", "5"))
    RATELIMIT_FORGOT = os.environ.get("RATELIMIT_FORGOT", "5 per minute")
    # Signups per client address, and over all addresses (each signup emails a new address).
    RATELIMIT_SIGNUP = os.environ.get("RATELIMIT_SIGNUP", "5 per hour")
    RATELIMIT_SIGNUP_GLOBAL = os.environ.get("RATELIMIT_SIGNUP_GLOBAL", "1000 per hour")
    RATELIMIT_RESET = os.environ.get("RATELIMIT_RESET", "10 per minute")

    # How many reverse proxies (Heroku's router, a load balancer) sit in front and set X-Forwarded-*.
    # 0 trusts no header: rate limits then key on the socket's address.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    # Proxies trusted for X-Forwarded-Proto (whether the client used HTTPS); defaults to PROXY_FIX_X_FOR.
    PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", os.environ.get("PROXY_FIX_X_FOR", "0")))
    # Strict-Transport-Security on every response served over HTTPS (directly, or per a trusted proxy's
    # X-Forwarded-Proto), never over plain HTTP. 0 sends no header.
    HSTS_MAX_AGE = int(os.environ.get("HSTS_MAX_AGE", str(365 * 24 * 3600)))
    HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
    # A dependency down (Redis, the database): 503 with this Retry-After, in seconds.
    SERVICE_UNAVAILABLE_RETRY_AFTER = int(os.environ.get("SERVICE_UNAVAILABLE_RETRY_AFTER", "5"))

    CORS_ORIGINS = env_list("CORS_ORIGINS", "http://localhost:3000")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024)))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    UPLOAD_URL_MAX_AGE = int(os.environ.get("UPLOAD_URL_MAX_AGE", "900"))
    AVATAR_MAX_BYTES = 2 * 1024 * 1024

    # Email: "file" writes .eml files under MAIL_OUTBOX_DIR, "smtp" talks to MAIL_SERVER.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp" if os.environ.get("MAIL_SERVER") else "file")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Tutorhub <no-reply@tutorhub.local>")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "5"))
    # A claimed outbox message not recorded as sent within this lease belongs to a dead worker and is sent again
    # by the dispatcher; keep it well above the SMTP timeout (15 s) so a slow live send is never doubled.
    OUTBOX_CLAIM_LEASE_SECONDS = int(os.environ.get("OUTBOX_CLAIM_LEASE_SECONDS", "300"))
    FRONTEND_URL = os.environ.get("FRONTEND_URL", "http://localhost:3000")

    # Calendar sync (Google). Without GOOGLE_CLIENT_ID/SECRET the Google connect endpoints answer 503.
    GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID")
    GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET")
    GOOGLE_AUTH_URI = os.environ.get("GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
    GOOGLE_TOKEN_URI = os.environ.get("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
    # The Calendar API's base URL (ending in /calendar/v3/); unset: Google's, from the bundled discovery document.
    GOOGLE_CALENDAR_API_BASE = os.environ.get("GOOGLE_CALENDAR_API_BASE")
    # The local calendar simulator (calendar_sandbox/), mounted at /calendar-sandbox in development only.
    CALENDAR_SIMULATOR = False
    # Push notifications to a plain-http CALENDAR_WEBHOOK_BASE_URL (the simulator on this machine); never in production.
    CALENDAR_WEBHOOK_ALLOW_HTTP = False
    # Public https base URL the providers can reach for push notifications; unset (or not https): poll instead.
    CALENDAR_WEBHOOK_BASE_URL = os.environ.get("CALENDAR_WEBHOOK_BASE_URL")
    CALENDAR_POLL_MINUTES = int(os.environ.get("CALENDAR_POLL_MINUTES", "15"))
    # Busy time is pulled for this many days ahead; push channels are renewed this long before they expire.
    CALENDAR_SYNC_DAYS = int(os.environ.get("CALENDAR_SYNC_DAYS", "90"))
    CALENDAR_RENEW_BEFORE_HOURS = int(os.environ.get("CALENDAR_RENEW_BEFORE_HOURS", "24"))
    # Where providers send the user back after consent ({provider} is replaced); default: this API's callback.
    CALENDAR_OAUTH_REDIRECT_URL = os.environ.get("CALENDAR_OAUTH_REDIRECT_URL")
    # Seconds between RQ retries of a failed calendar job (one retry per entry).
    CALENDAR_RETRY_SECONDS = [int(v) for v in env_list("CALENDAR_RETRY_SECONDS", "10,60,300,900,3600")]
    CALENDAR_OAUTH_STATE_MINUTES = int(os.environ.get("CALENDAR_OAUTH_STATE_MINUTES", "10"))

    # Pending (not yet answered) booking requests one student may hold with one tutor; 0: no cap.
    BOOKING_MAX_PENDING_PER_TUTOR = int(os.environ.get("BOOKING_MAX_PENDING_PER_TUTOR", "3"))

    # Message attachments: bytes one user may upload per rolling 24 hours, bytes of uploads not yet sent in a
    # message one user may hold (0: no limit), and the age after which an unsent upload is deleted (file and
    # row) by the periodic cleanup job.
    ATTACHMENT_DAILY_QUOTA_BYTES = int(os.environ.get("ATTACHMENT_DAILY_QUOTA_BYTES", str(100 * 1024 * 1024)))
    ATTACHMENT_UNSENT_QUOTA_BYTES = int(os.environ.get("ATTACHMENT_UNSENT_QUOTA_BYTES", str(30 * 1024 * 1024)))
    ATTACHMENT_UNSENT_MAX_AGE_HOURS = float(os.environ.get("ATTACHMENT_UNSENT_MAX_AGE_HOURS", "24"))

    # Booking reminders go out this many minutes before a session (24 h and 1 h by default).
    REMINDER_OFFSETS_MINUTES = [int(v) for v in env_list("REMINDER_OFFSETS_MINUTES", "1440,60")]

    SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
    SMS_API_URL = os.environ.get("SMS_API_URL")
    SMS_API_KEY = os.environ.get("SMS_API_KEY")
    SMS_FROM = os.environ.get("SMS_FROM", "Tutorhub")

    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
    # Several web processes (and the RQ worker) emit to each other's clients through Redis.
    SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE") or os.environ.get("REDIS_URL")

    # Reviews: Bayesian average = (C * m + sum of overall) / (C + n), C = prior weight, m = prior mean
    # (REVIEWS_BAYES_PRIOR_MEAN when set, else the platform mean of counted overall ratings, else the fallback).
    REVIEWS_BAYES_PRIOR_WEIGHT = float(os.environ.get("REVIEWS_BAYES_PRIOR_WEIGHT", "10"))
    REVIEWS_BAYES_PRIOR_MEAN = float(os.environ["REVIEWS_BAYES_PRIOR_MEAN"]) if os.environ.get("REVIEWS_BAYES_PRIOR_MEAN") else None
    REVIEWS_BAYES_FALLBACK_MEAN = 4.0
    # Words that send a review to the moderation queue (whole words, case-insensitive).
    REVIEWS_BLOCKLIST = env_list("REVIEWS_BLOCKLIST", "idiot,stupid,scam,fraud")
    REVIEWS_EDIT_DAYS = 7
    REVIEWS_WINDOW_DAYS = 30

    # Payments: the platform's share of what a tutor earns, and how long after a session (completed, or the
    # student's no-show) its escrow waits for a dispute before the release job pays the tutor.
    PLATFORM_COMMISSION_PERCENT = int(os.environ.get("PLATFORM_COMMISSION_PERCENT", "15"))
    DISPUTE_WINDOW_HOURS = int(os.environ.get("DISPUTE_WINDOW_HOURS", "48"))
    # Evidence files one dispute or response may carry (each within ATTACHMENT_MAX_BYTES; app/payments/disputes.py).
    DISPUTE_MAX_EVIDENCE_FILES = int(os.environ.get("DISPUTE_MAX_EVIDENCE_FILES", "5"))
    # Packages and plans (app/payments/packages.py): the session lengths an offer may have, and how often the
    # renewal job looks for plan subscriptions whose month has ended.
    PACKAGE_SESSION_LENGTHS = [int(v) for v in env_list("PACKAGE_SESSION_LENGTHS", "30,45,60,90,120")]
    PACKAGE_RENEWAL_INTERVAL_SECONDS = int(os.environ.get("PACKAGE_RENEWAL_INTERVAL_SECONDS", "900"))
    # Learned matching (app/matching/learning.py): the log's retention, the learned arm's share of students (until
    # an admin sets it in the portal), the share of responses shown in a randomised order (position-bias-free
    # data), the model cache's TTL and the match requests a student makes before the
    # learned arm applies (new students get the fixed weights).
    MATCH_LOG_RETENTION_DAYS = int(os.environ.get("MATCH_LOG_RETENTION_DAYS", "180"))
    MATCH_LEARNED_SHARE = float(os.environ.get("MATCH_LEARNED_SHARE", "0.5"))
    MATCH_EXPLORE_RATE = float(os.environ.get("MATCH_EXPLORE_RATE", "0.1"))
    MATCH_MODEL_TTL_SECONDS = float(os.environ.get("MATCH_MODEL_TTL_SECONDS", "300"))
    MATCH_NEW_STUDENT_REQUESTS = int(os.environ.get("MATCH_NEW_STUDENT_REQUESTS", "3"))
    # Cold start: a tutor's score gets MATCH_COLD_BOOST * 0.5 ** (impressions / MATCH_COLD_HALF_LIFE) on top.
    MATCH_COLD_BOOST = float(os.environ.get("MATCH_COLD_BOOST", "0.02"))
    MATCH_COLD_HALF_LIFE = int(os.environ.get("MATCH_COLD_HALF_LIFE", "50"))
    # Earnings and finance reports (app/payments/reports.py): the span a report covers when `from` is not given,
    # and the longest span one report may cover (longer: 422).
    FINANCE_REPORT_DEFAULT_DAYS = int(os.environ.get("FINANCE_REPORT_DEFAULT_DAYS", "90"))
    FINANCE_REPORT_MAX_DAYS = int(os.environ.get("FINANCE_REPORT_MAX_DAYS", "366"))
    # Dashboards and reports (app/progress, app/analytics): the longest `[from, to)` one may cover (longer: 422).
    ANALYTICS_MAX_DAYS = int(os.environ.get("ANALYTICS_MAX_DAYS", "366"))
    # Progress (app/progress): the span the student dashboard and tutor impact cover when `from` is not given, and
    # the days a tutor may still edit a session note after writing it.
    PROGRESS_DEFAULT_DAYS = int(os.environ.get("PROGRESS_DEFAULT_DAYS", "90"))
    SESSION_NOTE_EDIT_DAYS = int(os.environ.get("SESSION_NOTE_EDIT_DAYS", "7"))
    # A stored Idempotency-Key response is replayed this long (app/common/idempotency.py).
    IDEMPOTENCY_KEY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "24"))

    # PayPal (app/payments/paypal.py): paypalrestsdk's Api for OAuth and transport, PayPal's v2 REST endpoints.
    # PAYPAL_MODE is sandbox or live; PAYPAL_API_BASE overrides the mode's host (the local simulator, a proxy).
    PAYPAL_MODE = os.environ.get("PAYPAL_MODE", "sandbox")
    PAYPAL_CLIENT_ID = os.environ.get("PAYPAL_CLIENT_ID")
    PAYPAL_CLIENT_SECRET = os.environ.get("PAYPAL_CLIENT_SECRET")
    PAYPAL_API_BASE = os.environ.get("PAYPAL_API_BASE")
    # The id PayPal gave our webhook; incoming webhooks are verified against it.
    PAYPAL_WEBHOOK_ID = os.environ.get("PAYPAL_WEBHOOK_ID")
    PAYPAL_TIMEOUT_SECONDS = float(os.environ.get("PAYPAL_TIMEOUT_SECONDS", "15"))
    # A webhook transmitted longer ago than this is refused as a replay (PayPal signs each retry anew).
    PAYPAL_WEBHOOK_MAX_AGE_SECONDS = int(os.environ.get("PAYPAL_WEBHOOK_MAX_AGE_SECONDS", "86400"))
    # Where PayPal sends the buyer back after approving (or cancelling) a deposit's order.
    PAYPAL_RETURN_URL = os.environ.get("PAYPAL_RETURN_URL") or os.environ.get("FRONTEND_URL", "http://localhost:3000") + "/wallet/deposits/return"
    PAYPAL_CANCEL_URL = os.environ.get("PAYPAL_CANCEL_URL") or os.environ.get("FRONTEND_URL", "http://localhost:3000") + "/wallet/deposits/cancel"
    # The local PayPal simulator (paypal_sandbox/), mounted at /paypal-sandbox in development only.
    PAYPAL_SIMULATOR = False

    # Outlook calendars (Microsoft Graph through msal). Without MS_CLIENT_ID/MS_CLIENT_SECRET, connecting Outlook
    # answers 503. MS_AUTHORITY_BASE / MS_GRAPH_BASE point at another cloud or at a local stub (tests).
    MS_CLIENT_ID = os.environ.get("MS_CLIENT_ID")
    MS_CLIENT_SECRET = os.environ.get("MS_CLIENT_SECRET")
    MS_TENANT = os.environ.get("MS_TENANT", "common")
    MS_AUTHORITY_BASE = os.environ.get("MS_AUTHORITY_BASE", "https://login.microsoftonline.com")
    MS_GRAPH_BASE = os.environ.get("MS_GRAPH_BASE", "https://graph.microsoft.com/v1.0")
    MS_TIMEOUT_SECONDS = float(os.environ.get("MS_TIMEOUT_SECONDS", "15"))
    MS_SUBSCRIPTION_MINUTES = int(os.environ.get("MS_SUBSCRIPTION_MINUTES", "4230"))
    MS_RESPONSE_MODE = os.environ.get("MS_RESPONSE_MODE", "query")
    # Outgoing webhooks (app/webhooks): a URL resolving to a private, loopback, link-local, multicast or reserved
    # address is refused at registration and before each delivery unless WEBHOOKS_ALLOW_PRIVATE (local receivers).
    WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
    WEBHOOKS_REQUIRE_HTTPS = env_bool("WEBHOOKS_REQUIRE_HTTPS", False)
    WEBHOOKS_MAX_PER_USER = int(os.environ.get("WEBHOOKS_MAX_PER_USER", "10"))
    WEBHOOKS_MAX_ATTEMPTS = int(os.environ.get("WEBHOOKS_MAX_ATTEMPTS", "8"))
    # Retry n waits BASE · 2^(n-1) seconds, at most MAX: 30 s, 1 min, 2 min ... with the defaults.
    WEBHOOKS_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOKS_RETRY_BASE_SECONDS", "30"))
    WEBHOOKS_RETRY_MAX_SECONDS = float(os.environ.get("WEBHOOKS_RETRY_MAX_SECONDS", "3600"))
    WEBHOOKS_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", "3"))
    WEBHOOKS_READ_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_READ_TIMEOUT_SECONDS", "5"))
    # A claimed delivery not recorded by then is sent again (its worker died).
    WEBHOOKS_CLAIM_LEASE_SECONDS = int(os.environ.get("WEBHOOKS_CLAIM_LEASE_SECONDS", "120"))
    # This many failed deliveries in a row (each after all its attempts) disable the webhook; 0 never does.
    WEBHOOKS_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOKS_DISABLE_AFTER_FAILURES", "10"))
    # Finished deliveries (and their attempts and events) are kept this long in the log, then purged hourly.
    WEBHOOKS_LOG_RETENTION_DAYS = int(os.environ.get("WEBHOOKS_LOG_RETENTION_DAYS", "30"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Only the admin portal uses the cookie session: it ends this long after login, however active.
    PORTAL_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("PORTAL_SESSION_HOURS", "8")))
    PERMANENT_SESSION_LIFETIME = PORTAL_SESSION_LIFETIME


class DevelopmentConfig(Config):
    DEBUG = True
    # `flask matching train` runs in another process than `make run`: re-read the newest model every few seconds.
    MATCH_MODEL_TTL_SECONDS = float(os.environ.get("MATCH_MODEL_TTL_SECONDS", "5"))
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    # Without PayPal credentials, `make run` talks to the local simulator mounted in the same server.
    PAYPAL_SIMULATOR = env_bool("PAYPAL_SIMULATOR", default=not os.environ.get("PAYPAL_CLIENT_ID"))
    _LOCAL = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    if PAYPAL_SIMULATOR:
        PAYPAL_CLIENT_ID = os.environ.get("PAYPAL_CLIENT_ID", "sandbox-client-id")
        PAYPAL_CLIENT_SECRET = os.environ.get("PAYPAL_CLIENT_SECRET", "sandbox-client-secret")
        PAYPAL_API_BASE = os.environ.get("PAYPAL_API_BASE", f"{_LOCAL}/paypal-sandbox")
        PAYPAL_WEBHOOK_ID = os.environ.get("PAYPAL_WEBHOOK_ID", "WH-SANDBOX")
        # The simulator sends its webhooks here.
        PAYPAL_SIMULATOR_WEBHOOK_URL = os.environ.get("PAYPAL_SIMULATOR_WEBHOOK_URL",
                                                      f"{_LOCAL}/api/v1/payments/paypal/webhook")
    # Without Google or Microsoft credentials, calendar sync talks to the local Google simulator in the same server,
    # which sends its push notifications to this server over plain http.
    CALENDAR_SIMULATOR = env_bool("CALENDAR_SIMULATOR", default=not (os.environ.get("GOOGLE_CLIENT_ID")
                                                                     or os.environ.get("MS_CLIENT_ID")))
    if CALENDAR_SIMULATOR:
        GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID", "sandbox-client-id.apps.googleusercontent.com")
        GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET", "sandbox-client-secret")
        GOOGLE_AUTH_URI = os.environ.get("GOOGLE_AUTH_URI", f"{_LOCAL}/calendar-sandbox/google/o/oauth2/auth")
        GOOGLE_TOKEN_URI = os.environ.get("GOOGLE_TOKEN_URI", f"{_LOCAL}/calendar-sandbox/google/token")
        GOOGLE_CALENDAR_API_BASE = os.environ.get("GOOGLE_CALENDAR_API_BASE",
                                                  f"{_LOCAL}/calendar-sandbox/google/calendar/v3/")
        CALENDAR_WEBHOOK_BASE_URL = os.environ.get("CALENDAR_WEBHOOK_BASE_URL", _LOCAL)
        CALENDAR_WEBHOOK_ALLOW_HTTP = env_bool("CALENDAR_WEBHOOK_ALLOW_HTTP", True)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    JWT_SECRET_KEY = "test-jwt-secret-key-0123456789abcdef"
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    REDIS_URL = os.environ.get("TEST_REDIS_URL")
    JOBS_ASYNC = False
    # Redis storage when the tests have a real Redis (CI), so the limiter's Redis path is exercised.
    RATELIMIT_STORAGE_URI = os.environ.get("TEST_REDIS_URL") or "memory://"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    MAIL_BACKEND = "file"
    SOCKETIO_ASYNC_MODE = "threading"
    SOCKETIO_MESSAGE_QUEUE = None
    # Tests opt in (tests/auth/test_mfa_required.py) so admin fixtures need no TOTP set-up everywhere.
    MFA_REQUIRED_ROLES = ()
    # seed_demo() seeds the named demo accounts only; tests/test_seed_market.py asks for the marketplace.
    SEED_DEMO_MARKET = False
    # Match responses keep their ranked order and plain scores (tests of the learning log opt in to exploration
    # and the cold-start boost).
    MATCH_EXPLORE_RATE = 0.0
    MATCH_COLD_BOOST = 0.0


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    WEBHOOKS_REQUIRE_HTTPS = env_bool("WEBHOOKS_REQUIRE_HTTPS", True)

    @classmethod
    def validate(cls):
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(f"Production configuration is missing: {', '.join(missing)}")
        if env_bool("PAYPAL_SIMULATOR"):
            raise RuntimeError("PAYPAL_SIMULATOR is for development only; production talks to PayPal.")
        for name in ("CALENDAR_SIMULATOR", "CALENDAR_WEBHOOK_ALLOW_HTTP"):
            if env_bool(name):
                raise RuntimeError(f"{name} is for development only; production talks to Google and Microsoft "
                                   "over https.")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env():
    return CONFIGS[os.environ.get("FLASK_CONFIG", os.environ.get("APP_ENV", "development"))]
