"""OCR of scanned pages and images with Tesseract's Dutch model, page by page, once.

A page is recognised only when it has no text layer of its own (fewer than
``OcrSettings.min_letters`` letters): a mixed PDF OCRs only its scanned
pages. Pages are rendered with pypdfium2 at ``OcrSettings.dpi`` and read by
the ``tesseract`` program (Debian's ``tesseract-ocr`` + ``tesseract-ocr-nld``)
through pytesseract.

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
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["OcrSettings", "OcrCache", "OcrJob", "PageTask", "image_frames", "letters", "missing_reason", "pending_pages",
           "recognise", "recognise_task", "render_page"]

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


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


@functools.lru_cache(maxsize=8)
def _tesseract(language: str) -> tuple[str | None, str]:
    """(reason OCR cannot run or None, Tesseract's version)."""
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
    return _tesseract(settings.language)[0]


def recognise(image, settings: OcrSettings) -> str:
    """The text Tesseract reads in a PIL image."""
    import pytesseract

    # One thread per Tesseract: the build runs one per core already, and
    # OpenMP threads on top of that only contend (Tesseract's own advice).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return pytesseract.image_to_string(image, lang=settings.language, config="--psm 3")


@contextlib.contextmanager
def _pdf(data: bytes):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        yield pdf
    finally:
        pdf.close()


def render_page(data: bytes, index: int, dpi: int):
    """Page ``index`` of a PDF as a greyscale PIL image at ``dpi``."""
    with _pdf(data) as pdf:
        return pdf[index].render(scale=dpi / 72, grayscale=True).to_pil()


def image_frames(data: bytes) -> list:
    """Every page of an image file (a multi-page TIFF has several), as greyscale PIL images."""
    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as image:
        return [frame.convert("L") for frame in ImageSequence.Iterator(image)]


class OcrCache:
    """Recognised text by (content hash, page, Tesseract version, language, resolution), as plain files."""

    def __init__(self, settings: OcrSettings):
        root = settings.cache_dir or os.environ.get("VRAAGBAAK_OCR_CACHE")
        if root is None:
            import platformdirs

            root = Path(platformdirs.user_cache_dir("vraagbaak")) / "ocr"
        self.root = Path(root)
        version = _tesseract(settings.language)[1]
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
                text = recognise(image_of(page), self.settings)
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

    A file that cannot be opened has none here: reading it later gives the reason.
    """
    data = Path(path).read_bytes()
    try:
        if Path(path).suffix.lower() == ".pdf":
            pages = [n for n, text in enumerate(_pdf_page_texts(data)) if letters(text) < settings.min_letters]
        else:
            pages = list(range(_frame_count(data)))
    except Exception:  # noqa: BLE001 - a damaged file: the reader reports it, with its reason
        return []
    sha256 = hashlib.sha256(data).hexdigest()
    cache = OcrCache(settings)
    return [PageTask(str(path), sha256, n) for n in pages if cache.get(sha256, n) is None]


def recognise_task(task: PageTask, settings: OcrSettings) -> bool:
    """Recognise one page into the cache (run in the build's worker processes); False if that failed.

    A failure costs this page only here: reading the file afterwards meets
    the same failure and skips that file, with its reason and traceback, as
    for any reader failure; the other pages and files go on.
    """
    try:
        data = Path(task.path).read_bytes()
        if Path(task.path).suffix.lower() == ".pdf":
            image = render_page(data, task.page, settings.dpi)
        else:
            image = image_frames(data)[task.page]
        OcrCache(settings).put(task.sha256, task.page, recognise(image, settings))
        return True
    except Exception:  # noqa: BLE001 - Tesseract crashing, a page PDFium cannot render, memory
        return False


def _pdf_page_texts(data: bytes) -> list[str]:
    with _pdf(data) as pdf:
        return [page.get_textpage().get_text_range() for page in pdf]


def _frame_count(data: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return getattr(image, "n_frames", 1)
