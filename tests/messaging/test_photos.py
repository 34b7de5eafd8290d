"""The photo pipeline against honest photos and hostile files."""

import io
import os
import time
import tracemalloc

import pytest
from PIL import Image

from messaging.models import Message, Photo
from messaging.photos import clean_photo
from tests.conftest import api_as
from tests.factories import make_order
from tests.messaging.images import (
    HTML_WITH_PNG_HEADER,
    SVG_WITH_SCRIPT,
    TEXT,
    jpeg_bytes,
    png_bomb,
    png_bytes,
    rotated_jpeg_with_gps,
    upload,
    webp_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def order(world):
    return make_order(buyer=world.alice, store=world.carols, number="M-1")


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def post(user, files, body="Look at this"):
    return api_as(user).post("/api/orders/M-1/messages/", {"body": body, "images": files}, format="multipart")


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (TEXT, "evil.jpg", "image/jpeg"),
        (SVG_WITH_SCRIPT, "drawing.svg", "image/svg+xml"),
        (SVG_WITH_SCRIPT, "drawing.png", "image/png"),
        (HTML_WITH_PNG_HEADER, "polyglot.png", "image/png"),
        (jpeg_bytes(size=(400, 300))[:700], "truncated.jpg", "image/jpeg"),
        (b"", "empty.jpg", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 40, "anim.gif", "image/gif"),
    ],
    ids=["text-named-jpg", "svg-script", "svg-named-png", "html-png-polyglot", "truncated-jpeg", "zero-bytes", "gif"],
)
def test_hostile_files_are_415_and_nothing_is_stored(world, order, media, data, name, content_type):
    response = post(world.alice, [upload(jpeg_bytes(), "fine.jpg"), upload(data, name, content_type)])
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_image"
    assert "Photo 2" in response.json()["detail"]
    assert not Message.objects.exists()
    assert not Photo.objects.exists()
    assert stored_files(media) == []


def test_a_decompression_bomb_is_refused_fast_and_without_a_memory_spike(world, order, media):
    bomb = png_bomb(side=50_000)
    assert len(bomb) < 1000
    tracemalloc.start()
    started = time.perf_counter()
    response = post(world.alice, [upload(bomb, "tiny.png", "image/png")])
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["code"] == "image_too_large"
    assert elapsed < 2, elapsed
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert stored_files(media) == []


def test_a_file_over_the_byte_limit_is_413(world, order, media):
    big = jpeg_bytes() + os.urandom(10_000_001)
    response = post(world.alice, [upload(big, "huge.jpg")])
    assert response.status_code == 413
    assert "larger than 10 MB" in response.json()["detail"]
    assert stored_files(media) == []


def test_a_seventh_photo_is_refused_and_nothing_is_stored(world, order, media):
    response = post(world.alice, [upload(jpeg_bytes(), f"p{i}.jpg") for i in range(7)])
    assert response.status_code == 400
    assert "at most 6" in response.json()["detail"]
    assert not Message.objects.exists()
    assert stored_files(media) == []


def test_six_photos_of_each_allowed_kind_are_accepted(world, order, media):
    files = [
        upload(jpeg_bytes(), "a.jpg"),
        upload(png_bytes(), "b.png", "image/png"),
        upload(webp_bytes(), "c.webp", "image/webp"),
        upload(png_bytes(mode="RGB"), "d.png", "image/png"),
        upload(jpeg_bytes(color="white"), "e.jpeg"),
        upload(jpeg_bytes(color="black"), "no-extension"),
    ]
    response = post(world.alice, files)
    assert response.status_code == 201, response.content
    images = response.json()["images"]
    assert len(images) == 6
    assert {"id", "url", "thumbnail_url", "width", "height", "sha256"} <= set(images[0])
    # Random storage names: never the user's file name.
    names = [p.name for p in stored_files(media)]
    assert len(names) == 12
    assert not any(n.startswith(("a.", "b.", "c.", "d.", "e.", "no-extension")) for n in names)


def test_a_rotated_jpeg_with_gps_comes_back_upright_with_no_exif_at_all(world, order):
    original = rotated_jpeg_with_gps()
    source = Image.open(io.BytesIO(original))
    assert source.getexif().get_ifd(0x8825), "the test photo carries GPS"

    response = post(world.alice, [upload(original, "IMG_0001.jpg")])
    assert response.status_code == 201
    image = response.json()["images"][0]
    assert (image["width"], image["height"]) == (20, 40)  # upright: portrait

    served = api_as(world.carol).get(image["url"])
    cleaned = Image.open(io.BytesIO(b"".join(served.streaming_content)))
    assert cleaned.size == (20, 40)
    assert dict(cleaned.getexif()) == {}
    assert "exif" not in cleaned.info and "icc_profile" not in cleaned.info and "xmp" not in cleaned.info
    top, bottom = cleaned.convert("RGB").getpixel((10, 2)), cleaned.convert("RGB").getpixel((10, 37))
    assert top[0] > 200 and top[2] < 60, top  # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_the_original_bytes_are_fingerprinted(world, order):
    import hashlib

    data = jpeg_bytes()
    response = post(world.alice, [upload(data)])
    assert response.json()["images"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_png_with_alpha_stays_png_and_everything_else_becomes_jpeg():
    assert clean_photo(png_bytes(mode="RGBA")).content_type == "image/png"
    assert clean_photo(png_bytes(mode="RGB")).content_type == "image/jpeg"
    assert clean_photo(webp_bytes()).content_type == "image/jpeg"


def test_thumbnails_are_small():
    photo = clean_photo(jpeg_bytes(size=(3000, 2000)))
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert max(thumb.size) == 320
    assert (photo.width, photo.height) == (3000, 2000)


def test_heic_photos_from_phones_are_accepted_and_become_jpeg():
    from messaging.photos import HEIF_SUPPORTED

    assert HEIF_SUPPORTED
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, "HEIF")
    photo = clean_photo(buf.getvalue())
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (64, 48)


def test_a_request_declaring_more_than_the_upload_limit_is_refused_before_reading(world, order, media):
    response = api_as(world.alice).generic(
        "POST",
        "/api/orders/M-1/messages/",
        b"x" * 10,
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(70_000_000),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not Message.objects.exists()
