"""Where an index lives: ``--store FOLDER`` (the local store) or ``--store milvus:URI[#NAME]``.

A location opens the committed index for searching (``open``), and gives a
build what it needs: ``check_writable``, ``lock``, ``exists``, ``recover``
(clean up after a killed build), ``create`` (a writer for a new index) and
``update`` (a writer that changes the current one). Both stores' readers
answer the same calls (``search.Searcher`` uses nothing else), so ranking,
answer choice and the "no good match" rule exist once.
"""

from __future__ import annotations

from pathlib import Path

from .milvus_store import MilvusLocation
from .store import FolderLocation

__all__ = ["Location", "locate"]

Location = FolderLocation | MilvusLocation


def locate(spec: "str | Path | Location") -> Location:
    """``milvus:...`` -> a Milvus index; anything else is an index folder."""
    if isinstance(spec, (FolderLocation, MilvusLocation)):
        return spec
    if isinstance(spec, str) and spec.startswith("milvus:"):
        return MilvusLocation(spec)
    return FolderLocation(Path(spec))
