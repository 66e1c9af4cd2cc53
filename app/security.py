"""HTTP security headers for every response (Flask-Talisman), built from the app's own settings.

Content-Security-Policy allows scripts only from this site and the Leaflet CDN (pages fall back to the local
copy), images from this site and the configured tile server, and no framing. HSTS is sent on HTTPS requests
when secure cookies are on (i.e. the site is served over HTTPS); HTTP is never redirected here, since TLS
ends at the reverse proxy.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LEAFLET_CDN = "https://unpkg.com"


def tile_origin(url: str) -> str | None:
    """The origin of a Leaflet tile URL template, with `{s}` subdomains as a wildcard."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.replace("{s}.", "*.").replace("{s}", "*")
    return f"{parts.scheme}://{host}"


def content_security_policy(config) -> dict:
    """The CSP as Talisman's mapping; one place to widen it when a page needs another origin."""
    images = ["'self'", "data:", "blob:", LEAFLET_CDN]
    if origin := tile_origin(config["MAP_TILE_URL"]):
        images.append(origin)
    return {
        "default-src": "'self'",
        "script-src": ["'self'", LEAFLET_CDN],
        # Leaflet positions tiles and markers with style attributes it writes into the page.
        "style-src": ["'self'", LEAFLET_CDN, "'unsafe-inline'"],
        "img-src": images,
        # Without a proxy the live stream comes from its own server on another port of this host (serve-all).
        "connect-src": ["'self'", *([f"*:{config['STREAM_PORT']}"] if config["STREAM_PORT"] else [])],
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def talisman_options(config) -> dict:
    """Keyword arguments for `Talisman.init_app`, from the validated configuration."""
    secure = config["SESSION_COOKIE_SECURE"]
    return {
        "force_https": False,
        "frame_options": "DENY",
        "content_security_policy": content_security_policy(config),
        # Cross-site requests (map tiles) get the origin only: private /track/<token> paths never leave.
        "referrer_policy": "strict-origin-when-cross-origin",
        "strict_transport_security": secure,
        "strict_transport_security_include_subdomains": False,
        "session_cookie_secure": secure,
        "session_cookie_http_only": True,
        "session_cookie_samesite": "Lax",
        "permissions_policy": {"geolocation": "(self)", "camera": "(self)", "microphone": "()",
                               "interest-cohort": "()"},
    }
