"""Reading the corpus folder: which files count, their text (``readers``), their titles.

Offsets of passages later point into ``Document.text`` exactly as extracted
here (for a text file: as decoded, only a byte-order mark and Windows line
ends normalised), so a passage's ``start:end`` slice of it is the passage.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

from . import messages
from .errors import VraagbaakError
from .isolation import Failed, IsolationSettings, Workers
from .ocr import OcrSettings
from .readers import FORMATS, LIMITS, SUFFIXES, Extracted, ReaderFailed, ReaderLimits, Unreadable, decode_text, extract, format_of

__all__ = [
    "CorpusFile",
    "Document",
    "SUFFIXES",
    "Unreadable",
    "add_document",
    "decode_text",
    "file_fingerprint",
    "fingerprint",
    "read_corpus",
    "read_document",
    "read_task",
    "safe_file_name",
    "scan_corpus",
    "skip_reason",
    "upload_limit",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder, with "/" separators
    title: str
    text: str  # the extracted text; passage offsets point into it
    sha256: str  # see ``fingerprint``
    page_starts: tuple[int, ...] = ()  # offsets where PDF pages start; () for formats without pages
    headings: tuple[tuple[int, int], ...] | None = None  # heading spans the format marks (None: guessed)
    date: str = ""  # the day the file's metadata says it was made, ISO; "" if it says none (the build then takes the file's)


class CorpusFile(NamedTuple):
    """A file found by ``scan_corpus`` (a tuple: made 100,000 times per build, it must be cheap)."""

    source: str  # path relative to the corpus folder, with "/" separators
    path: str  # a str, not a Path: making 100,000 Path objects costs more than the walk itself
    size: int  # from one stat, so a build can tell an unchanged file without reading it
    mtime_ns: int


def fingerprint(path: str | Path, raw: bytes) -> str:
    """What tells a changed file: the sha256 of a text file's decoded text (so
    re-encoding it alone is no change), of any other file's bytes (so telling
    a touched PDF from a changed one needs no text extraction)."""
    fmt = format_of(path)
    if fmt is not None and fmt.fingerprint == "text":
        return hashlib.sha256(decode_text(raw).encode("utf-8")).hexdigest()
    return hashlib.sha256(raw).hexdigest()


def file_fingerprint(path: str | Path, limits: ReaderLimits = LIMITS) -> str:
    """``fingerprint`` of a file on disk, without holding more than a text file of
    ``limits.text_bytes`` in memory: any other file is hashed as it is read."""
    fmt = format_of(path)
    if fmt is not None and fmt.fingerprint == "text":
        refusal = limits.size_refusal(fmt, os.path.getsize(path))
        if refusal:
            raise Unreadable(refusal)
        return fingerprint(path, Path(path).read_bytes())
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# A line ending in one of these words breaks off mid-phrase ("Brief aan de bewoners van de" /
# "Lindenlaan"): a title taken from it goes on to the next line.
_OPEN_ENDINGS = frozenset(
    "de het een der des van aan voor in op met en of te ter ten bij naar over om door tot uit onder tegen "
    "zonder na als dat die dit deze zijn haar hun ons onze mijn uw jouw je".split())


def document_title(text: str, path: str | Path) -> str:
    """The first line of the text, continued while it breaks off mid-phrase (at most three lines); else the file name.
    A line of one word is whole ("Een", "Over"): only a phrase can break off."""
    lines = [line.strip().lstrip("#").strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return Path(path).stem
    title = lines[0]
    for following in lines[1:3]:
        words = title.split()
        if len(words) < 2 or (words[-1].lower() not in _OPEN_ENDINGS and not title.endswith(("-", ","))):
            break
        title = f"{title} {following}"
    return title[:200]


def _names_the_file(title: str, path: str | Path) -> bool:
    """A metadata title that is only the file's own name ("knelpunten-scan" for knelpunten-scan.pdf)."""
    def plain(name: str) -> str:
        return " ".join(name.replace("-", " ").replace("_", " ").lower().split())

    return plain(title) == plain(Path(path).stem)


