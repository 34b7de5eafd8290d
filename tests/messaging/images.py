"""Test images, made here: honest photos and hostile files."""

import io
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms


def jpeg_bytes(size=(64, 48), color="red", **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **save)
    return buf.getvalue()


def png_bytes(size=(32, 32), mode="RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (0, 128, 255, 128) if mode == "RGBA" else "green").save(buf, "PNG")
    return buf.getvalue()


def webp_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (30, 20), "blue").save(buf, "WEBP")
    return buf.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def rotated_jpeg_with_gps() -> bytes:
    """A 40×20 landscape JPEG, red left half and blue right half, whose EXIF says 'rotate 90° clockwise'
    (orientation 6) and carries a GPS position."""
    image = Image.new("RGB", (40, 20), "blue")
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 50_000) -> bytes:
    """A few hundred bytes of PNG that declares side × side pixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML_WITH_PNG_HEADER = b"\x89PNG\r\n\x1a\n<html><body><script>alert(1)</script></body></html>"
TEXT = b"just some text pretending to be a photo\n"


# --- photos as phones make them: natural-looking content, EXIF orientation, a wide-gamut profile ---------

# Display P3 as Apple's profile states it: the colorants adapted to the D50 connection space, and the sRGB curve.
DISPLAY_P3_COLORANTS = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
D50 = (0.9642, 1.0, 0.8249)
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)  # ICC parametric curve type 3


def _s15f16(*values: float) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(encoded), 28) + encoded


def display_p3_profile() -> bytes:
    """An ICC v4 matrix/curve profile for Display P3, written byte by byte: the colour space iPhones tag
    their photos with, which Pillow cannot create and which no test may fetch."""
    curve = b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + _s15f16(*SRGB_CURVE)
    tags = [
        (b"desc", _mluc("Display P3 (test)")),
        (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", b"XYZ " + b"\0" * 4 + _s15f16(*D50)),
        (b"rXYZ", b"XYZ " + b"\0" * 4 + _s15f16(*DISPLAY_P3_COLORANTS[0])),
        (b"gXYZ", b"XYZ " + b"\0" * 4 + _s15f16(*DISPLAY_P3_COLORANTS[1])),
        (b"bXYZ", b"XYZ " + b"\0" * 4 + _s15f16(*DISPLAY_P3_COLORANTS[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4  # preferred CMM
        + bytes([4, 0x30, 0, 0])  # version 4.3
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(*D50)
        + b"\0" * 48  # creator, profile ID, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def natural_image(size=(4000, 3000), seed: int = 16) -> Image.Image:
    """Deterministic content that costs what a photo costs to encode: smooth gradients, blotches at a few
    scales and a little sensor grain (flat colour would make every encoder look fast)."""
    rng = random.Random(seed)
    width, height = size
    gradients = [Image.linear_gradient("L"), Image.radial_gradient("L"), Image.linear_gradient("L").rotate(90)]
    base = Image.merge("RGB", [g.resize(size, Image.Resampling.BILINEAR) for g in gradients])
    for scale, weight in ((64, 0.45), (8, 0.25)):
        small = (max(1, width // scale), max(1, height // scale))
        blotches = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
        base = Image.blend(base, blotches.resize(size, Image.Resampling.BICUBIC), weight)
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    return Image.blend(base, grain, 0.06)


def srgb_profile() -> bytes:
    """The sRGB profile as LittleCMS writes it: what many Android phones and cameras tag their photos with."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def phone_jpeg(image: Image.Image, quality: int = 92, icc_profile: bytes | None = None) -> bytes:
    """`image` saved as a phone saves a portrait photo: the sensor's landscape pixels with EXIF orientation 6
    ('rotate 90° clockwise'), a GPS position, a colour profile (Display P3 unless told), XMP and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><tiff:Orientation>6</tiff:Orientation></rdf:RDF></x:xmpmeta>'
    buf = io.BytesIO()
    image.save(
        buf,
        "JPEG",
        quality=quality,
        exif=exif,
        icc_profile=icc_profile or display_p3_profile(),
        xmp=xmp,
        comment=b"shot on PhoneCo",
    )
    return buf.getvalue()
