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
import struct
import threading
import warnings
from collections import OrderedDict
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
from PIL import ExifTags, Image, ImageChops, ImageCms, UnidentifiedImageError

from core.errors import RuleViolation
from core.metrics import photo_ingest_timed

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


# The transforms to sRGB built so far, by SHA-256 of the profile and the image's mode: a phone tags every
# photo with the same profile, and building a transform costs more than looking one up. None means "leave
# the pixels as they are": the profile is unusable, or it is sRGB already (a pass that changes nothing).
_transforms: OrderedDict[tuple[bytes, str], ImageCms.ImageCmsTransform | None] = OrderedDict()
_transforms_lock = threading.Lock()
TRANSFORMS_KEPT = 32


def _colour_probe() -> Image.Image:
    """Every 17th level of each channel, 4,096 colours: enough for a profile that is sRGB under another name
    to show that converting changes nothing."""
    levels = range(0, 256, 17)
    return Image.frombytes(
        "RGB", (16**3, 1), bytes(v for b in levels for g in levels for r in levels for v in (r, g, b))
    )


_PROBE = _colour_probe()


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """`image` with colours converted from the profile `icc` describes to sRGB: in place when the mode stays
    (an RGB photo, the usual case), so the largest pass of the pipeline makes no copy of the pixels."""
    if not icc:
        return image
    transform = _srgb_transform(icc, image.mode)
    if transform is None:
        return image
    try:
        if transform.input_mode == transform.output_mode:
            ImageCms.applyTransform(image, transform, inPlace=True)
            return image
        return ImageCms.applyTransform(image, transform)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unusable profile is dropped, pixels kept as they are


def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform taking `mode` pixels described by `icc` to sRGB, built once per profile (a bounded cache,
    so a stream of made-up profiles cannot grow it), or None when there is nothing to do."""
    key = (hashlib.sha256(icc).digest(), mode)
    with _transforms_lock:
        if key in _transforms:
            _transforms.move_to_end(key)
            return _transforms[key]
    transform = _build_srgb_transform(icc, mode)
    with _transforms_lock:
        _transforms[key] = transform
        while len(_transforms) > TRANSFORMS_KEPT:
            _transforms.popitem(last=False)
    return transform


def _build_srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A new transform from `icc` to sRGB for `mode` pixels; None for a profile that is unusable or sRGB."""
    output_mode = "RGBA" if "A" in mode else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        transform = ImageCms.buildTransform(source, SRGB, mode, output_mode)
        if mode in ("RGB", "RGBA"):
            probe = _PROBE.convert(mode)
            converted = ImageCms.applyTransform(probe, transform)
            if max(high for _low, high in ImageChops.difference(converted, probe).getextrema()) <= 1:
                return None  # sRGB under another name: converting would cost a full pass and change nothing
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # an unusable profile is dropped, pixels kept as they are
    return transform


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


@photo_ingest_timed  # dispute_desk_photo_ingest_duration_seconds, by outcome
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
    """Decode, turn upright, convert to sRGB and re-encode, each pass at most once and over the final size:
    an ingest costs little more than decoding and encoding the photo (bench/photo_bench.py)."""
    _decode(image, name)
    if image.format not in ALLOWED_FORMATS:
        raise not_an_image(_("%(name)s is not a JPEG, PNG, WebP or HEIC photo.") % {"name": name})

    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    orientation = _orientation(image)
    icc = image.info.get("icc_profile")
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    # Shrink first, so every pass below (orientation, colour profile, mode) is over the small image:
    # a huge photo costs its decoded size once, not four times.
    image = _fit(image, LONGEST_SIDE)
    image = _upright(image, orientation)  # the camera's orientation, applied before the EXIF that says it goes
    image = _to_srgb(image, icc)
    if image.mode not in ("RGB", "RGBA"):  # greyscale with no profile to say how it becomes colour
        image = image.convert("RGBA" if has_alpha else "RGB")
    # Nothing read from the file goes on: Pillow's writers take metadata from their arguments and from `info`
    # alone, and _metadata_free checks the bytes they wrote.
    image.info = {}

    extension, content_type = ("png", "image/png") if has_alpha else ("jpg", "image/jpeg")
    return CleanPhoto(
        content=_encode(image, extension),
        thumbnail=_encode(_fit(image, THUMBNAIL_SIDE), extension, small=True),
        extension=extension,
        content_type=content_type,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
        original_size=len(data),
    )


def _decode(image: Image.Image, name: str) -> None:
    """Decode every pixel now, so a truncated or corrupt file is refused here and not half-stored."""
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


TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 = upright as stored); a broken EXIF block is no reason to refuse a photo."""
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (SyntaxError, ValueError, TypeError, OSError, struct.error):
        return 1


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    """`image` turned as the camera said, in one transpose (a new image only when it has to turn)."""
    method = TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return image if method is None else image.transpose(method)


def _fit(image: Image.Image, side: int) -> Image.Image:
    """`image` shrunk to fit side × side, aspect kept, or `image` itself when it fits. Resizing reduces by a
    whole factor first (a cheap box average) and runs Lanczos over twice the target size only: the same look
    as Lanczos over every pixel, at a fraction of the cost."""
    longest = max(image.size)
    if longest <= side:
        return image
    size = (max(1, round(image.width * side / longest)), max(1, round(image.height * side / longest)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _encode(image: Image.Image, extension: str, *, small: bool = False) -> bytes:
    """The pixels as a fresh file. JPEG is quality 85, baseline: bench/photo_bench.py measures Huffman
    optimisation and progressive scans at several times the encode time of the whole photo for a few
    percent fewer bytes; on a thumbnail (`small`) optimisation costs next to nothing and is kept."""
    out = io.BytesIO()
    if extension == "png":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "JPEG", quality=85, optimize=small)
    return _metadata_free(out.getvalue(), extension)


# What an encoded file may hold besides pixels: JPEG markers before the first scan (JFIF header, tables,
# frame, restart interval) and PNG chunks. EXIF and XMP (APP1), ICC (APP2), comments, text chunks are not.
JPEG_MARKERS_ALLOWED = {0xE0, 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD}
PNG_CHUNKS_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def _metadata_free(content: bytes, extension: str) -> bytes:
    """`content`, once its structure shows it carries nothing but pixels. The pipeline drops metadata by
    construction; this check is cheap (it walks headers, not pixels) and turns a leak through some future
    Pillow default into an error instead of a stored GPS position."""
    found = _jpeg_markers(content) if extension == "jpg" else _png_chunks(content)
    allowed = JPEG_MARKERS_ALLOWED if extension == "jpg" else PNG_CHUNKS_ALLOWED
    if leaked := [kind for kind in found if kind not in allowed]:
        raise RuntimeError(f"the photo encoder wrote more than pixels: {leaked!r}")
    return content


def _jpeg_markers(content: bytes) -> list[int]:
    """The markers of a JPEG up to its first scan (where encoders put every header)."""
    markers, at = [], 2  # after SOI
    while at + 4 <= len(content) and content[at] == 0xFF:
        marker = content[at + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return markers
        markers.append(marker)
        at += 2 + struct.unpack_from(">H", content, at + 2)[0]
    return [*markers, -1]  # no scan found where one must be: not a file this pipeline should store


def _png_chunks(content: bytes) -> list[bytes]:
    """The chunk types of a PNG, in order."""
    chunks, at = [], 8  # after the signature
    while at + 8 <= len(content):
        length, kind = struct.unpack_from(">I4s", content, at)
        chunks.append(kind)
        at += 12 + length
    return chunks


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
