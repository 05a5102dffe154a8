"""Reading the corpus folder: which files count, how they decode, their titles.

Offsets of passages later point into ``Document.text`` exactly as decoded here
(only a byte-order mark and Windows line ends are normalised), so a passage's
``start:end`` slice of the file's text is the passage.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .errors import VraagbaakError

__all__ = [
    "CorpusFile",
    "Document",
    "SUFFIXES",
    "MAX_UPLOAD_BYTES",
    "add_document",
    "decode_text",
    "list_corpus_files",
    "read_corpus",
    "read_document",
    "safe_file_name",
    "scan_corpus",
]

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder, with "/" separators
    title: str
    text: str
    sha256: str  # of the decoded text, so re-encoding a file alone is no change


class CorpusFile(NamedTuple):
    """A file found by ``scan_corpus`` (a tuple: made 100,000 times per build, it must be cheap)."""

    source: str  # path relative to the corpus folder, with "/" separators
    path: str  # a str, not a Path: making 100,000 Path objects costs more than the walk itself
    size: int  # from one stat, so a build can tell an unchanged file without reading it
    mtime_ns: int


def decode_text(raw: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else cp1252, the usual Dutch Windows encoding.

    cp1252 leaves five byte values undefined; a file using them is not text
    in any encoding we know and is refused.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ValueError("not UTF-8 or Windows-1252 text") from exc
        log.warning("decoded as Windows-1252 (not valid UTF-8)")
    if "\x00" in text:
        raise ValueError("contains NUL bytes: a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def document_title(text: str, path: str | Path) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return path.stem


def read_document(path: Path, source: str) -> Document:
    text = decode_text(path.read_bytes())
    return Document(source, document_title(text, path), text, hashlib.sha256(text.encode("utf-8")).hexdigest())


def list_corpus_files(folder: Path) -> list[tuple[str, Path]]:
    """(source, path) of every .txt/.md file under ``folder``, hidden ones skipped, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VraagbaakError(f"corpus folder not found: {folder}")
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in SUFFIXES and path.is_file():
            files.append((rel.as_posix(), path))
    return files


def scan_corpus(folder: Path) -> list[CorpusFile]:
    """Every .txt/.md file under ``folder`` with its size and modification time, sorted.

    Walks with ``os.scandir`` (one stat per file, nothing read), which is what
    lets an unchanged corpus of a hundred thousand files be recognised in
    about a second.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VraagbaakError(f"corpus folder not found: {folder}")
    files: list[CorpusFile] = []

    def walk(path: str, prefix: str) -> None:
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                if entry.is_dir():
                    walk(entry.path, f"{prefix}{name}/")
                elif name[name.rfind(".") :].lower() in SUFFIXES and entry.is_file():
                    st = entry.stat()
                    files.append(CorpusFile(prefix + name, entry.path, st.st_size, st.st_mtime_ns))

    walk(str(folder), "")
    files.sort()  # by source, the first field
    return files


def read_corpus(folder: Path, on_skip=None) -> list[Document]:
    """Read every usable document; a file that cannot be read is skipped with a warning.

    ``on_skip(source, reason)`` is called for each skipped file (default: log a warning),
    so one bad file never aborts a build.
    """
    documents = []
    for source, path in list_corpus_files(folder):
        try:
            doc = read_document(path, source)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            (on_skip or _warn_skip)(source, reason)
            continue
        if not doc.text.strip():
            (on_skip or _warn_skip)(source, "empty file")
            continue
        documents.append(doc)
    return documents


def _warn_skip(source: str, reason: str) -> None:
    log.warning("skipped %s: %s", source, reason)


# ------------------------------------------------------------- adding texts

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


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
        raise VraagbaakError(f"alleen .txt- en .md-bestanden kunnen worden toegevoegd, geen {suffix}")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:80] or "tekst"
    return slug + suffix


def add_document(folder: Path, name: str, data: bytes, size: int | None = None) -> Path:
    """Save an uploaded or pasted text into the corpus folder and return its path.

    The name is reduced to a safe file name; an existing file is never
    overwritten (a number is appended instead); only text up to 5 MB is taken.
    ``size`` is the file's real size when ``data`` holds only its first bytes.
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise VraagbaakError(f"de map met teksten bestaat niet: {folder}")
    # Messages in Dutch: they are shown on the (Dutch) web page.
    file_name = safe_file_name(name)
    size = len(data) if size is None else size
    if max(size, len(data)) > MAX_UPLOAD_BYTES:
        mb = f"{size / 1024 / 1024:.1f}".replace(".", ",")
        raise VraagbaakError(f"{file_name} is {mb} MB; maximaal 5 MB per bestand")
    try:
        text = decode_text(data)
    except ValueError as exc:
        raise VraagbaakError(f"{file_name} is geen tekstbestand ({exc})") from exc
    if not text.strip():
        raise VraagbaakError(f"{file_name} is leeg")
    stem, suffix = file_name.rsplit(".", 1)
    for n in range(1, 1000):
        candidate = folder / (file_name if n == 1 else f"{stem}-{n}.{suffix}")
        try:
            # "x" mode fails if the file exists: no check-then-write race.
            with open(candidate, "x", encoding="utf-8") as f:
                f.write(text)
            return candidate
        except FileExistsError:
            continue
    raise VraagbaakError(f"te veel bestanden met de naam {file_name}")
