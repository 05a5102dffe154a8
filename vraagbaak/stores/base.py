"""The storage contract: what every store answers, and the records they share.

Two stores implement it: the local index folder (``stores/local.py``) and
Milvus (``stores/milvus.py``). Ranking (``search.py``), building
(``build.py``) and the API talk to a store only through these calls, so a
filter, a fusion or access control is written once, not once per store; a
test can use an in-memory store (``tests/fake_store.py``) that follows the
same contract. The model is this project's own ``Embedder`` Protocol, and
txtai's ``ann/base.py``.

Three roles:

``Location``     where an index lives (``stores.locate``): opens the committed
                 index, gives a build a writer, recovers after a killed build.
``StoreReader``  a committed state, searched by many threads at once.
``StoreWriter``  one build's changes, made visible at once by ``commit``.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "DocumentRecord",
    "Documents",
    "Health",
    "Location",
    "Passage",
    "PassageHead",
    "StoreConfig",
    "StoreReader",
    "StoreWriter",
    "heads_of",
    "quantise_sentences",
    "text_key",
]

FORMAT_VERSION = 3


def text_key(model: str, prompt: str, text: str) -> int:
    """64 bits of SHA-256 of what is embedded: equal key, equal vector.

    A signed 64-bit integer fits an SQLite INTEGER; a collision among even ten
    million texts has a chance of about 3e-6.
    """
    digest = hashlib.sha256(f"{model}\x00{prompt}\x00{text}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little", signed=True)


def quantise_sentences(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 8-bit codes with one scale per row (cosine error ~1e-3, see BENCHMARKS.md).

    Written by hand because it is three lines of numpy; FAISS's scalar
    quantiser would need its own index object just to decode rows we gather.
    """
    vectors = np.asarray(vectors, np.float32)
    scale = np.abs(vectors).max(axis=1) / 127.0 if len(vectors) else np.zeros(0, np.float32)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return codes, scale


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class StoreConfig:
    """What built the index; an index only accepts an embedder that matches."""

    model: str
    dimension: int
    prompts: dict
    chunking: dict
    format_version: int = FORMAT_VERSION
    backend: str = ""  # "openvino-int8", "openvino-fp32" or "torch": int8 vectors differ slightly from fp32 ones
    ranking: dict | None = None  # search.RankingSettings the index was built with (None: an index of an earlier version)
    probes: dict | None = None  # embeddings.probe_vectors of the embedder that made it (None: an earlier version's)
    sentences: str = ""  # how sentence vectors were made: "late" from their passage's pass, "" each embedded alone

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "StoreConfig":
        return cls(**json.loads(text))


class DocumentRecord(NamedTuple):
    """A document as a store records it, read by name.

    A NamedTuple rather than a dataclass: a store makes one per document when
    it opens (``Documents``), and a hundred thousand of them load in a tenth
    of a second only as tuples (BENCHMARKS.md, "Loading the document records")."""

    source: str  # path relative to the corpus folder, "/" separators
    title: str
    sha256: str
    size: int  # bytes and modification time of the file when it was read:
    mtime_ns: int  # equal stat, unchanged file, without reading it
    first_row: int = 0  # its passages are rows first_row .. first_row + rows - 1
    rows: int = 0
    date: str = ""  # the day it was made, ISO "2024-03-12": as its metadata states, else its file's (``dates``); "" in an index of an earlier version until its next build


@dataclass(frozen=True)
class Passage:
    """A passage: as a build hands it to a store (``id`` -1, no source yet), and as a store returns it.

    One type both ways, so that compaction and vector reuse hand a stored
    passage straight back to a writer.
    """

    heading: str
    start: int  # offsets in the document's text
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute offsets in the document
    key: int  # text_key of the embedded passage text
    terms: str  # BM25 terms of title + text, space-separated: scoring a candidate needs no tokenizing
    pages: tuple[tuple[int, int], ...] = ()  # (offset, page) where its pages start, the first at ``start``; () if unpaged
    id: int = -1  # its row: the same number in SQLite, the vector files and FTS (-1: not stored yet)
    source: str = ""
    title: str = ""

    def page_at(self, offset: int) -> int | None:
        """The page (1-based) of the document that ``offset`` is on; None if it has no pages."""
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


