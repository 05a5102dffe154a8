"""Where an index lives: ``--store FOLDER`` (the local store) or ``--store milvus:URI[#NAME]``.

A location opens the committed index for searching (``open``), and gives a
build what it needs: ``check_writable``, ``lock``, ``exists``, ``recover``
(clean up after a killed build), ``create`` (a writer for a new index) and
``update`` (a writer that changes the current one).

Both stores' readers answer the same calls, so ranking, answer choice and the
"no good match" rule exist once (``search.py``): ``dense_search``,
``passages``, ``sentence_similarities``, ``leads``, ``bm25``,
``lexical_candidates``, ``document_records``, ``documents``,
``passage_count``, ``config``, ``root``, ``updated``, ``warm_up``; a build
also reads ``document_passages``, ``passage_vector`` and ``sentence_vectors``
to reuse the vectors of unchanged text. Their writers take ``touch``,
``remove``, ``add`` and ``commit`` (or ``abort``).
"""

from __future__ import annotations

from pathlib import Path

from .milvus_store import MilvusLocation, MilvusStore
from .store import FolderLocation, LocalStore

__all__ = ["Location", "Store", "locate"]

Location = FolderLocation | MilvusLocation
Store = LocalStore | MilvusStore


def locate(spec: "str | Path | Location") -> Location:
    """``milvus:...`` -> a Milvus index; anything else is an index folder."""
    if isinstance(spec, (FolderLocation, MilvusLocation)):
        return spec
    if isinstance(spec, str) and spec.startswith("milvus:"):
        return MilvusLocation(spec)
    return FolderLocation(Path(spec))
