"""The photo pipeline against honest photos and hostile files."""

import io
import os
import time
import tracemalloc

import pytest
from PIL import Image, PngImagePlugin

from messaging.models import Message, Photo
from messaging.photos import _metadata_free, _srgb_transform, clean_photo
from tests.conftest import api_as
from tests.factories import make_order
from tests.messaging.images import (
    HTML_WITH_PNG_HEADER,
    SVG_WITH_SCRIPT,
    TEXT,
    display_p3_profile,
    jpeg_bytes,
    natural_image,
    phone_jpeg,
    png_bomb,
    png_bytes,
    rotated_jpeg_with_gps,
    srgb_profile,
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


# --- photos as phones make them --------------------------------------------------------------------------

PATCH_P3 = (180, 60, 160)  # a Display P3 colour inside sRGB's gamut whose sRGB value differs by ~15 levels
METADATA = ("exif", "icc_profile", "xmp", "comment")


def display_p3_to_srgb(rgb: tuple[int, int, int]) -> tuple[float, ...]:
    """The sRGB value of a Display P3 colour by the published D65 matrix: an oracle that owes nothing to LittleCMS."""

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def encoded(v: float) -> float:
        v = min(max(v, 0.0), 1.0)
        return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055

    matrix = ((1.2249, -0.2247, 0.0), (-0.0420, 1.0419, 0.0), (-0.0197, -0.0786, 1.0979))
    light = [linear(c / 255) for c in rgb]
    return tuple(255 * encoded(sum(m * v for m, v in zip(row, light, strict=True))) for row in matrix)


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """An 800×600 sensor image saved as a phone saves a portrait photo (EXIF orientation 6, Display P3, GPS,
    XMP, a comment), with a flat P3 patch in the corner the sensor stored first (its top left)."""
    image = natural_image((800, 600), seed=3)
    image.paste(PATCH_P3, (0, 0, 160, 160))
    return phone_jpeg(image, quality=95)


def near(pixel, expected, tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_a_phone_photo_keeps_no_metadata(phone_photo):
    source = Image.open(io.BytesIO(phone_photo))
    assert all(source.info.get(key) for key in METADATA), "the test photo carries every kind of metadata"

    photo = clean_photo(phone_photo)
    for data in (photo.content, photo.thumbnail):
        cleaned = Image.open(io.BytesIO(data))
        assert [key for key in METADATA if key in cleaned.info] == []
        assert dict(cleaned.getexif()) == {}
        assert cleaned.applist == [("APP0", cleaned.applist[0][1])]  # the JFIF header and nothing else


def test_a_phone_photo_comes_back_upright_and_in_srgb(phone_photo):
    photo = clean_photo(phone_photo)
    cleaned = Image.open(io.BytesIO(photo.content))
    assert cleaned.size == (photo.width, photo.height) == (600, 800)  # turned: portrait
    expected = display_p3_to_srgb(PATCH_P3)
    assert not near(PATCH_P3, expected, 10), "the patch's colour is one conversion visibly changes"
    # Turned 90° clockwise, the sensor's top left is the photo's top right; the other corners are not the patch.
    top_right = cleaned.getpixel((600 - 80, 80))
    assert near(top_right, expected, 5), (top_right, expected)
    for corner in ((80, 80), (80, 800 - 80), (600 - 80, 800 - 80)):
        assert not near(cleaned.getpixel(corner), expected, 20), corner


def test_a_phone_photos_thumbnail_is_upright_in_srgb_and_within_bounds(phone_photo):
    thumbnail = Image.open(io.BytesIO(clean_photo(phone_photo).thumbnail))
    assert thumbnail.size == (240, 320)
    assert near(thumbnail.getpixel((240 - 32, 32)), display_p3_to_srgb(PATCH_P3), 6)


def test_a_photo_already_in_srgb_is_not_converted_and_a_p3_transform_is_built_once():
    assert _srgb_transform(srgb_profile(), "RGB") is None  # converting would change nothing: no pass at all
    assert _srgb_transform(display_p3_profile(), "RGB") is _srgb_transform(display_p3_profile(), "RGB")

    image = natural_image((400, 300), seed=5)
    image.paste((180, 60, 160), (0, 0, 100, 100))
    cleaned = Image.open(io.BytesIO(clean_photo(phone_jpeg(image, quality=95, icc_profile=srgb_profile())).content))
    assert "icc_profile" not in cleaned.info
    assert near(cleaned.getpixel((300 - 50, 50)), (180, 60, 160), 5)


def test_an_unusable_profile_is_dropped_and_the_pixels_kept():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 60, 160)).save(buf, "JPEG", quality=95, icc_profile=b"not a profile" * 20)
    cleaned = Image.open(io.BytesIO(clean_photo(buf.getvalue()).content))
    assert "icc_profile" not in cleaned.info
    assert near(cleaned.getpixel((32, 24)), (180, 60, 160), 5)


def test_a_png_with_alpha_keeps_no_profile_text_or_exif():
    image = Image.new("RGBA", (64, 48), (180, 60, 160, 200))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "at home, 52.52N 13.41E")
    exif = Image.Exif()
    exif[0x010F] = "PhoneCo"
    buf = io.BytesIO()
    image.save(buf, "PNG", icc_profile=display_p3_profile(), pnginfo=text, exif=exif)
    photo = clean_photo(buf.getvalue())
    assert photo.content_type == "image/png"
    for data in (photo.content, photo.thumbnail):
        cleaned = Image.open(io.BytesIO(data))
        assert {"icc_profile", "exif", "Comment"} & set(cleaned.info) == set()
        red, green, blue, alpha = cleaned.getpixel((32, 24))
        assert alpha == 200 and near((red, green, blue), display_p3_to_srgb((180, 60, 160)), 3)


def test_an_encoded_file_carrying_metadata_is_never_passed_on():
    with pytest.raises(RuntimeError, match="more than pixels"):
        _metadata_free(rotated_jpeg_with_gps(), "jpg")
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "hello")
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG", pnginfo=text)
    with pytest.raises(RuntimeError, match="more than pixels"):
        _metadata_free(buf.getvalue(), "png")
    assert _metadata_free(jpeg_bytes(), "jpg")