class PassageHead(NamedTuple):
    """What ranking reads of a candidate passage (``StoreReader.passage_heads``).

    A hybrid question weighs some 300 candidates and shows five: a candidate's
    sentence offsets, pages and title are read only once it is shown
    (``StoreReader.passages``). Making 300 whole ``Passage`` records, their
    sentence offsets parsed from JSON, cost 1.8 ms a question (97,557 passages).
    A ``Passage`` has every field of it, so code that reads heads reads passages too."""

    id: int  # its row
    source: str
    start: int  # offsets in the document's text
    end: int
    heading: str
    text: str
    terms: str  # BM25 terms (``Passage.terms``)


def heads_of(passages: Iterable[Passage | None]) -> list[PassageHead | None]:
    """The heads of passages already read whole (for a store that reads every field at once anyway)."""
    return [None if p is None else PassageHead(p.id, p.source, p.start, p.end, p.heading, p.text, p.terms) for p in passages]


_as_record = tuple.__new__  # a row of a store's own query, in DocumentRecord's field order, as one: skips NamedTuple's argument handling


class Documents(Mapping):
    """source -> DocumentRecord of every document a store holds.

    Made from the rows a store reads (a query's cursor, or records), each in
    ``DocumentRecord``'s field order: a hundred thousand documents load in a
    tenth of a second or two (BENCHMARKS.md, "Loading the document records")."""

    def __init__(self, rows: Iterable[tuple]):
        # Python's cyclic garbage collector would otherwise walk the growing heap
        # about a hundred times while 100,000 records are made (it doubled the
        # load time); tuples of strings and numbers make no cycles to collect.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._records: dict[str, DocumentRecord] = {r[0]: _as_record(DocumentRecord, r) for r in rows}
        finally:
            if was_enabled:
                gc.enable()

    def __getitem__(self, source: str) -> DocumentRecord:
        return self._records[source]

    def get(self, source: str, default=None) -> DocumentRecord | None:
        return self._records.get(source, default)

    def __contains__(self, source) -> bool:
        return source in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def values(self):
        return self._records.values()

    def items(self):
        return self._records.items()

    def titles(self) -> dict[str, str]:
        return {source: r.title for source, r in self._records.items()}


class Health(NamedTuple):
    """What ``Location.health`` found: one line per problem, each ending in the
    command that repairs it, and the model the current index names (None: unreadable)."""

    problems: list[str]
    model: str | None


# ----------------------------------------------------------------- contract


