"""Benchmark: photo ingest against bare Pillow (issue #16: a photo costs within 1.3x of bare Pillow).

Makes three 12 MP (4000x3000) JPEGs in memory, the same every run (tests/messaging/images.py), of one
natural-looking picture (gradients, blotches at two scales, grain; flat colour would make every codec look
fast) saved at quality 92, as phones save them:
  plain         no metadata at all;
  phone, sRGB   EXIF orientation 6 (the upright photo is 3000x4000), GPS, XMP, a comment and an sRGB
                profile, as many Android phones save a portrait photo;
  phone, P3     the same with a Display P3 profile, as an iPhone saves it.
Then, for each, times REPEATS runs (the median is printed) of:
  bare Pillow   open, load, save as JPEG quality 85 into memory: the least any re-encoding costs;
  floor         bare Pillow plus what the photo itself makes mandatory: the one rotate its orientation asks
                for and the conversion of its colours to sRGB where that changes them (LittleCMS, transform
                built beforehand; none for an sRGB profile). No Pillow pipeline that keeps our checks goes
                under it;
  clean_photo   messaging.photos.clean_photo, every check (after one untimed call: a running server has
                built its colour transform for a phone's profile long before);
  pyvips        the same job in libvips (load, rotate, sRGB, save q85 stripped, thumbnail), if pyvips and
                libvips are installed: with libvips' own worker threads, and with one thread (as Pillow has);
and prints each figure with its ratio to bare Pillow and to the floor, all measured in this run, and the
PSNR of each output against the same photo decoded, turned and converted (is the work the same work?).
Last, the JPEG encoder settings measured on the upright P3 phone photo (time, bytes, PSNR): why the pipeline
encodes baseline quality 85 without Huffman optimisation.

    .venv/bin/python bench/photo_bench.py
    BENCH_PHOTO_REPEATS=9 .venv/bin/python bench/photo_bench.py

Needs no database (`make bench` passes DATABASE_URL; nothing here connects). About 30 s on two cores: run
it on an otherwise idle machine.
"""

import io
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"

REPEATS = int(os.environ.get("BENCH_PHOTO_REPEATS", "5"))
SIZE = (4000, 3000)


def medians(candidates: dict, repeats: int = REPEATS) -> dict[str, tuple[float, float]]:
    """Median wall and CPU milliseconds of each candidate, run in turn `repeats` times: interleaved, so a burst
    of other work on the machine falls on all of them alike rather than on whichever ran then. CPU time
    counts every thread of this process (libvips' workers too) and shrugs off the machine's other work."""
    wall: dict[str, list[float]] = {name: [] for name in candidates}
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, work in candidates.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            work()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return {name: (statistics.median(wall[name]) * 1000, statistics.median(cpu[name]) * 1000) for name in candidates}


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio of two RGB images of one size, in dB (higher is closer; q85 lands near 40)."""
    from PIL import ImageChops

    histogram = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mse = squared / (a.width * a.height * 3)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def decoded(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def bare_pillow(data: bytes) -> bytes:
    """Decode, then save as JPEG q85: the baseline the issue measures against."""
    out = io.BytesIO()
    decoded(data).save(out, "JPEG", quality=85)
    return out.getvalue()


def srgb_transform(icc: bytes | None, sample):
    """The LittleCMS transform from `icc` to sRGB, or None where there is no conversion to do: no profile, or
    one that leaves the photo's colours (a sample of them) within a level of where they were."""
    from PIL import ImageChops, ImageCms

    if not icc:
        return None
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    transform = ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), "RGB", "RGB")
    sample = sample.reduce(16)
    moved = ImageChops.difference(ImageCms.applyTransform(sample, transform), sample).getextrema()
    return transform if max(high for _low, high in moved) > 1 else None


def upright_srgb(data: bytes, transform):
    """The photo decoded, turned as its EXIF says and converted to sRGB: the reference every output is held to."""
    from PIL import Image, ImageCms

    image = decoded(data)
    if image.getexif().get(0x0112) == 6:
        image = image.transpose(Image.Transpose.ROTATE_270)
    if transform is not None:
        ImageCms.applyTransform(image, transform, inPlace=True)
    return image


def floor(data: bytes, transform) -> bytes:
    """Bare Pillow plus the rotate and the colour conversion a phone photo makes mandatory."""
    out = io.BytesIO()
    upright_srgb(data, transform).save(out, "JPEG", quality=85)
    return out.getvalue()


def vips_clean(data: bytes) -> bytes:
    """The pipeline's job in libvips: the JPEG loader only (our sniffing chose it), truncation refused, turned
    upright, converted to sRGB from the embedded profile, saved q85 with every piece of metadata stripped,
    and a 320 px thumbnail through libvips' shrink-on-load."""
    import pyvips

    image = pyvips.Image.jpegload_buffer(data, fail_on="truncated").autorot()
    if image.get_typeof("icc-profile-data"):
        image = image.icc_transform("srgb", embedded=True, intent="perceptual")
    content = image.jpegsave_buffer(Q=85, strip=True)
    pyvips.Image.thumbnail_buffer(data, 320, height=320, export_profile="srgb").jpegsave_buffer(Q=85, strip=True)
    return content


