"""OCR of scanned pages and images with Tesseract's Dutch model, page by page, once.

A page is recognised only when it has no text layer of its own (fewer than
``OcrSettings.min_letters`` letters): a mixed PDF OCRs only its scanned
pages. Pages are rendered with pypdfium2 at ``OcrSettings.dpi`` and read by
the ``tesseract`` program (Debian's ``tesseract-ocr`` + ``tesseract-ocr-nld``)
through pytesseract.

What one file may cost is bounded (``OcrSettings``): at most ``max_pages``
scanned pages, each at most ``max_pixels`` (a larger PDF page is rendered at a
lower resolution, down to ``min_dpi``); an image's frames are decoded one at a
time; a blank page (nothing drawn, or nothing dark at a quarter of the
resolution) is not given to Tesseract. The checks read only page sizes and
image headers, so a file beyond them is refused before a pixel is decoded.

OCR costs seconds per page, so its text is cached by the file's content hash
(sha256 of its bytes), the page number and what shapes the result (Tesseract's
version, language, resolution): a renamed, moved or unchanged file, or a
rebuild for another model or chunking, is never recognised again, and a
build killed mid-OCR keeps the pages already done. The cache is plain text
files, each written atomically, in the user's cache folder (the model's
neighbour) or ``VRAAGBAAK_OCR_CACHE``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["OcrSettings", "OcrCache", "OcrJob", "PageTask", "frame_count", "frame_image", "image_problem", "letters",
           "missing_reason", "page_image", "page_task", "pending_pages", "pending_task", "recognise", "recognise_task", "render_dpi",
           "scan_problem", "scanned_page_sizes"]

INSTALL_HINT = "installeer Tesseract met het Nederlandse taalmodel: sudo apt install tesseract-ocr tesseract-ocr-nld"


@dataclass(frozen=True)
class OcrSettings:
    enabled: bool = True
    language: str = "nld"
    # 300 dpi is Tesseract's own advice and what scanners deliver; at 150 dpi
    # word recall drops (benchmarks/ocr.py, BENCHMARKS.md).
    dpi: int = 300
    min_letters: int = 20  # a PDF page with fewer letters in its text layer is treated as a scan
    cache_dir: str | None = None  # default: VRAAGBAAK_OCR_CACHE, else the user cache folder
    # What one file may cost (issue 35). A file with more scanned pages than
    # ``max_pages`` is not read at all, rather than indexed in part: its skip
    # reason says so, and a larger limit here reads it. A scanned book has
    # 200-400 pages; each costs Tesseract 1-3 s, so 500 is 10-25 minutes of
    # two cores. Blank pages count, but cost no recognition.
    max_pages: int = 500
    # Pixels a page or image may have for OCR: A4 at 600 dpi is 35 million,
    # A2 at 300 dpi 35 million; a 50-million-pixel page costs Tesseract 0.25 GB
    # and 11 s. A larger PDF page (a poster, a drawing) is rendered at a lower
    # resolution so that it fits, down to ``min_dpi``; a page that would need
    # less (the 200-inch page of a 435-byte bomb: 31 dpi), or an image larger
    # than this (its pixels are decoded whole), is refused.
    max_pixels: int = 50_000_000
    min_dpi: int = 100


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


@functools.lru_cache(maxsize=8)
def _tesseract(language: str, path: str | None = None) -> tuple[str | None, str]:
    """(reason OCR cannot run or None, Tesseract's version); ``path``: the search path it was
    looked for in (part of the cache key: a process whose PATH changes looks again)."""
    program = shutil.which("tesseract")
    if program is None:
        return f"Tesseract is niet geïnstalleerd; {INSTALL_HINT}", ""
    try:
        version = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
        langs = subprocess.run([program, "--list-langs"], capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Tesseract werkt niet ({exc}); {INSTALL_HINT}", ""
    if language not in langs:
        return f"het taalmodel {language!r} van Tesseract ontbreekt; {INSTALL_HINT}", version
    return None, version.strip()


def missing_reason(settings: OcrSettings) -> str | None:
    """Why OCR cannot run here (None: it can): turned off, or Tesseract or its Dutch model missing."""
    if not settings.enabled:
        return "OCR staat uit"
    return _tesseract(settings.language, os.environ.get("PATH"))[0]


def recognise(image, settings: OcrSettings) -> str:
    """The text Tesseract reads in a PIL image."""
    import pytesseract

    # One thread per Tesseract: the build runs one per core already, and
    # OpenMP threads on top of that only contend (Tesseract's own advice).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return pytesseract.image_to_string(image, lang=settings.language, config="--psm 3")


@contextlib.contextmanager
def _pdf(source):
    """A PDF opened from its bytes or its path (PDFium then reads only what it needs); an open one as it is."""
    import pypdfium2 as pdfium

    if isinstance(source, pdfium.PdfDocument):
        yield source
        return
    pdf = pdfium.PdfDocument(source if isinstance(source, bytes) else str(source))
    try:
        yield pdf
    finally:
        pdf.close()


def _count(n: int) -> str:
    """2000 -> "2.000", as Dutch readers write it."""
    return f"{n:,}".replace(",", ".")


def render_dpi(width_pt: float, height_pt: float, settings: OcrSettings) -> float | None:
    """The resolution a PDF page of this size (points) is recognised at: ``settings.dpi``,
    or lower so that it stays within ``max_pixels``; None when that would be below ``min_dpi``."""
    def pixels(dpi: float) -> int:  # PDFium rounds a bitmap's sides up
        return math.ceil(width_pt / 72 * dpi) * math.ceil(height_pt / 72 * dpi)

    dpi = float(settings.dpi)
    if pixels(dpi) > settings.max_pixels:
        dpi *= (settings.max_pixels / pixels(dpi)) ** 0.5
        while pixels(dpi) > settings.max_pixels:
            dpi *= 0.999
    return dpi if dpi >= settings.min_dpi else None


def scan_problem(sizes: dict[int, tuple[float, float]], settings: OcrSettings) -> str | None:
    """Why the scanned pages of a PDF (page -> size in points) are not read, or None:
    more than ``max_pages`` of them, or one too large (``render_dpi``)."""
    if len(sizes) > settings.max_pages:
        return (f"te groot om te lezen: {_count(len(sizes))} gescande pagina's; OCR leest er hoogstens "
                f"{_count(settings.max_pages)} per bestand")
    for page, (width, height) in sorted(sizes.items()):
        if render_dpi(width, height, settings) is None:
            cm = lambda pt: _count(round(pt / 72 * 2.54))  # noqa: E731
            return (f"te groot om te lezen: pagina {page + 1} is {cm(width)} × {cm(height)} cm, te groot voor OCR "
                    f"(hoogstens {settings.max_pixels / 1e6:.0f} miljoen pixels bij {settings.min_dpi} dpi)")
    return None


# A page is blank when no pixel of it, seen at a quarter of the resolution, is
# darker than this: the lightest text still has strokes darker than 224 (of
# 255) there, while a page with nothing on it is white. A scanned empty page
# with specks is not blank here and is recognised as before (it costs time, not text).
_BLANK_LEVEL = 224


def _blank(image) -> bool:
    return image.getextrema()[0] >= _BLANK_LEVEL


def page_image(source, index: int, settings: OcrSettings):
    """Page ``index`` of a PDF (its bytes, its path, or a ``PdfDocument``: one opened once for
    many pages) as a greyscale PIL image for OCR, at ``render_dpi``; None when the page is
    blank (nothing drawn on it, or nothing dark at a quarter of the resolution).
    ``ValueError`` when the page is too large (``scan_problem`` says so first)."""
    import pypdfium2.raw as pdfium_c

    with _pdf(source) as pdf:
        page = pdf[index]
        try:
            dpi = render_dpi(*page.get_size(), settings)
            if dpi is None:
                raise ValueError(f"page {index + 1} is too large to recognise")
            if pdfium_c.FPDFPage_CountObjects(page.raw) == 0:
                return None
            if _blank(page.render(scale=dpi / 4 / 72, grayscale=True).to_pil().convert("L")):
                return None
            return page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        finally:
            page.close()


@contextlib.contextmanager
def _pillow_quiet():
    """Pillow without its warning about images over 89 million pixels: our own limit is lower, and checked first."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _open_image(data: bytes):
    """Pillow's image of ``data``, its size not yet checked."""
    from PIL import Image

    with _pillow_quiet():
        return Image.open(io.BytesIO(data))


def frame_count(data: bytes) -> int:
    with _open_image(data) as image:
        return getattr(image, "n_frames", 1)


def image_problem(data: bytes, settings: OcrSettings) -> str | None:
    """Why an image file is not read, or None: more than ``max_pages`` frames, or one larger than
    ``max_pixels``. Only the frames' headers are read here; no pixel is decoded."""
    from PIL import Image

    try:
        image = _open_image(data)
    except Image.DecompressionBombError:  # beyond Pillow's own limit (179 million pixels): it refuses to open it
        return f"te groot om te lezen: meer dan {Image.MAX_IMAGE_PIXELS * 2 / 1e6:.0f} miljoen pixels; OCR leest tot {settings.max_pixels / 1e6:.0f} miljoen per pagina"
    with image, _pillow_quiet():
        frames = getattr(image, "n_frames", 1)
        if frames > settings.max_pages:
            return f"te groot om te lezen: {_count(frames)} pagina's; OCR leest er hoogstens {_count(settings.max_pages)} per bestand"
        for n in range(frames):
            image.seek(n)
            width, height = image.size
            if width * height > settings.max_pixels:
                where = f"pagina {n + 1} is" if frames > 1 else "de afbeelding is"
                return (f"te groot om te lezen: {where} {_count(width)} × {_count(height)} pixels; OCR leest tot "
                        f"{settings.max_pixels / 1e6:.0f} miljoen pixels per pagina")
    return None


def frame_image(data: bytes, index: int, settings: OcrSettings):
    """Frame ``index`` of an image file (a page of a multi-page TIFF) as a greyscale PIL image, decoded
    alone; None when blank. ``ValueError`` when larger than ``max_pixels`` (``image_problem`` says so first)."""
    with _open_image(data) as image, _pillow_quiet():
        image.seek(index)
        if image.size[0] * image.size[1] > settings.max_pixels:
            raise ValueError(f"frame {index + 1} is too large to recognise")
        frame = image.convert("L")
    return None if _blank(frame) else frame


class OcrCache:
    """Recognised text by (content hash, page, Tesseract version, language, resolution), as plain files."""

    def __init__(self, settings: OcrSettings):
        root = settings.cache_dir or os.environ.get("VRAAGBAAK_OCR_CACHE")
        if root is None:
            import platformdirs

            root = Path(platformdirs.user_cache_dir("vraagbaak")) / "ocr"
        self.root = Path(root)
        version = _tesseract(settings.language, os.environ.get("PATH"))[1]
        self.variant = hashlib.sha256(f"{version}|{settings.language}|{settings.dpi}".encode()).hexdigest()[:12]

    def _path(self, sha256: str, page: int) -> Path:
        return self.root / sha256[:2] / sha256 / f"{self.variant}-{page}.txt"

    def get(self, sha256: str, page: int) -> str | None:
        try:
            return self._path(sha256, page).read_text(encoding="utf-8")
        except OSError:
            return None

    def put(self, sha256: str, page: int, text: str) -> None:
        path = self._path(sha256, page)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)  # atomic: a reader sees the whole text or none
        except OSError:
            pass  # a cache that cannot be written costs time, not text


