"""Photo validation (decoded, not trusted by name) and content-addressed storage."""

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.errors import ValidationError
from app.extensions import db
from app.models import Media
from app.models.cases import MediaKind
from app.services.media import inspect_image, make_public_copy, media_path, store_image
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
    assert not path.exists()  # staged until the transaction commits
    db.session.commit()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == a.sha256 and path.name == f"{a.sha256}.jpg"
    assert Path(app.config["MEDIA_ROOT"]) in path.parents
    assert not list(path.parent.glob(".staged-*"))  # no temporary files left behind


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
    assert m.public_path is None  # nothing is public before it is blurred
    db.session.commit()
    make_public_copy(m.id)
    db.session.commit()
    m = db.session.get(Media, m.id)
    with Image.open(Path(app.config["MEDIA_ROOT"]) / m.public_path) as img:
        assert not img.getexif() and img.size == (20, 40)
    assert exif_gps(media_path(m).read_bytes()) is not None  # the private original keeps its EXIF


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
    db.session.commit()
    make_public_copy(case.media[0].id)
    db.session.commit()
    m = db.session.get(Media, case.media[0].id)
    digest = Path(m.public_path).stem
    assert public_media(digest) is m
    for wrong in (m.sha256, hashlib.sha256(b"x").hexdigest(), "../../etc/passwd", digest.upper(), ""):
        with pytest.raises(NotFound):
            public_media(wrong)  # the original's digest never reaches the private file
    loose = store_image(jpeg(color=(1, 2, 3)), MediaKind.EVIDENCE)  # not (yet) attached to any case
    db.session.commit()
    make_public_copy(loose.id)
    db.session.commit()
    with pytest.raises(NotFound):
        public_media(Path(db.session.get(Media, loose.id).public_path).stem)


# --- what the probe found: orphans, junk, metadata, pixel counts, MPO ---


def _files(root) -> set:
    return {p for p in Path(root).rglob("*") if p.is_file()}


def test_a_refused_report_leaves_no_file_behind(app, client):
    from tests.factories import Cast, make_grids, token_for

    make_grids()
    headers = token_for(Cast().citizen)
    before = _files(app.config["MEDIA_ROOT"])
    good = jpeg(color=(77, 1, 200))
    r = client.post("/api/v1/cases", headers=headers, content_type="multipart/form-data", data={
        "category": "banner", "lon": "120.005", "lat": "30.005",
        "photos": [(io.BytesIO(good), "a.jpg"), (io.BytesIO(b"not a photo"), "b.jpg")]})
    assert r.status_code == 400
    assert _files(app.config["MEDIA_ROOT"]) == before  # the first photo was staged, and removed on rollback


def test_trailing_junk_and_oversized_metadata_are_not_stored(app):
    photo = jpeg(size=(64, 48))
    exif = Image.Exif()
    exif[0x010F] = "Phone"
    exif_block = exif.tobytes()
    bloat = b"".join(b"\xff\xe2" + struct.pack(">H", 65535) + b"\0" * 65533 for _ in range(200))  # ≈ 13 MB APP2
    upload = photo[:2] + b"\xff\xe1" + struct.pack(">H", len(exif_block) + 8) + b"Exif\0\0" + exif_block \
        + bloat + photo[2:] + b"\0junk" * 200_000  # and 1 MB after the end of the image
    assert len(upload) > 13_000_000
    m = store_image(upload, MediaKind.EVIDENCE)
    db.session.commit()
    stored = media_path(m).read_bytes()
    assert len(stored) < 20_000 and m.size == len(stored)
    with Image.open(io.BytesIO(stored)) as img:
        assert img.size == (64, 48) and img.getexif().get(0x010F) == "Phone"  # small EXIF is kept


def test_more_pixels_than_a_phone_takes_are_refused_before_decoding(app):
    big = io.BytesIO()
    Image.new("L", (6000, 6000)).save(big, "JPEG", quality=10)  # 36 MP
    with pytest.raises(ValidationError) as refused:
        store_image(big.getvalue(), MediaKind.EVIDENCE)
    assert "6000×6000" in refused.value.message


def test_mpo_from_phones_is_accepted_as_its_first_frame(app):
    left, right = Image.new("RGB", (40, 30), (200, 0, 0)), Image.new("RGB", (40, 30), (0, 0, 200))
    buf = io.BytesIO()
    left.save(buf, "MPO", save_all=True, append_images=[right])
    with Image.open(io.BytesIO(buf.getvalue())) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    m = store_image(buf.getvalue(), MediaKind.EVIDENCE)
    db.session.commit()
    with Image.open(media_path(m)) as img:
        assert img.format == "JPEG" and getattr(img, "n_frames", 1) == 1 and img.getpixel((20, 15))[0] > 150
    assert m.mime == "image/jpeg"