def read_document(path: str | Path, source: str, ocr: OcrSettings | None = None, limits: ReaderLimits = LIMITS) -> Document:
    """Read and extract one file (``Unreadable`` or ``OSError`` if it cannot be); ``ocr``: how to read scans.

    In this process: the build and uploads read through ``read_task`` in
    reading processes of their own instead (``isolation.py``)."""
    raw = Path(path).read_bytes()
    got: Extracted = extract(path, raw, ocr, limits=limits)
    title = got.title.strip()
    if not title or _names_the_file(title, path):
        title = document_title(got.text, path)
    return Document(source, title, got.text, fingerprint(path, raw), got.page_starts, got.headings, got.date)


def read_task(file: tuple[str, str], progress, ocr: OcrSettings | None = None, limits: ReaderLimits = LIMITS) -> Document | Failed:
    """``read_document`` of (path, source) as a task of ``isolation.Workers``: the document, or why it could not be read."""
    path, source = file
    try:
        return read_document(path, source, ocr, limits)
    except (OSError, Unreadable) as exc:
        return Failed(skip_reason(exc), getattr(exc, "details", ""))


def _check_upload(upload: tuple[str, bytes], progress, ocr: OcrSettings | None = None, limits: ReaderLimits = LIMITS) -> Failed | None:
    """Whether an upload can be read, as a task of ``isolation.Workers``: None, or why not. OCR's pages are reported to ``progress``."""
    name, data = upload
    try:
        extract(name, data, ocr, progress, limits)
    except Unreadable as exc:
        return Failed(str(exc), getattr(exc, "details", ""))
    return None


def skip_reason(exc: Exception) -> str:
    """The reason shown for a file that could not be read (``OSError`` or ``Unreadable``)."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def scan_corpus(folder: Path, on_skip: Callable[[str, str], None] | None = None) -> list[CorpusFile]:
    """Every readable-looking file under ``folder`` with its size and modification time, sorted.

    Walks with ``os.scandir`` (one stat per file, nothing read), which is what
    lets an unchanged corpus of a hundred thousand files be recognised in
    about a second. Hidden files and folders, and Office's lock files
    ("~$nota.docx"), are passed over in silence; a
    file of a type no reader takes, and a symbolic link, are reported to
    ``on_skip(source, reason)``: a link is never followed, so the corpus
    folder cannot be used to read files elsewhere (nor walk in circles).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VraagbaakError(messages.corpus_missing(folder))
    skip = on_skip or _warn_skip
    root = folder.resolve()
    files: list[CorpusFile] = []

    def walk(path: str, prefix: str) -> None:
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if name[0] == "." or name.startswith("~$"):  # hidden, or the lock file Word keeps beside a document it has open
                    continue
                if entry.is_symlink():
                    target = Path(os.path.realpath(entry.path))
                    where = "binnen" if target.is_relative_to(root) else "buiten"
                    skip(prefix + name, f"symbolische link naar {where} de corpusmap, niet gevolgd")
                elif entry.is_dir():
                    walk(entry.path, f"{prefix}{name}/")
                elif not entry.is_file():
                    continue
                elif name[name.rfind(".") :].lower() in SUFFIXES:
                    st = entry.stat()
                    files.append(CorpusFile(prefix + name, entry.path, st.st_size, st.st_mtime_ns))
                else:
                    skip(prefix + name, "onbekend bestandstype")

    walk(str(folder), "")
    files.sort()  # by source, the first field
    return files


def read_corpus(folder: Path, on_skip=None) -> list[Document]:
    """Read every usable document; a file that cannot be read is skipped with a warning.

    ``on_skip(source, reason)`` is called for each skipped file (default: log a warning),
    so one bad file never aborts a build.
    """
    skip = on_skip or _warn_skip
    documents = []
    for file in scan_corpus(folder, skip):
        try:
            documents.append(read_document(file.path, file.source))
        except (OSError, Unreadable) as exc:
            skip(file.source, skip_reason(exc))
    return documents


