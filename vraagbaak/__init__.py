"""Vraagbaak: offline semantic search and question answering over Dutch texts.

    from vraagbaak import Index
    index = Index.build("corpus", "index")
    for hit in index.search("wat is preventie?", k=5):
        print(hit.rank, hit.score, hit.source, hit.answer)

The public API is what ``__all__`` names: the index and what its methods take
and return. Everything else may change between versions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "DEFAULT_MODEL",
    "BuildProgress",
    "BuildReport",
    "ChunkingSettings",
    "Hit",
    "Index",
    "IndexLoadError",
    "IsolationSettings",
    "LiveIndex",
    "Location",
    "OcrSettings",
    "RankingSettings",
    "Results",
    "View",
    "VraagbaakError",
    "register_embedder",
]

# Imported when first asked for, not with the package: a reading process
# (``isolation.py``) imports only the readers, and starts in a third of the time.
_HOME = {"Index": ".api", "ChunkingSettings": ".chunking", "DEFAULT_MODEL": ".embeddings", "register_embedder": ".embeddings",
         "IndexLoadError": ".errors", "VraagbaakError": ".errors", "BuildReport": ".build", "BuildProgress": ".progress",
         "Hit": ".search", "RankingSettings": ".search", "IsolationSettings": ".isolation", "LiveIndex": ".live",
         "Location": ".stores", "OcrSettings": ".ocr", "Results": ".view", "View": ".view"}

if TYPE_CHECKING:
    from .api import Index
    from .build import BuildReport
    from .chunking import ChunkingSettings
    from .embeddings import DEFAULT_MODEL, register_embedder
    from .errors import IndexLoadError, VraagbaakError
    from .isolation import IsolationSettings
    from .live import LiveIndex
    from .ocr import OcrSettings
    from .progress import BuildProgress
    from .search import Hit, RankingSettings
    from .stores import Location
    from .view import Results, View


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'vraagbaak' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name], __name__), name)
    globals()[name] = value
    return value
