"""Vraagbaak: offline semantic search and question answering over Dutch texts.

    from vraagbaak import Index
    index = Index.build("corpus", "index")
    for hit in index.search("wat is preventie?", k=5):
        print(hit.rank, hit.score, hit.source, hit.answer)

The public API is what ``__all__`` names: the index and what its methods take
and return. Everything else may change between versions.
"""

from .api import Index
from .build import BuildReport
from .chunking import ChunkingSettings
from .embeddings import DEFAULT_MODEL, register_embedder
from .errors import IndexLoadError, VraagbaakError
from .live import LiveIndex
from .ocr import OcrSettings
from .progress import BuildProgress
from .search import Hit, RankingSettings
from .stores import Location
from .view import Results, View

__all__ = [
    "DEFAULT_MODEL",
    "BuildProgress",
    "BuildReport",
    "ChunkingSettings",
    "Hit",
    "Index",
    "IndexLoadError",
    "LiveIndex",
    "Location",
    "OcrSettings",
    "RankingSettings",
    "Results",
    "View",
    "VraagbaakError",
    "register_embedder",
]