@dataclass
class OcrJob:
    """What a reader needs to recognise a file's scanned pages: the settings, the
    file's content hash (the cache key), and a callback per recognised page."""

    settings: OcrSettings
    sha256: str
    on_page: Callable[[int, int], None] | None = None  # (pages done, pages to recognise)

    def pages(self, wanted: list[int], image_of: Callable[[int], object]) -> dict[int, str]:
        """The text of each page in ``wanted`` (0-based), from the cache or recognised now."""
        cache = OcrCache(self.settings)
        out = {}
        for done, page in enumerate(wanted, start=1):
            text = cache.get(self.sha256, page)
            if text is None:
                image = image_of(page)
                text = "" if image is None else recognise(image, self.settings)  # None: a blank page
                cache.put(self.sha256, page, text)
            out[page] = text
            if self.on_page:
                self.on_page(done, len(wanted))
        return out


# ------------------------------------------------------------ build stage


@dataclass(frozen=True)
class PageTask:
    """One page to recognise: a file, its content hash and the page (0-based)."""

    path: str
    sha256: str
    page: int


def pending_pages(path: str | Path, settings: OcrSettings) -> list[PageTask]:
    """The pages of a PDF or image file that need OCR and are not in the cache yet.

    A file that cannot be opened, or whose scans are beyond the limits
    (``scan_problem``, ``image_problem``), has none here: reading it later
    gives the reason.
    """
    data = Path(path).read_bytes()
    try:
        if Path(path).suffix.lower() == ".pdf":
            sizes = scanned_page_sizes(data, settings)
            pages = [] if scan_problem(sizes, settings) else sorted(sizes)
        else:
            pages = [] if image_problem(data, settings) else list(range(frame_count(data)))
    except Exception:  # noqa: BLE001 - a damaged file: the reader reports it, with its reason
        return []
    sha256 = hashlib.sha256(data).hexdigest()
    cache = OcrCache(settings)
    return [PageTask(str(path), sha256, n) for n in pages if cache.get(sha256, n) is None]


