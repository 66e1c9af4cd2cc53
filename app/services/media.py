"""Evidence photos: decoded and checked with Pillow, stored content-addressed under MEDIA_ROOT."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from sqlalchemy import select

from app.aftercommit import on_commit, on_rollback
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Media, User
from app.models.cases import MediaKind
from app.models.types import utcnow

# What phones send: JPEG (MPO is a multi-frame JPEG from dual cameras: its first frame is the photo), PNG, WebP.
_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
            "WEBP": ("image/webp", "webp")}
MAX_METADATA = 64 * 1024  # EXIF and ICC blocks kept with an original: one JPEG segment's worth, no more


def inspect_image(data: bytes, max_pixels: int) -> tuple[str, str, int, int]:
    """Return (mime, ext, width, height) of a real JPEG/MPO/PNG/WebP image, or raise ValidationError."""
    with _opened(data, max_pixels) as img:
        mime, ext = _FORMATS[img.format]
        return mime, ext, *img.size


@contextmanager
def _opened(data: bytes, max_pixels: int, draft: tuple[int, int] | None = None) -> Iterator[Image.Image]:
    """Open, check and fully decode an upload; ValidationError for anything that is not a usable photo.

    `draft` lets a JPEG decode at a reduced scale no smaller than that size (libjpeg's DCT scaling): every block
    is still read, so a truncated or corrupt file still fails, at a fraction of the time.
    """
    if not data:
        raise ValidationError(_l("The photo is empty."))
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own guard, for headers far beyond any limit
        raise ValidationError(_l("The photo has too many pixels.")) from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file
        raise ValidationError(_l("The file is not a readable image.")) from exc
    with img:
        try:
            w, h = img.size
            # Size is read from the header: refuse bombs (and more pixels than a phone takes) before decoding.
            if w * h > max_pixels:
                raise ValidationError(_l("The photo has too many pixels (%(w)d×%(h)d)."), w=w, h=h)
            if img.format not in _FORMATS:
                raise ValidationError(_l("Only JPEG, PNG or WebP photos are accepted."))
            img.seek(0)  # MPO: the first frame
            if draft is not None and img.format in ("JPEG", "MPO"):
                img.draft("RGB", draft)
            img.load()  # decode fully: truncated or corrupt files fail here
        except ValidationError:
            raise
        except Image.DecompressionBombError as exc:  # Pillow's own guard, for headers far beyond any limit
            raise ValidationError(_l("The photo has too many pixels.")) from exc
        except Exception as exc:  # noqa: BLE001 - any decoder failure (or a plugin failing to import) is a bad file
            raise ValidationError(_l("The file is not a readable image.")) from exc
        yield img


def normalise(data: bytes, max_pixels: int) -> tuple[bytes, str, str, int, int]:
    """The photo re-encoded: (bytes, mime, ext, width, height).

    What is stored is what the decoder saw: bytes appended after the image, extra frames and oversized
    metadata are dropped; EXIF (position, time, orientation) and the colour profile are kept when they fit
    in MAX_METADATA. JPEG at quality 92 is visually the phone's own.
    """
    with _opened(data, max_pixels) as img:
        mime, ext = _FORMATS[img.format]
        keep = {k: v for k in ("exif", "icc_profile")
                if isinstance(v := img.info.get(k), bytes) and len(v) <= MAX_METADATA}
        frame = img.copy() if img.format != "PNG" else img  # the first frame alone, without the container
        out = io.BytesIO()
        if ext == "jpg":
            frame = frame if frame.mode in ("RGB", "L", "CMYK") else frame.convert("RGB")
            frame.save(out, "JPEG", quality=92, **keep)
        elif ext == "png":
            frame.save(out, "PNG", **({"icc_profile": keep["icc_profile"]} if "icc_profile" in keep else {}))
        else:
            frame.save(out, "WEBP", quality=90, **keep)
        return out.getvalue(), mime, ext, *img.size


PREVIEW_SIDE = 1280  # what the photo check looks at: enough for the detector and the perceptual hash


def photo_preview(data: bytes, max_pixels: int) -> Image.Image:
    """The upload checked as on submit, decoded once at reduced scale, upright, RGB, at most PREVIEW_SIDE."""
    with _opened(data, max_pixels, draft=(PREVIEW_SIDE, PREVIEW_SIDE)) as img:
        rgb = ImageOps.exif_transpose(img).convert("RGB")
    rgb.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return rgb


def _stage(data: bytes, ext: str) -> tuple[str, str]:
    """Store bytes content-addressed under MEDIA_ROOT once the transaction commits; return (sha256, path).

    The bytes go to a private temporary name beside their final one now; the commit renames it into place
    and a rollback deletes it, so a refused or failed request leaves no file behind.
    """
    digest = hashlib.sha256(data).hexdigest()
    rel = Path(digest[:2]) / digest[2:4] / f"{digest}.{ext}"
    dest = Path(current_app.config["MEDIA_ROOT"]) / rel
    if dest.exists():
        return digest, str(rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".staged-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    on_commit(lambda: os.replace(tmp, dest))  # atomic: never a half file under the final name
    on_rollback(lambda: Path(tmp).unlink(missing_ok=True))
    return digest, str(rel)


PUBLIC_MAX_SIDE = 2048  # public copies are for looking at, not for forensics: the original keeps full size


def public_copy(data: bytes, *, blur: bool = True) -> bytes:
    """The photo upright, at most PUBLIC_MAX_SIDE, faces and plates blurred, as JPEG without any EXIF.

    `blur=False` exists for bench/photo_bench.py, which measures what blurring adds.
    """
    import numpy as np

    from vision.privacy import anonymise

    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE))  # JPEG: decode at a reduced scale, far less memory
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


def perceptual_hash(photo: bytes | Image.Image) -> int:
    """The photo's 64-bit perceptual hash (imagehash's pHash), as a signed integer for a BIGINT column."""
    import imagehash

    if isinstance(photo, Image.Image):
        return phash_from_hex(str(imagehash.phash(photo)))
    with Image.open(io.BytesIO(photo)) as img:
        img.draft("RGB", (256, 256))  # pHash looks at 32×32: a JPEG need not be decoded at full size
        return phash_from_hex(str(imagehash.phash(img)))


def phash_from_hex(text: str) -> int:
    """16 hex digits (how imagehash and the photo check write a hash) → the signed integer stored in BIGINT."""
    value = int(text, 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def phash_hex(value: int) -> str:
    """The stored signed hash as the 16 hex digits the photo check answers."""
    return f"{value & 0xFFFFFFFFFFFFFFFF:016x}"


def store_image(data: bytes, kind: MediaKind, *, uploaded_by: User | None = None) -> Media:
    """Validate, re-encode and stage a photo's private original; returns a pending row.

    Its public copy (faces and plates blurred) is made by a background job once the row is committed;
    until then the photo simply has no public copy, so nothing unblurred is ever public.
    """
    original, mime, ext, w, h = normalise(data, current_app.config["MAX_IMAGE_PIXELS"])
    digest, rel = _stage(original, ext)
    media = Media(
        sha256=digest, path=rel, public_path=None, mime=mime, size=len(original), width=w, height=h, kind=kind,
        phash=perceptual_hash(original),
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
    )
    db.session.add(media)
    db.session.flush()  # the id the job is given
    media_id = media.id
    on_commit(lambda: kick_public_copy(media_id))
    return media


def kick_public_copy(media_id: int) -> None:
    """Enqueue the public copy of a committed photo (if Redis is down, the sweeper enqueues it later)."""
    from app.jobs import tasks

    tasks.kick(tasks.make_public_copy, media_id, queue="media")


def make_public_copy(media_id: int) -> str | None:
    """Blur and store the public copy of a photo; idempotent (a copy already made is kept)."""
    media = db.session.get(Media, media_id)
    if media is None or media.public_path:
        return media.public_path if media else None
    _, media.public_path = _stage(public_copy(media_path(media).read_bytes()), "jpg")
    return media.public_path


def waiting_for_public_copy(older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Photos whose public copy should exist by now (its job was lost, or Redis was down at upload)."""
    return list(db.session.scalars(
        select(Media.id).where(Media.public_path.is_(None), Media.created_at < utcnow() - older_than)
        .order_by(Media.id).limit(limit)))


PREVIEW_SIDES = {"thumb": 160, "view": 800}  # a list's thumbnail; a photo to look at on a phone


def preview_file(media: Media, size: str) -> Path:
    """A smaller upright JPEG of a stored photo (`size` in PREVIEW_SIDES), made on first use and kept.

    Phones on paid mobile data see lists of photos: a thumbnail is a few KB where the original is megabytes.
    """
    side = PREVIEW_SIDES[size]
    path = Path(current_app.config["MEDIA_ROOT"]) / "previews" / media.sha256[:2] / f"{media.sha256}-{side}.jpg"
    if not path.is_file():
        with Image.open(media_path(media)) as img:
            img.draft("RGB", (side * 2, side * 2))  # JPEG: decode at a reduced scale
            upright = ImageOps.exif_transpose(img).convert("RGB")
        upright.thumbnail((side, side), Image.Resampling.LANCZOS)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            upright.save(out, "JPEG", quality=80)
        os.replace(tmp, path)  # two requests making the same preview each write whole files
    return path


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
