"""The exceptions users see: their messages are meant to be shown as they are."""

__all__ = ["VraagbaakError", "IndexLoadError", "build_command"]


class VraagbaakError(Exception):
    """A problem the user can fix (bad input, missing folder, stale index).

    The CLI prints ``str(error)`` on one line and exits with status 2; the web
    page shows it as a message. Programming errors stay ordinary exceptions.
    """


class IndexLoadError(VraagbaakError):
    """The index on disk is missing, damaged or was built differently: rebuild it."""


# The corpus folder an index folder was built from, written by every build
# (``FolderLocation.remember_corpus``): a repair command names it, so that it
# can be run as printed even when the index was built from another folder.
CORPUS_FILE = "CORPUS"


def build_command(index, *options: str) -> str:
    """``python -m vraagbaak build ...`` that rebuilds or repairs ``index`` (a folder, or a ``milvus:`` spec)."""
    import json
    import shlex
    from pathlib import Path

    words = ["python", "-m", "vraagbaak", "build"]
    if isinstance(index, str) and index.startswith("milvus:"):
        words += ["--store", index]
    else:
        try:
            corpus = json.loads((Path(index) / CORPUS_FILE).read_text(encoding="utf-8"))["corpus"]
            words += ["--corpus", str(corpus)]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unknown (an index of an older version, or a damaged file): the CLI's default corpus
        words += ["--index", str(index)]
    return " ".join(shlex.quote(w) for w in [*words, *options])