def recognise_task(task: PageTask, settings: OcrSettings) -> bool:
    """Recognise one page into the cache (run in the build's reading processes); False if that failed.

    A failure costs this page only here: reading the file afterwards meets
    the same failure and skips that file, with its reason and traceback, as
    for any reader failure; the other pages and files go on. ``MemoryError``
    is raised: the reading process reports the file as too large.
    """
    try:
        if Path(task.path).suffix.lower() == ".pdf":
            image = page_image(task.path, task.page, settings)
        else:
            image = frame_image(Path(task.path).read_bytes(), task.page, settings)
        OcrCache(settings).put(task.sha256, task.page, "" if image is None else recognise(image, settings))
        return True
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - Tesseract crashing, a page PDFium cannot render
        return False


def pending_task(path: str, progress, settings: OcrSettings) -> list[PageTask]:
    """``pending_pages`` as a task of ``isolation.Workers``."""
    return pending_pages(path, settings)


def page_task(task: PageTask, progress, settings: OcrSettings) -> bool:
    """``recognise_task`` as a task of ``isolation.Workers``."""
    return recognise_task(task, settings)


def scanned_page_sizes(data: bytes, settings: OcrSettings) -> dict[int, tuple[float, float]]:
    """Page -> size in points, of each PDF page without a text layer of its own."""
    sizes = {}
    with _pdf(data) as pdf:
        for n, page in enumerate(pdf):
            textpage = page.get_textpage()
            if letters(textpage.get_text_range()) < settings.min_letters:
                sizes[n] = page.get_size()
            textpage.close()
            page.close()
    return sizes
