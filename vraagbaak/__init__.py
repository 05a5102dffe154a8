"""Vraagbaak: offline semantic search and question answering over Dutch texts.

    from vraagbaak import Index
    index = Index.build("corpus", "index")
    for hit in index.search("wat is preventie?", k=5):
        print(hit.rank, hit.score, hit.source, hit.answer)
"""

from .api import Index
from .chunking import ChunkingSettings
from .embeddings import DEFAULT_MODEL, register_embedder
from .errors import IndexLoadError, VraagbaakError
from .build import BuildReport
from .search import Hit

__all__ = [
    "DEFAULT_MODEL",
    "BuildReport",
    "ChunkingSettings",
    "Hit",
    "Index",
    "IndexLoadError",
    "VraagbaakError",
    "register_embedder",
]