def metadata_left(data: bytes) -> str:
    from PIL import Image

    info = Image.open(io.BytesIO(data)).info
    return ", ".join(key for key in ("exif", "icc_profile", "xmp", "comment") if info.get(key)) or "none"


def pyvips_or_none():
    """pyvips with libvips' operation cache off (a repeat must not be served from the last one), else None."""
    try:
        import pyvips

        pyvips.cache_set_max(0)
        pyvips.block_untrusted_set(True)
    except (ImportError, OSError):
        return None
    return pyvips


def make_photos() -> dict[str, bytes]:
    from tests.messaging.images import natural_image, phone_jpeg, srgb_profile

    image = natural_image(SIZE)
    plain = io.BytesIO()
    image.save(plain, "JPEG", quality=92)
    return {
        "plain (no metadata)": plain.getvalue(),
        "phone, sRGB profile (as Android phones)": phone_jpeg(image, quality=92, icc_profile=srgb_profile()),
        "phone, Display P3 profile (as iPhones)": phone_jpeg(image, quality=92),
    }


def bench_photo(label: str, data: bytes, pyvips) -> None:
    from PIL import Image

    from messaging.photos import clean_photo

    source = decoded(data)
    transform = srgb_transform(source.info.get("icc_profile"), source)
    reference = upright_srgb(data, transform)
    print(f"\n{label}: {len(data) / 1e6:.1f} MB, {SIZE[0]}x{SIZE[1]}, upright {reference.width}x{reference.height}")

    clean_photo(data)  # builds and caches the colour transform, as any earlier upload would have
    candidates = {
        "bare Pillow (decode, save q85)": (lambda: bare_pillow(data), decoded(data)),
        "floor (bare + rotate + sRGB)": (lambda: floor(data, transform), reference),
        "clean_photo": (lambda: clean_photo(data).content, reference),
    }
    if pyvips is not None:
        candidates[f"pyvips ({pyvips.concurrency_get()} threads)"] = (lambda: vips_clean(data), reference)
    timed = medians({name: work for name, (work, _) in candidates.items()})
    if pyvips is not None:
        threads = pyvips.concurrency_get()
        pyvips.concurrency_set(1)
        candidates["pyvips (1 thread)"] = (lambda: vips_clean(data), reference)
        timed |= medians({"pyvips (1 thread)": candidates["pyvips (1 thread)"][0]})
        pyvips.concurrency_set(threads)

    bare, floor_ = timed["bare Pillow (decode, save q85)"], timed["floor (bare + rotate + sRGB)"]
    print(f"  {'':32} {'wall':>9} {'x bare':>7} {'x floor':>8} {'CPU':>9} {'x bare':>7} {'x floor':>8}", end="")
    print(f" {'out MB':>7} {'PSNR dB':>8}  metadata left")
    for name, (work, against) in candidates.items():
        wall, cpu = timed[name]
        out = work()
        image = Image.open(io.BytesIO(out))
        quality = f"{psnr(image, against):8.1f}" if image.size == against.size else "  turned?"
        print(
            f"  {name:32} {wall:6.0f} ms {wall / bare[0]:6.2f}x {wall / floor_[0]:7.2f}x "
            f"{cpu:6.0f} ms {cpu / bare[1]:6.2f}x {cpu / floor_[1]:7.2f}x "
            f"{len(out) / 1e6:7.2f} {quality}  {metadata_left(out)}"
        )


def bench_encoders(data: bytes) -> None:
    """JPEG settings on the upright, converted phone photo: what each costs in time and what it saves in bytes."""
    source = decoded(data)
    image = upright_srgb(data, srgb_transform(source.info.get("icc_profile"), source))
    settings = {
        "q85 baseline (pipeline)": {"quality": 85},
        "q85 optimize": {"quality": 85, "optimize": True},
        "q85 progressive": {"quality": 85, "progressive": True},
        "q85 optimize+progressive (before)": {"quality": 85, "optimize": True, "progressive": True},
        "q90 baseline": {"quality": 90},
    }

    def encoder(options: dict):
        def encode() -> bytes:
            out = io.BytesIO()
            image.save(out, "JPEG", **options)
            return out.getvalue()

        return encode

    encoders = {name: encoder(options) for name, options in settings.items()}
    timed = medians(encoders, repeats=3)
    print("\nJPEG encoder settings, Display P3 phone photo upright in sRGB (encode only, 3 repeats):")
    for name, encode in encoders.items():
        out = encode()
        wall, cpu = timed[name]
        print(
            f"  {name:34} {wall:6.0f} ms {cpu:6.0f} ms CPU {len(out) / 1e6:6.2f} MB {psnr(decoded(out), image):6.1f} dB"
        )


def main() -> None:
    import django
    import PIL

    django.setup()
    pyvips = pyvips_or_none()
    started = time.perf_counter()
    photos = make_photos()
    vips = f"pyvips {pyvips.__version__}, libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    print(f"Pillow {PIL.__version__}; {vips if pyvips else 'pyvips not installed'}; {REPEATS} repeats, medians")
    for label, data in photos.items():
        bench_photo(label, data, pyvips)
    bench_encoders(photos["phone, Display P3 profile (as iPhones)"])
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