@runtime_checkable
class StoreReader(Protocol):
    """A committed state of an index, opened for searching (thread-safe)."""

    config: StoreConfig
    root: "Path | str"  # the index folder, or the ``milvus:`` spec (for messages and repair commands)
    document_records: Documents  # source -> DocumentRecord
    passage_count: int  # live passages
    updated: str  # when the last build committed, ISO 8601

    @property
    def documents(self) -> dict[str, str]:
        """source -> title"""

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for."""

    def close(self) -> None: ...

    def dense_search(self, query: np.ndarray, k: int, within: "frozenset[str] | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """(cosines, rows) of the ``k`` nearest live passages; with ``within``, only
        passages of those sources, and still ``k`` whenever ``k`` exist there."""

    def dense_scores(self, query: np.ndarray, rows) -> np.ndarray:
        """The cosine of ``query`` with each of these passage rows."""

    def lexical_candidates(self, terms: list[str], limit: int, within: "frozenset[str] | None" = None, *,
                           pool: bool = False) -> np.ndarray:
        """The ``limit`` live rows richest in the question's rare terms (of the sources ``within``, if given);
        ``pool``: candidates for hybrid ranking, where a store may leave out terms too common to read at its scale."""

    def lexical_stats(self, terms: list[str]) -> tuple[dict[str, int], int, float]:
        """(passages holding each term, live passages, mean passage length in terms)."""

    def bm25(self, terms: list[str], rows, passages: list[Passage]) -> np.ndarray:
        """BM25 of each candidate passage, with this store's term statistics."""

    def passages(self, rows) -> list[Passage | None]:
        """The passages at ``rows`` (None for a row removed since this store was opened)."""

    def passage_heads(self, rows) -> list[PassageHead | None]:
        """What ranking reads of the passages at ``rows`` (None as in ``passages``)."""

    def document_passages(self, source: str) -> list[Passage]: ...

    def sentence_similarities(self, query: np.ndarray, rows) -> list[np.ndarray]:
        """Per row, the cosine of ``query`` with each of its sentences."""

    def leads(self, rows) -> np.ndarray:
        """1.0 for a row that opens its document, else 0.0."""

    def passage_vector(self, row: int) -> np.ndarray: ...

    def sentence_vectors(self, row: int) -> np.ndarray: ...


@runtime_checkable
class StoreWriter(Protocol):
    """One build's changes, made visible at once by ``commit`` (or dropped by ``abort``)."""

    live_rows: int  # passages the index will hold when committed

    def touch(self, record: DocumentRecord) -> None:
        """Same text: remember its new size and modification time, and its date (when given)."""

    def remove(self, source: str) -> None: ...

    def add(self, record: DocumentRecord, passages: list[Passage], vectors: np.ndarray, sentence_vectors: list[np.ndarray]) -> None:
        """Append a document's passages, in order, with their vectors."""

    def checkpoint(self, publish: bool) -> None:
        """Commit the whole documents written so far and carry on (``publish``: a first build shows them at once)."""

    def commit(self) -> StoreReader:
        """Make every change visible at once; return the committed store."""

    def abort(self) -> None: ...

    def tidy(self, committed: StoreReader) -> StoreReader | None:
        """After ``commit``: a compacted copy when removed rows pile up, else None."""


@runtime_checkable
class Location(Protocol):
    """Where an index lives: a folder, or a Milvus collection."""

    error_log: Path  # where tracebacks of skipped files go
    upload_folder: Path  # where the web page's uploads wait until they are added (emptied at each start)

    def check_writable(self) -> None: ...

    def lock(self):
        """A context manager held for a whole build: one writer at a time."""

    def exists(self) -> bool: ...

    def recover(self) -> str | None:
        """Clean up after a killed build; a line saying what was done, or None."""

    def remember_corpus(self, corpus_dir: Path) -> None:
        """Note the corpus folder, for the repair commands errors name."""

    def recorded_corpus(self) -> Path | None:
        """The corpus folder the last build noted (absolute), or None where none is kept."""

    def open(self) -> StoreReader: ...

    def unfinished(self) -> StoreReader | None:
        """A checkpointed new generation a killed build left, to continue."""

    def discard(self, store: StoreReader) -> None: ...

    def create(self, config: StoreConfig) -> StoreWriter:
        """A writer for a new index (first build, other model or chunking)."""

    def update(self, store: StoreReader) -> StoreWriter:
        """A writer that changes ``store``."""

    def health(self) -> Health:
        """Read the whole index and say what is wrong (``vraagbaak check``)."""

    def build_command(self, *options: str) -> str:
        """The ``python -m vraagbaak build ...`` line that builds or repairs this index (for messages)."""


def build_line(*words: str) -> str:
    """``python -m vraagbaak build WORDS`` as one shell line, each word quoted as needed."""
    import shlex

    return " ".join(shlex.quote(str(w)) for w in ["python", "-m", "vraagbaak", "build", *words])
