"""Evidence photos: decoded and checked with Pillow, stored content-addressed under MEDIA_ROOT."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Media, User
from app.models.cases import MediaKind

_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


def inspect_image(data: bytes, max_pixels: int) -> tuple[str, str, int, int]:
    """Return (mime, ext, width, height) of a real JPEG/PNG/WebP image, or raise ValidationError."""
    if not data:
        raise ValidationError(_l("The photo is empty."))
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (w, h) = img.format, img.size
            # Size is read from the header: refuse bombs before any pixel is decoded.
            if w * h > max_pixels:
                raise ValidationError(
                    _l("The photo has too many pixels (%(w)d×%(h)d)."), w=w, h=h
                )
            if fmt not in _FORMATS:
                raise ValidationError(_l("Only JPEG, PNG or WebP photos are accepted."))
            img.load()  # decode fully: truncated or corrupt files fail here
    except ValidationError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, for headers far beyond any limit
        raise ValidationError(_l("The photo has too many pixels.")) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_l("The file is not a readable image.")) from exc
    except Exception as exc:  # noqa: BLE001 - e.g. a plugin another library registered fails to import
        raise ValidationError(_l("The file is not a readable image.")) from exc
    mime, ext = _FORMATS[fmt]
    return mime, ext, w, h


def _write(data: bytes, ext: str) -> tuple[str, str]:
    """Store bytes content-addressed under MEDIA_ROOT; return (sha256, relative path)."""
    digest = hashlib.sha256(data).hexdigest()
    rel = Path(digest[:2]) / digest[2:4] / f"{digest}.{ext}"
    dest = Path(current_app.config["MEDIA_ROOT"]) / rel
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so a crash never leaves a half file under the final name.
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".up-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    return digest, str(rel)


PUBLIC_MAX_SIDE = 2048  # public copies are for looking at, not for forensics: the original keeps full size


def public_copy(data: bytes, *, blur: bool = True) -> bytes:
    """The photo upright, at most PUBLIC_MAX_SIDE, faces and plates blurred, as JPEG without any EXIF.

    `blur=False` exists for bench/photo_bench.py, which measures what blurring adds.
    """
    import numpy as np

    from vision.privacy import anonymise

    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
    upright.thumbnail((PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE), Image.Resampling.LANCZOS)
    if blur:
        # OpenCV works in BGR; reversing the channel axis twice keeps the colours right.
        hidden, regions = anonymise(np.ascontiguousarray(np.asarray(upright)[:, :, ::-1]))
        if regions:
            upright = Image.fromarray(np.ascontiguousarray(hidden[:, :, ::-1]))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85)  # no exif= argument: nothing is carried over
    return out.getvalue()


def exif_gps(data: bytes) -> tuple[float, float] | None:
    """(lon, lat) from the photo's EXIF GPS, when present and sane."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            gps = img.getexif().get_ifd(0x8825)
    except Exception:  # noqa: BLE001 - no readable EXIF is simply no position
        return None

    def degrees(dms, ref):
        d, m, s = (float(v) for v in dms)
        value = d + m / 60 + s / 3600
        return -value if ref in ("S", "W") else value

    try:
        lat, lon = degrees(gps[2], gps[1]), degrees(gps[4], gps[3])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return (lon, lat) if -180 <= lon <= 180 and -90 <= lat <= 90 and (lon or lat) else None


def store_image(data: bytes, kind: MediaKind, *, uploaded_by: User | None = None) -> Media:
    """Validate and store a photo (private original + public copy without EXIF); returns a pending row."""
    mime, ext, w, h = inspect_image(data, current_app.config["MAX_IMAGE_PIXELS"])
    digest, rel = _write(data, ext)
    _, public_rel = _write(public_copy(data), "jpg")
    media = Media(
        sha256=digest, path=rel, public_path=public_rel, mime=mime, size=len(data), width=w, height=h, kind=kind,
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
    )
    db.session.add(media)
    return media


def media_path(media: Media) -> Path:
    """Absolute path of a stored photo's private original."""
    return Path(current_app.config["MEDIA_ROOT"]) / media.path


def public_media(digest: str) -> Media:
    """The case photo whose public copy has this sha256 (never an original), or 404."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest or ""):
        raise NotFound()
    rel = str(Path(digest[:2]) / digest[2:4] / f"{digest}.jpg")
    media = db.session.scalars(select(Media).where(Media.public_path == rel, Media.case_id.is_not(None))).first()
    if media is None:
        raise NotFound()
    return media


def public_file(media: Media) -> Path:
    """Absolute path of a photo's public copy (EXIF stripped, faces and plates blurred)."""
    return Path(current_app.config["MEDIA_ROOT"]) / media.public_path


def public_url(media: Media, *, external: bool = False) -> str | None:
    """Where anyone may see the photo's public copy (None for photos stored before copies existed)."""
    if not media.public_path:
        return None
    return url_for("citizen.public_photo", digest=Path(media.public_path).stem, _external=external)
