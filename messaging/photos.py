"""The photo pipeline: the one way a photo gets in, used by messages and dispute evidence.

Photos come from anyone and are evidence and personal data, so every upload is:
- typed from its content (magic bytes, then Pillow's own reading), never its name or Content-Type;
- bounded in bytes before it is read and in pixels before it is decoded (decompression bombs);
- fully decoded (truncated files are refused) and re-encoded into a fresh image: orientation
  applied, colours converted to sRGB where a profile says how, every byte of metadata dropped;
- fingerprinted (SHA-256 of the original bytes), measured, thumbnailed, and stored under a random name.
"""

import hashlib
import io
import secrets
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from core.errors import RuleViolation

try:  # HEIC photos from phones, through the maintained pillow-heif plugin
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - the plugin is a pinned dependency
    HEIF_SUPPORTED = False

# Pillow raises DecompressionBombError past twice this and warns past it; we refuse both.
Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF"}
LONGEST_SIDE = 4096
THUMBNAIL_SIDE = 320
SRGB = ImageCms.createProfile("sRGB")


class PhotoRejected(RuleViolation):
    """A photo was refused: 413 when too large, 415 when not an allowed image."""


def too_large(detail: str) -> PhotoRejected:
    return PhotoRejected("image_too_large", detail, status=413)


def not_an_image(detail: str) -> PhotoRejected:
    return PhotoRejected("unsupported_image", detail, status=415)


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    thumbnail: bytes
    extension: str
    content_type: str
    width: int
    height: int
    sha256: str
    original_size: int


def sniff_format(head: bytes) -> str | None:
    """The image format the first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
        return "HEIF" if HEIF_SUPPORTED else None
    return None


def read_bounded(upload, name: str) -> bytes:
    """Read an upload, refusing it before reading more than the byte limit."""
    limit = settings.PHOTO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise too_large(_("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": limit // 1_000_000})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(_("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": limit // 1_000_000})
    if not data:
        raise not_an_image(_("%(name)s is empty.") % {"name": name})
    return data


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if "A" in image.getbands() else "RGB"
        return ImageCms.profileToProfile(image, source, SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unusable profile is dropped, pixels kept as they are


class PixelBudget:
    """At most `capacity` pixels being decoded at once in this process: a burst of uploads waits
    its turn instead of taking all the memory. One photo larger than the budget still runs, alone."""

    def __init__(self, capacity: int, wait_seconds: float = 30.0) -> None:
        self.capacity = capacity
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, pixels: int):
        with self._changed:
            fits = self._changed.wait_for(
                lambda: self.in_flight == 0 or self.in_flight + pixels <= self.capacity, timeout=self.wait_seconds
            )
            if not fits:
                raise PhotoRejected(
                    "busy", _("We are processing many photos right now; please try again in a minute."), status=503
                )
            self.in_flight += pixels
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= pixels
                self._changed.notify_all()


pixel_budget = PixelBudget(settings.PHOTO_DECODE_MEGAPIXELS_IN_FLIGHT * 1_000_000)


def clean_photo(data: bytes, name: str = "photo") -> CleanPhoto:
    """Check, decode and re-encode one photo. Raises PhotoRejected with 413 or 415."""
    sniffed = sniff_format(data[:16])
    if sniffed is None:
        raise not_an_image(_("%(name)s is not a JPEG, PNG, WebP or HEIC photo.") % {"name": name})
    try:
        image = Image.open(io.BytesIO(data), formats=[sniffed])
        # The header is read; refuse oversized images before decoding a single pixel.
        width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise not_an_image(_("%(name)s is damaged or not a complete image.") % {"name": name}) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large(_("%(name)s has too many pixels.") % {"name": name}) from None
    if width * height > settings.PHOTO_MAX_PIXELS or width < 1 or height < 1:
        raise too_large(_("%(name)s has too many pixels.") % {"name": name})
    with pixel_budget.hold(width * height):
        return _decode_and_encode(image, data, name)


def _decode_and_encode(image: Image.Image, data: bytes, name: str) -> CleanPhoto:
    if image.format == "JPEG":
        # Decode a JPEG straight at the smallest scale (1/2, 1/4, 1/8) still at least as large as
        # what we keep: a fraction of the memory and time of the full image.
        image.draft("RGB" if image.mode not in ("L", "RGB") else image.mode, (LONGEST_SIDE, LONGEST_SIDE))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large(_("%(name)s has too many pixels.") % {"name": name}) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise not_an_image(_("%(name)s is damaged or not a complete image.") % {"name": name}) from None
    if image.format not in ALLOWED_FORMATS:
        raise not_an_image(_("%(name)s is not a JPEG, PNG, WebP or HEIC photo.") % {"name": name})

    # Shrink first, so every copy below (orientation, colour profile, mode) is of the small image:
    # a huge photo costs its decoded size once, not four times.
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    exif = image.getexif()
    icc = image.info.get("icc_profile")
    image.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
    image.info["icc_profile"] = icc
    image.getexif().update(exif)
    image = ImageOps.exif_transpose(image)  # apply the camera's orientation before EXIF goes
    image = _to_srgb(image)
    image = image.convert("RGBA" if has_alpha else "RGB")
    # A fresh image built from pixels alone carries no EXIF, GPS, XMP, ICC or text chunks.
    fresh = Image.frombytes(image.mode, image.size, image.tobytes())

    extension, content_type = ("png", "image/png") if has_alpha else ("jpg", "image/jpeg")
    content = _encode(fresh, extension)
    thumb = fresh.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return CleanPhoto(
        content=content,
        thumbnail=_encode(thumb, extension),
        extension=extension,
        content_type=content_type,
        width=fresh.width,
        height=fresh.height,
        sha256=hashlib.sha256(data).hexdigest(),
        original_size=len(data),
    )


def _encode(image: Image.Image, extension: str) -> bytes:
    out = io.BytesIO()
    if extension == "png":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def clean_uploads(uploads: list) -> list[CleanPhoto]:
    """Clean every photo of one message or evidence item; any refusal refuses them all."""
    if len(uploads) > settings.PHOTOS_PER_MESSAGE:
        raise RuleViolation(
            "invalid", _("Attach at most %(n)s photos.") % {"n": settings.PHOTOS_PER_MESSAGE}, status=400
        )
    cleaned = []
    for index, upload in enumerate(uploads, start=1):
        name = _("Photo %(n)s") % {"n": index}
        cleaned.append(clean_photo(read_bounded(upload, name), name))
    return cleaned


def random_name(prefix: str, extension: str) -> str:
    return f"{prefix}/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.{extension}"
