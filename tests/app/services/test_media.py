"""Photo validation (decoded, not trusted by name) and content-addressed storage."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.errors import ValidationError
from app.models.cases import MediaKind
from app.services.media import inspect_image, media_path, store_image
from tests.factories import jpeg, png


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny file whose header claims a huge image (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def test_real_images_pass():
    assert inspect_image(jpeg(size=(40, 30)), 10_000)[:2] == ("image/jpeg", "jpg")
    assert inspect_image(png(), 10_000)[2:] == (8, 8)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"\xff\xd8\xff\xe0" + b"\0" * 50, jpeg()[:60]],
    ids=["empty", "text", "jpeg-magic-only", "truncated"],
)
def test_non_images_are_refused(data):
    with pytest.raises(ValidationError):
        inspect_image(data, 10_000_000)


def test_decompression_bomb_refused_from_header():
    with pytest.raises(ValidationError) as err:  # beyond Pillow's own guard
        inspect_image(_png_header_only(50_000, 50_000), 40_000_000)
    assert "too many pixels" in err.value.message
    with pytest.raises(ValidationError) as err:  # beyond our configured limit only
        inspect_image(_png_header_only(5_000, 5_000), 1_000_000)
    assert "5000×5000" in err.value.message


def test_other_formats_refused():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "GIF")
    with pytest.raises(ValidationError):
        inspect_image(buf.getvalue(), 10_000)


def test_storage_is_content_addressed_and_deduplicated(app):
    data = jpeg((10, 20, 30))
    a = store_image(data, MediaKind.EVIDENCE)
    b = store_image(data, MediaKind.AFTER)
    assert a.sha256 == b.sha256 and a.path == b.path
    path = media_path(a)
    assert path.read_bytes() == data and path.name == f"{a.sha256}.jpg"
    assert Path(app.config["MEDIA_ROOT"]) in path.parents
    assert not list(path.parent.glob(".up-*"))  # no temporary files left behind


def test_any_decoder_failure_is_a_clear_refusal(monkeypatch):
    import PIL.Image

    def broken(*_a, **_k):
        raise ModuleNotFoundError("No module named 'pi_heif'")  # what a third-party opener did here

    monkeypatch.setattr(PIL.Image, "open", broken)
    with pytest.raises(ValidationError):
        inspect_image(b"not an image", 10_000)


def jpeg_with_exif(gps=(30.005, 120.005), orientation=None, size=(40, 20)):
    """A JPEG carrying GPS (lat, lon as degrees/minutes/seconds) and optionally an orientation flag."""
    exif = Image.Exif()

    def dms(value):
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round((value - d - m / 60) * 3600, 4))

    if gps:
        exif[0x8825] = {1: "N", 2: dms(gps[0]), 3: "E", 4: dms(gps[1])}
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 50, 50)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_exif_gps_is_read():
    from app.services.media import exif_gps

    lon, lat = exif_gps(jpeg_with_exif())
    assert lon == pytest.approx(120.005, abs=1e-4) and lat == pytest.approx(30.005, abs=1e-4)
    assert exif_gps(jpeg()) is None and exif_gps(b"junk") is None


def test_public_copy_has_no_exif_and_stands_upright(app):
    from app.services.media import exif_gps, public_copy

    original = jpeg_with_exif(orientation=6)  # "rotate 90°": a phone held upright
    copy = public_copy(original)
    with Image.open(io.BytesIO(copy)) as img:
        assert not img.getexif() and img.size == (20, 40)
    assert exif_gps(copy) is None
    m = store_image(original, MediaKind.EVIDENCE)
    assert m.public_path != m.path and (Path(app.config["MEDIA_ROOT"]) / m.public_path).read_bytes() == copy
    assert exif_gps(media_path(m).read_bytes()) is not None  # the private original keeps everything


def test_public_copy_blurs_faces_but_the_original_keeps_them(app):
    import cv2
    import numpy as np

    from app.services.media import public_copy
    from tests.vision.test_privacy import ASSETS, sharpness

    original = (ASSETS / "bus.jpg").read_bytes()
    copy = cv2.imdecode(np.frombuffer(public_copy(original), np.uint8), cv2.IMREAD_COLOR)
    orig = cv2.imdecode(np.frombuffer(original, np.uint8), cv2.IMREAD_COLOR)
    assert copy.shape == orig.shape  # 810×1080 is under the public size limit: same geometry
    head = (slice(425, 465), slice(125, 165))  # the left pedestrian's face
    assert sharpness(copy[head]) < sharpness(orig[head]) / 5
    pavement = (slice(900, 1000), slice(300, 500))  # away from every face and plate: only JPEG noise differs
    assert np.abs(copy[pavement].astype(int) - orig[pavement].astype(int)).mean() < 4


def test_public_copies_are_bounded_in_size(app):
    from app.services.media import PUBLIC_MAX_SIDE, public_copy

    big = jpeg(size=(4000, 1000))
    with Image.open(io.BytesIO(public_copy(big))) as img:
        assert img.size == (PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE // 4)


def test_public_media_is_found_by_the_copy_digest_only(app):
    import hashlib

    from app.errors import NotFound
    from app.services import cases as svc
    from app.services.media import public_media
    from tests.factories import Cast, make_grids

    make_grids()
    case = svc.report_case(Cast().citizen, category_code="banner", lon=120.005, lat=30.005, photos=[jpeg()])[0]
    m = case.media[0]
    digest = Path(m.public_path).stem
    assert public_media(digest) is m
    for wrong in (m.sha256, hashlib.sha256(b"x").hexdigest(), "../../etc/passwd", digest.upper(), ""):
        with pytest.raises(NotFound):
            public_media(wrong)  # the original's digest never reaches the private file
    loose = store_image(jpeg(color=(1, 2, 3)), MediaKind.EVIDENCE)  # not (yet) attached to any case
    with pytest.raises(NotFound):
        public_media(Path(loose.public_path).stem)
