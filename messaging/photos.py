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
import logging
import secrets
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from uuid import UUID

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
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
        if isinstance(upload, CleanPhoto):  # cleaned here before: a kept pending upload (below)
            cleaned.append(upload)
            continue
        name = _("Photo %(n)s") % {"n": index}
        cleaned.append(clean_photo(read_bounded(upload, name), name))
    return cleaned


def random_name(prefix: str, extension: str) -> str:
    return f"{prefix}/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.{extension}"


# --- pending uploads: the photos of a refused form, kept for the next try ------------------------

PENDING_UPLOAD_MINUTES = 30
# A form holds at most PHOTOS_PER_MESSAGE; this bounds what repeated refused tries can pile up.
PENDING_UPLOADS_PER_OWNER = 24

log = logging.getLogger(__name__)


def _shown_name(upload, index: int) -> str:
    """The chosen file's own name (what the person recognises), without any path; else "Photo N"."""
    name = PurePath(str(getattr(upload, "name", "") or "")).name.strip()
    return name[:100] if name else _("Photo %(n)s") % {"n": index}


def pending_uploads_keep(*, owner, uploads: list, room: int) -> tuple[list, list[RuleViolation]]:
    """Clean each upload through the pipeline and keep the good ones as the owner's pending uploads
    for PENDING_UPLOAD_MINUTES. Every upload is tried, so every refusal is told at once; at most
    `room` are kept (the form's photo limit less what it already holds). Returns (kept, refusals)."""
    from messaging.models import PendingUpload

    refusals: list[RuleViolation] = []
    if len(uploads) > room:
        refusals.append(
            RuleViolation(
                "invalid",
                _("Attach at most %(n)s photos; the first ones you chose are kept.")
                % {"n": settings.PHOTOS_PER_MESSAGE},
                status=400,
            )
        )
        uploads = uploads[: max(room, 0)]
    cleaned = []
    for index, upload in enumerate(uploads, start=1):
        name = _shown_name(upload, index)
        try:
            cleaned.append((name, clean_photo(read_bounded(upload, name), name)))
        except RuleViolation as refusal:
            refusals.append(refusal)
    if not cleaned:
        return [], refusals
    pending_uploads_expire(limit=50)  # a little of the sweep's work, where pending uploads are made
    expires_at = timezone.now() + timedelta(minutes=PENDING_UPLOAD_MINUTES)
    rows = []
    try:
        for name, photo in cleaned:
            rows.append(
                PendingUpload(
                    owner=owner,
                    name=name,
                    file=default_storage.save(random_name("pending", photo.extension), ContentFile(photo.content)),
                    thumbnail=default_storage.save(
                        random_name("pending-thumbs", photo.extension), ContentFile(photo.thumbnail)
                    ),
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    sha256=photo.sha256,
                    original_size=photo.original_size,
                    expires_at=expires_at,
                )
            )
        PendingUpload.objects.bulk_create(rows)
    except BaseException:
        _delete_files(rows)
        raise
    _forget_beyond_limit(owner)
    return rows, refusals


def pending_uploads_find(*, owner, ids: list[str]) -> tuple[list, list[RuleViolation]]:
    """The owner's pending uploads named by `ids`, in that order. Someone else's, expired or
    unknown ids are not found, alike; the refusal says how many are gone, so a form never goes
    out silently missing a photo the person thinks is attached."""
    from messaging.models import PendingUpload

    wanted = []
    for raw in ids:
        try:
            wanted.append(UUID(str(raw)))
        except ValueError:
            continue
    wanted = list(dict.fromkeys(wanted))[: settings.PHOTOS_PER_MESSAGE]
    found = PendingUpload.objects.filter(owner=owner, pk__in=wanted, expires_at__gt=timezone.now()).in_bulk()
    rows = [found[pk] for pk in wanted if pk in found]
    gone = len(ids) - len(rows)
    refusals = []
    if gone > 0:
        detail = ngettext(
            "%(n)s photo you chose earlier is no longer kept (we keep them %(minutes)s minutes): choose it again.",
            "%(n)s photos you chose earlier are no longer kept (we keep them %(minutes)s minutes): choose them again.",
            gone,
        ) % {"n": gone, "minutes": PENDING_UPLOAD_MINUTES}
        refusals.append(RuleViolation("pending_upload_gone", detail, status=400))
    return rows, refusals


def pending_upload_photo(row) -> CleanPhoto:
    """A pending upload as the pipeline's own output, which clean_uploads takes as it is."""
    with default_storage.open(row.file.name, "rb") as content, default_storage.open(row.thumbnail.name, "rb") as thumb:
        return CleanPhoto(
            content=content.read(),
            thumbnail=thumb.read(),
            extension=PurePath(row.file.name).suffix.lstrip("."),
            content_type=row.content_type,
            width=row.width,
            height=row.height,
            sha256=row.sha256,
            original_size=row.original_size,
        )


def pending_uploads_release(rows: list) -> None:
    """Forget pending uploads a message or evidence has taken (it stored its own copies)."""
    from messaging.models import PendingUpload

    PendingUpload.objects.filter(pk__in=[row.pk for row in rows]).delete()
    transaction.on_commit(lambda: _delete_files(rows))


def pending_uploads_expire(*, now=None, limit: int = 500) -> int:
    """Delete pending uploads past their time, and their files. Safe in two workers at once:
    each claims its rows with SKIP LOCKED."""
    from messaging.models import PendingUpload

    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            PendingUpload.objects.filter(expires_at__lte=now)
            .order_by("expires_at")
            .select_for_update(skip_locked=True)[:limit]
        )
        if not expired:
            return 0
        PendingUpload.objects.filter(pk__in=[row.pk for row in expired]).delete()
        transaction.on_commit(lambda: _delete_files(expired))
    log.info("pending uploads expired=%s", len(expired))
    return len(expired)


def _forget_beyond_limit(owner) -> None:
    from messaging.models import PendingUpload

    surplus = list(PendingUpload.objects.filter(owner=owner).order_by("-created_at")[PENDING_UPLOADS_PER_OWNER:])
    if surplus:
        pending_uploads_release(surplus)


def _delete_files(rows: list) -> None:
    for row in rows:
        for name in (row.file.name, row.thumbnail.name):
            if name:
                default_storage.delete(name)


class PendingPhotos:
    """What core.pages.form_submit keeps a form's photos with between tries (`keeper=`)."""

    minutes = PENDING_UPLOAD_MINUTES

    @property
    def limit(self) -> int:
        return settings.PHOTOS_PER_MESSAGE

    def find(self, owner, ids: list[str]):
        return pending_uploads_find(owner=owner, ids=ids)

    def keep(self, owner, uploads: list, *, room: int):
        return pending_uploads_keep(owner=owner, uploads=uploads, room=room)

    def uploads(self, rows: list) -> list[CleanPhoto]:
        return [pending_upload_photo(row) for row in rows]

    def release(self, rows: list) -> None:
        pending_uploads_release(rows)


pending_photos = PendingPhotos()
