"""The field app (城管通) at /m/: the phone web app of grid workers and department handlers.

The page is one shell; its script (static/js/field/) talks to /api/v1 like any device. Served here as well:
the web manifest and icons that make it installable, and the service worker (from /m/ so that its scope is the
app) that keeps the shell, the task list and its photos readable offline.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache

from flask import Blueprint, Response, current_app, jsonify, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth import roles_required
from app.config import BASE_DIR
from app.errors import NotFound
from app.models import Role

bp = Blueprint("field", __name__, url_prefix="/m")
FIELD_ROLES = (Role.WORKER, Role.HANDLER)
ICON_SIZES = (192, 512)
THEME = "#0b4f8a"
STATIC = BASE_DIR / "static"
# The app's own files (the service worker keeps them; their content names its cache).
SHELL_FILES = ("css/app.css", "css/field.css", "js/common.js", "js/field/outbox.js", "js/field/app.js")


@bp.get("/")
@roles_required(*FIELD_ROLES)
def app_shell():
    """The app: tasks, map, patrol report; everything else is loaded by its script."""
    cfg = current_app.config
    return render_template("field/app.html", settings={
        "position_every_s": cfg["FIELD_POSITION_EVERY_S"], "position_min_move_m": cfg["FIELD_POSITION_MIN_MOVE_M"],
        "arrive_radius_m": cfg["ARRIVE_RADIUS_M"], "max_photo_px": cfg["FIELD_PHOTO_MAX_PX"],
        "suggest_url": url_for("api.suggest_categories", lang=str(get_locale() or "zh_CN")),
    })


@bp.get("/manifest.webmanifest")
def manifest():
    """What makes the app installable: its name, start page, scope, colours and icons."""
    body = jsonify({
        "name": _("Smart City Management · Field"), "short_name": _("Field app"), "lang": "zh-CN",
        "start_url": url_for("field.app_shell"), "scope": url_for("field.app_shell"), "display": "standalone",
        "orientation": "portrait", "background_color": "#f4f6f9", "theme_color": THEME,
        "icons": [{"src": url_for("field.icon", size=s), "sizes": f"{s}x{s}", "type": "image/png",
                   "purpose": "any maskable"} for s in ICON_SIZES],
    })
    body.mimetype = "application/manifest+json"
    return body


@bp.get("/icon-<int:size>.png")
def icon(size: int):
    """The app icon, drawn once per size (a Chinese character on the theme colour, safe for maskable crops)."""
    if size not in ICON_SIZES:
        raise NotFound()
    return send_file(io.BytesIO(_icon_png(size)), mimetype="image/png", max_age=86400)


@lru_cache(maxsize=len(ICON_SIZES))
def _icon_png(size: int) -> bytes:
    # Drawn rather than committed as binary files: one source (this function) for every size.
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (size, size), THEME)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("NotoSansCJK-Bold.ttc", int(size * 0.42))
    except OSError:  # no CJK font on this machine: a plain mark, still a valid icon
        font = ImageFont.load_default(size=int(size * 0.42))
    draw.text((size / 2, size / 2), "城管", fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from /m/ so that it controls the app's pages (never cached by HTTP)."""
    return Response(_service_worker(), mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@lru_cache(maxsize=1)
def _service_worker() -> str:
    # Its cache is named after the app's files: a release that changes any of them changes sw.js, so phones
    # install the new worker, fetch the new files once and drop the old cache; in between, everything comes
    # from the phone.
    source = (STATIC / "js" / "field" / "sw.js").read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode())
    for name in SHELL_FILES:
        digest.update((STATIC / name).read_bytes())
    files = json.dumps([f"/static/{name}" for name in SHELL_FILES])
    return (source.replace('const VERSION = "field-dev";', f'const VERSION = "field-{digest.hexdigest()[:12]}";')
            .replace("const FILES = [];", f"const FILES = {files};"))