def _warn_skip(source: str, reason: str) -> None:
    log.warning(messages.skipped(source, reason))


# ------------------------------------------------------------- adding texts

def upload_limit(name: str) -> int:
    """The most bytes an upload of this type may have (``readers.FORMATS``; an unknown type: the smallest)."""
    fmt = format_of(name)
    return fmt.upload_limit if fmt else min(f.upload_limit for f in FORMATS)


def safe_file_name(name: str, default_suffix: str = ".txt") -> str:
    """A plain file name from an untrusted one: no folders, no odd characters.

    "../../evil.txt" -> "evil.txt", "C:\\x\\Mijn Tekst.MD" -> "mijn-tekst.md".
    """
    import re
    import unicodedata

    base = re.split(r"[\\/]", name or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, default_suffix.lstrip(".")
    suffix = "." + suffix.lower()
    if suffix not in SUFFIXES:
        raise VraagbaakError(messages.file_type_unreadable(suffix, SUFFIXES))
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:80] or "tekst"
    return slug + suffix


def _refuse_a_copy(file_name: str, data: bytes, known: Mapping[str, str]) -> None:
    try:
        same = known.get(fingerprint(file_name, data))
    except Unreadable:
        return  # not text after all: reading it says so
    if same is not None:
        raise VraagbaakError(messages.duplicate_upload(file_name, same))


def add_document(folder: Path, name: str, data: bytes, size: int | None = None,
                 known: Mapping[str, str] | None = None, ocr: OcrSettings | None = None,
                 on_page: Callable[[int, int], None] | None = None, isolation: IsolationSettings = IsolationSettings()) -> Path:
    """Save an uploaded or pasted file into the corpus folder and return its path.

    The name is reduced to a safe file name; an existing file is never
    overwritten (a number is appended instead); the size limit is
    ``upload_limit``. The file is read first, so one that the build would
    skip (scanned, encrypted, damaged) is refused here with the same reason.
    ``size`` is the file's real size when ``data`` holds only its first bytes.
    ``known``: fingerprint -> source of the documents already indexed; a file
    with the same content is refused, naming that document, and nothing is saved.
    ``ocr``: how scanned pages are read (their text is cached, so the update
    that follows does not recognise them again); ``on_page(done, total)`` after each.
    It is read in a process of its own with a memory ceiling (``isolation``),
    as the build reads: a file made to exhaust a reader is refused ("te groot
    om te lezen") and costs this upload only. A refusal's ``__cause__`` is an
    ``Unreadable``; its ``details`` has the traceback when a reader failed.
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise VraagbaakError(messages.upload_folder_missing(folder))
    file_name = safe_file_name(name)
    size = len(data) if size is None else size
    limit = upload_limit(file_name)
    if max(size, len(data)) > limit:
        mb = f"{size / 1024 / 1024:.1f}".replace(".", ",")
        raise VraagbaakError(messages.upload_too_big(file_name, mb, limit // 1024 // 1024))
    _refuse_a_copy(file_name, data, known or {})  # before reading: a copy of a scan is not recognised again
    with Workers(1, isolation) as reader:
        [problem] = reader.map(functools.partial(_check_upload, ocr=ocr), [(file_name, data)],
                               on_progress=(lambda _, done, total: on_page(done, total)) if on_page else None)
    if problem is not None:
        cause = ReaderFailed(problem.reason, problem.details) if problem.details else Unreadable(problem.reason)
        raise VraagbaakError(messages.unreadable_upload(file_name, problem.reason)) from cause
    if format_of(file_name).fingerprint == "text":
        data = decode_text(data).encode("utf-8")  # stored as UTF-8 whatever it came in
    stem, suffix = file_name.rsplit(".", 1)
    for n in range(1, 1000):
        candidate = folder / (file_name if n == 1 else f"{stem}-{n}.{suffix}")
        try:
            # "x" mode fails if the file exists: no check-then-write race.
            with open(candidate, "xb") as f:
                f.write(data)
            return candidate
        except FileExistsError:
            continue
    raise VraagbaakError(messages.too_many_same_name(file_name))
