"""Configuration from environment variables; `create_app(Config)` or a subclass/mapping overrides."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


class Config:
    """Settings read once at import; every one can be set by the environment variable of its name."""

    SECRET_KEY = _env("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops")
    # A killed worker's backend waiting on a row lock would hold its own locks until that wait ends:
    # PostgreSQL checks every 5 s that the client is still there and ends the orphan. JIT compilation is off:
    # it cost 70 ms on the map's big aggregations (bench/viewport.py) and the app runs no hour-long queries.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True,
                                 "connect_args": {"options": "-c client_connection_check_interval=5000 -c jit=off"}}
    REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    MEDIA_ROOT = _env("MEDIA_ROOT", str(BASE_DIR / "media"))
    MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_MB", "25")) * 1024 * 1024
    # What a phone produces (24 MP is today's largest default); more is refused before decoding.
    MAX_IMAGE_PIXELS = int(_env("MAX_IMAGE_PIXELS", str(25_000_000)))

    TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
    WORK_PERIODS = _env("WORK_PERIODS", "08:00-12:00,14:00-18:00")
    GRID_CODE_PATTERN = _env("GRID_CODE_PATTERN", r"^\d{15}$")
    # Grids may share edges; any overlap larger than this (m²) is an import error.
    GRID_OVERLAP_TOLERANCE_M2 = float(_env("GRID_OVERLAP_TOLERANCE_M2", "1.0"))

    BABEL_DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = ("zh_CN", "en")

    RATELIMIT_STORAGE_URI = REDIS_URL
    RATELIMIT_DEFAULT = _env("RATELIMIT_DEFAULT", "")
    RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "10 per minute")  # per IP address
    # Failed passwords per account, from any address (slows a botnet guessing one account down).
    RATELIMIT_LOGIN_ACCOUNT = _env("RATELIMIT_LOGIN_ACCOUNT", "5 per 5 minutes")
    RATELIMIT_REPORT = _env("RATELIMIT_REPORT", "30 per minute")
    RATELIMIT_CITIZEN = _env("RATELIMIT_CITIZEN", "10 per minute")  # the public form, per IP address
    RATELIMIT_SUGGEST = _env("RATELIMIT_SUGGEST", "60 per minute")  # category suggestions as one types, per address
    # Per device (a random cookie): tighter than per IP, which many phones share behind carrier NAT.
    RATELIMIT_DEVICE = _env("RATELIMIT_DEVICE", "5 per minute;30 per day")
    RATELIMIT_OPEN311 = _env("RATELIMIT_OPEN311", "60 per minute")  # Open311 POSTs per API key
    RATELIMIT_HEADERS_ENABLED = True
    # A Redis outage must not take the whole site down: fall back to per-process limits.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", "0") == "1"
    # Every sign-in is a row (user_sessions) that logout revokes; these bound how long one lives.
    SESSION_LIFETIME = timedelta(hours=float(_env("SESSION_HOURS", "12")))  # without "remember me"
    REMEMBER_COOKIE_DURATION = timedelta(days=float(_env("REMEMBER_DAYS", "14")))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # The live stream (GET /api/v1/events/stream): a comment line this often keeps proxies from closing it, and
    # each connection ends after STREAM_MAX_S (the browser reconnects and is authenticated again).
    STREAM_HEARTBEAT_S = float(_env("STREAM_HEARTBEAT_S", "15"))
    STREAM_MAX_S = float(_env("STREAM_MAX_S", "300"))
    # Empty in production: a proxy sends /api/v1/events/stream to the stream server, same origin as the pages.
    # Without a proxy (`flask serve-all`), the port of the stream server on the same host as the web server.
    STREAM_PORT = int(_env("STREAM_PORT", "0")) or None

    RQ_QUEUES = ("dispatch", "default", "maintenance", "media")  # media: blurring public photo copies
    # Base map tiles; intranets point this at their own tile server. MAP_TILE_CRS says which coordinates the
    # tiles are drawn in: "wgs84" (OpenStreetMap, Tianditu's _w layers) or "gcj02" (Amap/Gaode, Tencent), where
    # the pages shift every position for display so markers sit on the right street (stored data stays WGS-84).
    MAP_TILE_URL = _env("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    MAP_TILE_ATTRIBUTION = _env("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
    MAP_TILE_CRS = _env("MAP_TILE_CRS", "wgs84")
    MAP_TILE_SUBDOMAINS = _env("MAP_TILE_SUBDOMAINS", "abc")  # what {s} takes: Amap "1234", Tianditu "01234567"
    MAP_MAX_ZOOM = int(_env("MAP_MAX_ZOOM", "19"))
    DEMO_MODE = _env("DEMO_MODE", "0") == "1"
    # Routing weights as JSON, e.g. {"lateness": 6, "neighbour": 20}; see dispatch/routing.py.
    DISPATCH_WEIGHTS = _env("DISPATCH_WEIGHTS", "{}")
    # The field app: while on duty it sends the phone's position this often, and sooner after moving this far;
    # photos are shrunk on the phone to this longest side before upload (mobile data is paid for).
    FIELD_POSITION_EVERY_S = int(_env("FIELD_POSITION_EVERY_S", "60"))
    FIELD_POSITION_MIN_MOVE_M = int(_env("FIELD_POSITION_MIN_MOVE_M", "30"))
    FIELD_PHOTO_MAX_PX = int(_env("FIELD_PHOTO_MAX_PX", "1600"))
    ARRIVE_RADIUS_M = float(_env("ARRIVE_RADIUS_M", "150"))  # starting work farther from the case needs a reason
    ACCEPT_TIMEOUT_MIN = float(_env("ACCEPT_TIMEOUT_MIN", "15"))  # offer not accepted → next best worker
    # Going on duty starts a shift of this many hours unless the worker says otherwise; routing does not queue
    # work that would only start after a shift ends. 0: shift ends are not known.
    SHIFT_HOURS = float(_env("SHIFT_HOURS", "8"))
    WARN_SHARE = float(_env("WARN_SHARE", "0.8"))  # share of the handling limit that triggers a warning

    # Text models (category from a report's words): versions and the `current` pointer, written by `flask intel train`.
    INTEL_MODEL_DIR = _env("INTEL_MODEL_DIR", str(BASE_DIR / "instance" / "models" / "intel"))
    VISION_WEIGHTS = _env("VISION_WEIGHTS", str(BASE_DIR / "instance" / "models" / "demo.pt"))
    VISION_CLASSMAP = _env("VISION_CLASSMAP", "")  # YAML {model class: category}; empty = names as they are
    VISION_DEVICE = _env("VISION_DEVICE", "cpu")  # or "cuda:0"
    VISION_IMGSZ = int(_env("VISION_IMGSZ", "640"))
    VISION_CONF = float(_env("VISION_CONF", "0.25"))
    # torch threads per camera process; 0: the machine's cores shared among its camera processes
    VISION_THREADS = int(_env("VISION_THREADS", "0"))
    VISION_HALF = _env("VISION_HALF", "0") == "1"  # FP16 inference on a GPU (ignored on the CPU)
    VISION_TRACK = _env("VISION_TRACK", "1") == "1"  # Ultralytics ByteTrack ids help the rules follow objects
    VISION_RULES = _env("VISION_RULES", "")  # YAML {category: {dwell_s: …, min_conf: …}} over the defaults
    DEMO_VIDEO_DIR = _env("DEMO_VIDEO_DIR", str(BASE_DIR / "instance" / "demo_videos"))
    # Snap-and-report: the first photo gets an AI-suggested category when VISION_WEIGHTS exists.
    SUGGEST_CATEGORY = _env("SUGGEST_CATEGORY", "1") == "1"
    SUGGEST_MIN_CONF = float(_env("SUGGEST_MIN_CONF", "0.35"))
    CIVIC_POINTS_REPORT = int(_env("CIVIC_POINTS_REPORT", "10"))  # 文明积分 for a report that is filed (立案)
    # AI 核查: a resolved camera-found case is checked by its camera looking at the spot again — CAMERA_CHECK_LOOKS
    # looks over CAMERA_CHECK_MINUTES; all absent → passed, all present → back for rework. Categories: comma list,
    # empty for every category. Inspectors check it if the camera is down or has not decided within twice the span.
    CAMERA_CHECK = _env("CAMERA_CHECK", "1") == "1"
    CAMERA_CHECK_LOOKS = int(_env("CAMERA_CHECK_LOOKS", "3"))
    CAMERA_CHECK_MINUTES = float(_env("CAMERA_CHECK_MINUTES", "10"))
    CAMERA_CHECK_CATEGORIES = _env("CAMERA_CHECK_CATEGORIES", "")
    # Two reports are taken for one problem when the duplicate score (intel/duplicates.py) reaches this: cameras
    # add evidence instead of a new case, and dispatchers and citizens are shown the match.
    DUPLICATE_THRESHOLD = float(_env("DUPLICATE_THRESHOLD", "0.5"))
    # Vision nodes (`flask vision run --node`): a camera's lease lasts this long without renewal; a dead node's
    # cameras run elsewhere within it and one heartbeat (a third of it).
    VISION_LEASE_S = float(_env("VISION_LEASE_S", "12"))
    # Proactive discovery (app/services/patrol.py): an idle inspector's round lasts this long at most (or to the end
    # of the shift), ridden at this speed with this long spent looking round each ≈ 150 m cell.
    PATROL_ROUND_MIN = float(_env("PATROL_ROUND_MIN", "60"))
    PATROL_SPEED_MPS = float(_env("PATROL_SPEED_MPS", "2.0"))
    PATROL_LOOK_S = float(_env("PATROL_LOOK_S", "90"))
    # Updates to citizens who left a contact (app/services/updates.py). Links in messages start with this.
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    SMTP_HOST = _env("SMTP_HOST", "")  # empty: e-mails are only logged
    SMTP_PORT = int(_env("SMTP_PORT", "25"))
    SMTP_USER = _env("SMTP_USER", "")
    SMTP_PASSWORD = _env("SMTP_PASSWORD", "")
    SMTP_STARTTLS = _env("SMTP_STARTTLS", "0") == "1"
    SMTP_TIMEOUT_S = float(_env("SMTP_TIMEOUT_S", "10"))  # also the SMS webhook's
    MAIL_FROM = _env("MAIL_FROM", "智慧城管 <noreply@localhost>")
    SMS_GATEWAY = _env("SMS_GATEWAY", "log")  # log, webhook or package.module:function(to, text)
    SMS_WEBHOOK_URL = _env("SMS_WEBHOOK_URL", "")
    API_PAGE_SIZE_MAX = 500
    EXPORT_MAX_ROWS = int(_env("EXPORT_MAX_ROWS", "50000"))  # rows of a CSV export (built in memory)


class ConfigError(ValueError):
    """A setting that cannot work: raised by create_app, so a bad value stops the start, not a request later."""


MAP_CRS = ("wgs84", "gcj02")


def validate(config) -> None:
    """Refuse settings that would only fail later, in a page or a job (called by create_app)."""
    import re

    url = config["MAP_TILE_URL"]
    if not all(part in url for part in ("{z}", "{x}", "{y}")) or not re.match(r"^(https?://[^/]+)?/", url):
        raise ConfigError(f"MAP_TILE_URL must be an http(s) or /path template with {{z}}, {{x}} and {{y}}: {url!r}")
    if config["MAP_TILE_CRS"] not in MAP_CRS:
        raise ConfigError(f"MAP_TILE_CRS must be one of {', '.join(MAP_CRS)}: {config['MAP_TILE_CRS']!r}")
    if "{s}" in url and not config["MAP_TILE_SUBDOMAINS"]:
        raise ConfigError("MAP_TILE_URL uses {s} but MAP_TILE_SUBDOMAINS is empty")
    if not 1 <= config["MAP_MAX_ZOOM"] <= 22:
        raise ConfigError(f"MAP_MAX_ZOOM must be 1..22: {config['MAP_MAX_ZOOM']}")
    if config["CAMERA_CHECK_LOOKS"] < 1 or config["CAMERA_CHECK_MINUTES"] <= 0:
        raise ConfigError("CAMERA_CHECK_LOOKS must be at least 1 and CAMERA_CHECK_MINUTES positive")
    if not 0 <= config["SHIFT_HOURS"] <= 24:
        raise ConfigError(f"SHIFT_HOURS must be 0..24 (0: shift ends not known): {config['SHIFT_HOURS']}")
    if not re.match(r"^https?://[^/]+", config["PUBLIC_BASE_URL"]):
        raise ConfigError(f"PUBLIC_BASE_URL must be an http(s) address: {config['PUBLIC_BASE_URL']!r}")
    from app.services.updates import sms_gateway

    try:
        sms_gateway(config["SMS_GATEWAY"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if config["SMS_GATEWAY"] == "webhook" and not re.match(r"^https?://[^/]+", config["SMS_WEBHOOK_URL"]):
        raise ConfigError(f"SMS_GATEWAY=webhook needs SMS_WEBHOOK_URL, an http(s) address: "
                          f"{config['SMS_WEBHOOK_URL']!r}")
    if not 3 <= config["VISION_LEASE_S"] <= 600:
        raise ConfigError(f"VISION_LEASE_S must be 3..600 seconds: {config['VISION_LEASE_S']}")
    if not 0 < config["DUPLICATE_THRESHOLD"] < 1:
        raise ConfigError(f"DUPLICATE_THRESHOLD must be between 0 and 1: {config['DUPLICATE_THRESHOLD']}")
    if not 10 <= config["PATROL_ROUND_MIN"] <= 480:
        raise ConfigError(f"PATROL_ROUND_MIN must be 10..480 minutes: {config['PATROL_ROUND_MIN']}")
    if not 0.3 <= config["PATROL_SPEED_MPS"] <= 15 or not 0 <= config["PATROL_LOOK_S"] <= 1800:
        raise ConfigError(f"PATROL_SPEED_MPS must be 0.3..15 and PATROL_LOOK_S 0..1800: "
                          f"{config['PATROL_SPEED_MPS']}, {config['PATROL_LOOK_S']}")
    if config["EXPORT_MAX_ROWS"] < 1:
        raise ConfigError(f"EXPORT_MAX_ROWS must be positive: {config['EXPORT_MAX_ROWS']}")


class TestConfig(Config):
    """Settings for the test suite: separate database and Redis db index."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = _env(
        "TEST_DATABASE_URL", "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_test"
    )
    REDIS_URL = _env("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    RATELIMIT_STORAGE_URI = REDIS_URL
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing for the many accounts tests create
    STREAM_HEARTBEAT_S = 0.5  # streams in tests beat and end quickly
    STREAM_MAX_S = 3.0
