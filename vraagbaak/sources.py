"""Opening a hit's source file: which file a link may reach, and how it is sent.

The page links every hit to ``bron/<source>#page=N``. Only a file the index
holds is ever sent, and only from the corpus folder: a request is matched
against the index's own list of sources (so no ``..``, absolute or encoded
path can name anything else), and the file must resolve to exactly that path
under the corpus folder (so a symlink cannot lead out of it).
"""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path, PurePosixPath
from urllib.parse import quote

__all__ = ["SOURCE_ROUTE", "disposition", "link", "media_type", "resolve_source"]

SOURCE_ROUTE = "bron"  # relative to the page, so that it works behind a proxy's sub-path too

# How each type opens: PDFs and text in the browser, HTML as text in a sandbox
# (a stored page's scripts must not run in Vraagbaak's origin), Word and
# OpenDocument files as a download, which the user's office program opens.
_INLINE_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
}
_DOWNLOAD_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
}


def link(source: str, page: int | None = None, *, base: str = SOURCE_ROUTE) -> str:
    """Where a source opens: ``base/source`` (URL-quoted), at ``#page=N`` for a PDF page.

    With a folder as ``base`` (the CLI) the path is left unquoted, as a user types it.
    """
    target = f"{base}/{quote(source)}" if base == SOURCE_ROUTE else str(Path(base) / source)
    return target + (f"#page={page}" if page is not None and source.lower().endswith(".pdf") else "")


def resolve_source(corpus_dir: str | Path, requested: str, known: Container[str]) -> Path | None:
    """The file to send for ``requested``, or None when it must not be sent.

    ``known``: the sources this user may open (the index's documents, narrowed
    to a user's collections). The request must name one of them exactly, and
    the file must be a regular file whose real path is that path inside the
    real corpus folder: no symlink anywhere on the way.
    """
    if not requested or "\\" in requested or "\x00" in requested or requested not in known:
        return None
    parts = requested.split("/")  # not PurePosixPath.parts, which silently drops "." and "//"
    if PurePosixPath(requested).is_absolute() or any(p in ("", ".", "..") for p in parts):
        return None
    root = Path(corpus_dir).resolve()
    candidate = root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != candidate or not real.is_file():
        return None
    return real


def media_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return _INLINE_TYPES.get(suffix) or _DOWNLOAD_TYPES.get(suffix) or "application/octet-stream"


def disposition(path: Path) -> str:
    """"inline" for what the browser shows, "attachment" for what it downloads."""
    return "inline" if path.suffix.lower() in _INLINE_TYPES else "attachment"
