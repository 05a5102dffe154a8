"""The local store: an index folder whose write cost follows the change.

Layout of an index folder::

    CURRENT                 {"format_version": 3, "generation": "g000001"}
    g000001/
        store.sqlite        documents, passages (texts, offsets), settings,
                            counters, and a full-text index of word stems
        passages.f16        one float16 vector per passage row (memory-mapped)
        passages.sent       per passage row: its first sentence row and count
        sentences.i8        one int8 vector per sentence (8-bit, per-row scale)
        sentences.scale     float32 scale of each sentence row
        ann-<n>.faiss       approximate (HNSW) index of the first rows, once
                            the store is large enough (``StoreSettings.ann_min_rows``)

Writes. Vector files are append-only; rows past the counts committed in
SQLite are garbage from an interrupted build and are cut off by the next
writer. One SQLite transaction commits a build's documents, passages and
counters together, after the appended vectors are fsynced, so a crash at any
moment leaves the last committed state. A removed document's rows become
tombstones (no passage row points at them any more) until compaction writes a
new generation without them and swaps ``CURRENT`` (one ``os.replace``), as a
first build, a new model or new chunking settings do. Nothing is pickled.

Reads. A reader maps the vector files and keeps only per-document facts in
memory (row ranges and titles); passage texts stay in SQLite and are fetched
for the few rows a question needs. SQLite runs in WAL mode, so readers keep
answering while a writer commits.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .. import messages
from ..errors import IndexLoadError, VraagbaakError
from ..lexical import idf, stored_scores, term_length
from .base import (FORMAT_VERSION, DocumentRecord, Documents, Health, Passage, PassageHead, StoreConfig, build_line,
                   quantise_sentences)

__all__ = ["FolderLocation", "LocalStore", "LocalWriter", "StoreSettings", "index_exists", "new_ann_index", "ann_search_parameters"]

CURRENT = "CURRENT"
# A new generation that a build has checkpointed but not finished, while CURRENT
# still names the old one (another model or chunking): kept by recovery, and
# continued by the next build that wants the same model and chunking.
NEXT = "NEXT"
DB = "store.sqlite"
ERROR_LOG = "errors.log"  # tracebacks of files skipped because a reader failed (build.log_failure)


@dataclass(frozen=True)
class StoreSettings:
    """The local store's knobs, carried by its ``FolderLocation`` to readers and writers."""

    # Exact search below this many passage rows, HNSW above. Measured on these
    # 2-core machines (BENCHMARKS.md): exact search costs about 0.15 ms per 1,000
    # rows (14 ms at 97,559), growing linearly, and keeps the rows in memory as
    # float32; HNSW answers in about a millisecond at any size we measured and
    # costs about 3 s per 20,000 rows to build, once. At 20,000 rows exact search
    # still takes ~3 ms, so below it HNSW would buy nothing worth its build.
    ann_min_rows: int = 20_000
    ann_max_delta: int = 20_000  # rows added since the HNSW index was written before it is extended
    ann_m: int = 32  # HNSW graph degree, build effort and search breadth (benchmarks/ann_recall.py)
    ann_ef_construction: int = 80
    ann_ef_search: int = 400  # at least 2 k
    compact_dead_share: float = 0.25  # compact when a quarter of the rows are tombstones ...
    compact_min_dead: int = 1_000  # ... and there are at least this many
    # Hybrid mode's BM25 candidates read the full-text posting list of each
    # question term, about 0.4 µs a row: at 1M passages a question's terms
    # held 295,000 rows (median), 122 ms. For the pool, terms are read rarest
    # first while their lists together stay within this many rows (about 10 ms);
    # the commoner terms, which weigh least in BM25, are left out. Every
    # candidate is still scored on all terms. Corpora under ~10,000 passages
    # never reach it. Lexical mode reads every list.
    lexical_pool_postings: int = 25_000
    # A reader maps the first this many bytes of the SQLite file into memory
    # (PRAGMA mmap_size) rather than reading each 16 KB page with a system call into
    # SQLite's 2 MB page cache: a hybrid question reads some 300 passage rows
    # scattered over the file. At 97,557 passages (a 150 MB file, all mapped) hybrid
    # p50 0.92x, lexical 0.89x; at 976,188 (1.6 GB) mapping it all gave only 0.96x,
    # each page's first touch costing about what a read does (BENCHMARKS.md, issue 39).
    # The mapped pages are the operating system's file cache, shared and given back
    # under memory pressure, but resident memory (RSS) counts those touched: 600
    # questions at 1M touched nearly the whole file (+1.4 GB RSS when all mapped),
    # hence the cap. The file only grows (no VACUUM), so a mapping never loses pages.
    sqlite_mmap_bytes: int = 256 * 2**20


# The corpus folder an index folder was built from, written by every build
# (``FolderLocation.remember_corpus``): a repair command names it, so that it
# can be run as printed even when the index was built from another folder.
CORPUS_FILE = "CORPUS"


def build_command(root: str | Path, *options: str) -> str:
    """``python -m vraagbaak build --corpus C --index ROOT OPTIONS`` for the index folder ``root``."""
    corpus = recorded_corpus(root)
    words = ["--corpus", str(corpus)] if corpus is not None else []  # unknown: the CLI's default corpus
    return build_line(*words, "--index", str(root), *options)


def recorded_corpus(root: str | Path) -> Path | None:
    """The corpus folder the index folder's last build noted, or None (an index of an older version, or a damaged file)."""
    try:
        return Path(json.loads((Path(root) / CORPUS_FILE).read_text(encoding="utf-8"))["corpus"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


_as_head = PassageHead._make  # a row of passage_heads' query, already in the head's field order


def _pages_to_json(pages, start: int) -> str:
    return json.dumps([[a - start, n] for a, n in pages], separators=(",", ":")) if pages else ""


def _pages_from_json(text: str, start: int) -> tuple[tuple[int, int], ...]:
    return tuple((a + start, n) for a, n in json.loads(text)) if text else ()


def index_exists(root: str | Path) -> bool:
    return (Path(root) / CURRENT).is_file()


# ------------------------------------------------------------- vector files


class _VectorFile:
    """A file of fixed-width rows, appended to and memory-mapped."""

    def __init__(self, path: Path, dtype, width: int):
        self.path, self.dtype, self.width = path, np.dtype(dtype), width
        self.row_bytes = self.dtype.itemsize * max(width, 1)

    def map(self, rows: int) -> np.ndarray:
        shape = (rows, self.width) if self.width else (rows,)
        if rows == 0:
            return np.zeros(shape, self.dtype)
        if not self.path.is_file() or self.path.stat().st_size < rows * self.row_bytes:
            raise ValueError(f"{self.path.name} is shorter than its {rows} committed rows")
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=shape)

    def open_append(self, committed_rows: int):
        """Open for appending after cutting off rows an interrupted build left."""
        f = open(self.path, "a+b")
        f.truncate(committed_rows * self.row_bytes)
        f.seek(0, os.SEEK_END)
        return f


def _vector_files(folder: Path, dimension: int) -> dict[str, _VectorFile]:
    return {
        "vectors": _VectorFile(folder / "passages.f16", np.float16, dimension),
        "ranges": _VectorFile(folder / "passages.sent", np.int64, 2),  # first sentence row, count
        "codes": _VectorFile(folder / "sentences.i8", np.int8, dimension),
        "scale": _VectorFile(folder / "sentences.scale", np.float32, 0),
    }


# ------------------------------------------------------------------ schema

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    first_row INTEGER NOT NULL, rows INTEGER NOT NULL, lexical_length INTEGER NOT NULL, date TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, heading TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    sentences TEXT NOT NULL, key INTEGER NOT NULL, terms TEXT NOT NULL, pages TEXT NOT NULL DEFAULT '');
CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(stems, content='', detail=none);
CREATE VIRTUAL TABLE IF NOT EXISTS lexical_terms USING fts5vocab(lexical, 'row');
"""
_COUNTERS = ("rows", "sentence_rows", "dead_rows", "lexical_tokens")
_DOCUMENT_COLUMNS = "source, title, sha256, size, mtime_ns, first_row, rows, date"  # the fields of DocumentRecord, in order


def _document_columns(con: sqlite3.Connection) -> str:
    """``_DOCUMENT_COLUMNS``, with "" for a date in an index written before documents had one (its next build adds them)."""
    has_date = "date" in {r[1] for r in con.execute("PRAGMA table_info(documents)")}
    return _DOCUMENT_COLUMNS if has_date else _DOCUMENT_COLUMNS.replace("date", "'' AS date")


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # A folder nobody may write to cannot hold WAL's shared-memory file;
        # nothing can change such an index, so it may be read as immutable.
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    else:
        con = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 10000")
    return con


def _read_current(root: Path) -> str:
    try:
        current = json.loads((root / CURRENT).read_text(encoding="utf-8"))
        version, generation = current.get("format_version"), current["generation"]
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise IndexLoadError(messages.index_damaged(root, f"{CURRENT} is onleesbaar", build_command(root))) from exc
    if version != FORMAT_VERSION:
        raise IndexLoadError(messages.index_format_differs(root, version, FORMAT_VERSION, build_command(root)))
    return generation


def _missing_index_error(root: Path) -> IndexLoadError:
    if (root / "manifest.json").is_file():  # written by Vraagbaak 0.1 (format 2)
        return IndexLoadError(messages.index_format_differs(root, "2 (Vraagbaak 0.1)", FORMAT_VERSION, build_command(root)))
    return IndexLoadError(messages.index_missing(root, build_command(root)))


# ------------------------------------------------------------------ reader


class LocalStore:
    """A committed state of an index folder, opened for searching."""

    def __init__(self, root: Path, generation: str, con: sqlite3.Connection, document_rows: list[tuple] | None = None,
                 settings: StoreSettings = StoreSettings()):
        self.root, self.generation, self.settings = root, generation, settings
        self.folder = root / generation
        self._con, self._lock = con, threading.Lock()
        con.execute(f"PRAGMA mmap_size = {int(settings.sqlite_mmap_bytes)}")
        self._df: dict[str, int] = {}  # passages holding each term, as first read by this reader (lexical_stats)
        meta = dict(con.execute("SELECT key, value FROM meta"))
        self.config = StoreConfig.from_json(meta["config"])
        self.counts = {name: int(meta.get(name, 0)) for name in _COUNTERS}
        self.ann_file, self.ann_rows = meta.get("ann_file", ""), int(meta.get("ann_rows", 0))
        self.updated = meta.get("updated", "")
        self._load_documents(document_rows)
        files = _vector_files(self.folder, self.config.dimension)
        committed = json.loads(meta.get("vector_bytes", "{}"))
        rows = {"vectors": self.counts["rows"], "ranges": self.counts["rows"]}
        rows.update(codes=self.counts["sentence_rows"], scale=self.counts["sentence_rows"])
        for name, f in files.items():  # e.g. a dimension that does not fit what was written
            if committed.get(name) != rows[name] * f.row_bytes:
                raise ValueError(f"{f.path.name} holds {committed.get(name)} committed bytes, not {rows[name]} rows")
        # Plain arrays over the mapped files: np.memmap's own indexing costs Python time on every gather
        # (about 1 ms of a hybrid question's 1,200 gathers), the plain view keeps the mapping alive and the same pages.
        self.vectors = np.asarray(files["vectors"].map(rows["vectors"]))
        self.sentence_ranges = np.asarray(files["ranges"].map(rows["ranges"]))
        self.sentence_codes = np.asarray(files["codes"].map(rows["codes"]))
        self.sentence_scale = np.asarray(files["scale"].map(rows["scale"]))
        self._exact = None  # float32 rows searched exactly (all, or those after the ANN index)
        # Indexes written before PDFs were read have no page column (added then, no format change).
        columns = {r[1] for r in con.execute("PRAGMA table_info(passages)")}
        self._pages_column = "p.pages" if "pages" in columns else "''"
        self._ann = None

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, root: str | Path, document_rows: list[tuple] | None = None, settings: StoreSettings = StoreSettings()) -> "LocalStore":
        """Open the current generation; ``document_rows`` (from the writer that
        just committed it) spares reading the documents table again."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise IndexLoadError(messages.index_is_a_file(root))
        if not (root / CURRENT).is_file():
            raise _missing_index_error(root)
        generation = _read_current(root)
        path = root / generation / DB
        try:
            if not path.is_file():
                raise OSError(f"{path} is missing")
            try:
                con = _connect(path)
                con.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
            except sqlite3.OperationalError:
                if os.access(path.parent, os.W_OK):
                    raise
                con = _connect(path, readonly=True)
            return cls(root, generation, con, document_rows, settings)
        except IndexLoadError:
            raise
        except Exception as exc:  # any failure to read our own files means damage
            raise IndexLoadError(messages.index_damaged(root, f"{type(exc).__name__}: {exc}", build_command(root))) from exc

    def close(self) -> None:
        """Let go of the SQLite connection (the mapped vectors go with the object)."""
        self._con.close()

    def _load_documents(self, rows: list[tuple] | None = None) -> None:
        if rows is None:
            rows = self._con.execute(f"SELECT {_document_columns(self._con)} FROM documents")  # Documents reads the cursor
        self.document_records = records = Documents(rows)
        n = self.counts["rows"]
        first = np.fromiter((r.first_row for r in records.values()), np.int64, len(records))
        count = np.fromiter((r.rows for r in records.values()), np.int64, len(records))
        if len(records) and int((first + count).max()) > n:
            raise ValueError(f"a document points past the {n} committed rows")
        # Live rows are the union of the documents' ranges: +1 at each start, -1 after each end.
        marks = np.zeros(n + 1, np.int64)
        np.add.at(marks, first, 1)
        np.add.at(marks, first + count, -1)
        self.alive = np.cumsum(marks[:-1]) > 0
        self.is_lead = np.zeros(n, np.float32)
        self.is_lead[first[count > 0]] = 1.0
        self.passage_count = int(count.sum())
        # Each row's document (source, title), found by its row: a passage read needs no join with the documents table
        order = np.lexsort((count, first))  # by first row; an empty document before the one that starts where it would
        self._document_starts, self._document_ends = first[order], (first + count)[order]
        listed = list(records.values())  # in the order of ``first`` and ``count``
        self._document_names = [(listed[i].source, listed[i].title) for i in order.tolist()]

    def _query(self, sql: str, params: Iterable = ()):
        with self._lock:
            return self._con.execute(sql, tuple(params)).fetchall()

    # -------------------------------------------------------------- facts

    @property
    def documents(self) -> dict[str, str]:
        return self.document_records.titles()

    def document_range(self, source: str) -> tuple[int, int]:
        r = self.document_records[source]
        return r.first_row, r.first_row + r.rows

    # -------------------------------------------------------------- dense

    def _exact_rows(self) -> tuple[int, np.ndarray]:
        """(first row, float32 matrix) of the rows not covered by the ANN index."""
        if self._exact is None:
            lo = self.ann_rows if self.ann_file else 0
            self._exact = (lo, np.asarray(self.vectors[lo:], dtype=np.float32))
        return self._exact

    def _ann_index(self):
        if self._ann is None and self.ann_file:
            import faiss

            self._ann = faiss.read_index(str(self.folder / self.ann_file))
        return self._ann

    def warm_up(self) -> None:
        self._exact_rows()
        self._ann_index()

    def allowed_rows(self, within: frozenset[str] | None) -> np.ndarray:
        """Live rows as a mask, narrowed to the documents ``within`` (None: all)."""
        if within is None:
            return self.alive
        mask = np.zeros(len(self.alive), bool)
        for source in within:
            a, b = self.document_range(source)
            mask[a:b] = True
        return mask & self.alive

    def dense_search(self, query: np.ndarray, k: int, within: frozenset[str] | None = None):
        """(cosines, rows) of the ``k`` nearest live passages, of the documents ``within`` if given.

        Rows past the HNSW index are scored exactly; the rows it covers are
        searched in the graph with the allowed rows as a selector, so a narrow
        filter still finds ``k`` hits when ``k`` exist. A scope small enough to
        score exactly (fewer than ``ann_min_rows`` rows) skips the graph: there,
        exact is as fast and never misses.
        """
        query = np.asarray(query, np.float32).reshape(-1)
        allowed = self.allowed_rows(within)
        if within is not None and (not self.ann_file or int(allowed.sum()) < self.settings.ann_min_rows):
            rows = np.flatnonzero(allowed)
            best_scores, best_rows = _top_k(_cosines(self.vectors[rows], query), k)
            return best_scores, rows[best_rows]
        lo, exact = self._exact_rows()
        scores = _cosines(exact, query)
        scores[~allowed[lo:]] = -np.inf
        best_scores, best_rows = _top_k(scores, k, offset=lo)
        if self.ann_file and lo > 0:
            ann_rows = self._ann_candidates(query, k, allowed[:lo])
            if len(ann_rows):  # re-scored exactly: HNSW's 8-bit distances only choose candidates
                ann_scores = _cosines(self.vectors[ann_rows], query)
                best_scores = np.concatenate([best_scores, ann_scores])
                best_rows = np.concatenate([best_rows, ann_rows])
                order = np.argsort(-best_scores, kind="stable")[:k]
                best_scores, best_rows = best_scores[order], best_rows[order]
        return best_scores, best_rows

    def _ann_candidates(self, query: np.ndarray, k: int, allowed: np.ndarray) -> np.ndarray:
        """Up to ``k`` graph neighbours of ``query`` among the ``allowed`` rows the HNSW index covers."""
        import faiss

        index = self._ann_index()
        want = min(k, int(allowed.sum()))
        if want == 0:
            return np.zeros(0, np.int64)
        params = ann_search_parameters(k, self.settings)
        if not allowed.all():  # skip tombstones and rows outside the filter during the graph search
            bitmap = np.packbits(allowed, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
            params._bitmap = bitmap  # keep the buffer alive while FAISS reads it
        _, rows = index.search(query.reshape(1, -1), want, params=params)
        rows = rows[0]
        rows = rows[rows >= 0].astype(np.int64)
        if len(rows) < want:  # a very selective filter can cut the graph apart: score those rows exactly
            candidates = np.flatnonzero(allowed)
            best = _top_k(_cosines(self.vectors[candidates], query), want)[1]
            rows = candidates[best]
        return rows

    # ---------------------------------------------------------- passages

    def passages(self, rows) -> list[Passage | None]:
        """The passages at ``rows`` (None for a row removed since this store was opened)."""
        rows = [int(r) for r in rows]
        found = {}
        for records in self._passage_rows("p.id, p.doc, p.heading, p.start, p.\"end\", p.text, p.sentences, p.key, p.terms, "
                                          f"{self._pages_column}", rows):
            offsets = json.loads("[" + ",".join(r[6] for r in records) + "]")  # one parse for all: 25 µs a call saved
            for r, (source, title), spans in zip(records, self._names_of([r[0] for r in records]), offsets):
                start = r[3]
                spans = tuple([(a + start, b + start) for a, b in spans])
                found[r[0]] = Passage(r[2], start, r[4], r[5], spans, r[7], r[8], _pages_from_json(r[9], start), id=r[0], source=source, title=title)
        return [found.get(r) for r in rows]

    def passage_heads(self, rows) -> list[PassageHead | None]:
        """What ranking reads of the passages at ``rows``: no sentence offsets to parse, no pages, no title."""
        rows = [int(r) for r in rows]
        found = {}
        for records in self._passage_rows('p.id, p.start, p."end", p.heading, p.text, p.terms', rows):
            for r, (source, _) in zip(records, self._names_of([r[0] for r in records])):
                found[r[0]] = _as_head((r[0], source, *r[1:]))
        return [found.get(r) for r in rows]

    def _passage_rows(self, columns: str, rows: list[int]) -> Iterator[list[tuple]]:
        """The ``columns`` of the passage table's ``rows`` that exist, in chunks (any order)."""
        for lo in range(0, len(rows), 500):  # SQLite's limit on bound parameters
            chunk = rows[lo : lo + 500]
            yield self._query(f"SELECT {columns} FROM passages p WHERE p.id IN ({','.join('?' * len(chunk))})", chunk)

    def _names_of(self, rows: list[int]) -> list[tuple[str, str]]:
        """(source, title) of the document of each row (rows of this committed state; any other, from the table)."""
        at = np.searchsorted(self._document_starts, rows, side="right") - 1
        names = [self._document_names[i] if i >= 0 and row < self._document_ends[i] else None for i, row in zip(at.tolist(), rows)]
        for n, row in enumerate(rows):
            if names[n] is None:  # not a row this reader knows: ask SQLite
                names[n] = tuple(self._query("SELECT d.source, d.title FROM passages p JOIN documents d ON d.id = p.doc WHERE p.id = ?", (row,))[0])
        return names

    def document_passages(self, source: str) -> list[Passage]:
        a, b = self.document_range(source)
        return [p for p in self.passages(range(a, b)) if p is not None]

    def sentence_vectors(self, row: int) -> np.ndarray:
        start, count = (int(x) for x in self.sentence_ranges[row])
        codes = np.asarray(self.sentence_codes[start : start + count], np.float32)
        return codes * self.sentence_scale[start : start + count, None]

    def sentence_similarities(self, query: np.ndarray, rows) -> list[np.ndarray]:
        """Per row, the cosine of ``query`` with each of its sentences.

        One gather of every candidate's sentence codes and one product, then cut
        per row: a loop over 300 hybrid candidates, a product each, cost about
        3 ms of numpy overhead at any store size.
        """
        query = np.asarray(query, np.float32).reshape(-1)
        rows = np.asarray(rows, np.int64).reshape(-1)
        if not len(rows):
            return []
        ranges = np.asarray(self.sentence_ranges[rows], np.int64).reshape(-1, 2)
        counts = ranges[:, 1]
        ends = np.cumsum(counts)
        sentence_rows = np.repeat(ranges[:, 0] - (ends - counts), counts) + np.arange(int(ends[-1]))
        sims = (_cosines(self.sentence_codes[sentence_rows], query) * self.sentence_scale[sentence_rows]).astype(np.float32)
        return [sims[b - c : b] for b, c in zip(ends.tolist(), counts.tolist())]  # (np.split costs 10 µs a piece)

    def passage_vector(self, row: int) -> np.ndarray:
        return np.asarray(self.vectors[row], np.float32)

    def dense_scores(self, query: np.ndarray, rows) -> np.ndarray:
        """The cosine of ``query`` with each of these passage rows (candidates found otherwise)."""
        rows = np.asarray(rows, np.int64)
        return _cosines(self.vectors[rows], np.asarray(query, np.float32).reshape(-1)) if len(rows) else np.zeros(0, np.float32)

    def leads(self, rows) -> np.ndarray:
        """1.0 for a row that opens its document, else 0.0."""
        return self.is_lead[np.asarray(rows, np.int64)]

    # ----------------------------------------------------------- lexical

    def lexical_stats(self, terms: list[str]) -> tuple[dict[str, int], int, float]:
        """(document frequency of each term, live passages, mean passage length in terms).

        Each term's count is read once per reader and kept: a lookup in the
        fts5vocab table costs about 1.2 ms at 1M passages, and a hybrid question
        needs the counts three times (its pool, BM25, the answer's term weights).
        """
        known = self._df  # this call's own reference: another search thread may start the cache afresh meanwhile
        if len(known) > _DF_CACHE_TERMS:
            known = self._df = {}
        for term in set(terms) - known.keys():
            found = self._query("SELECT doc FROM lexical_terms WHERE term = ?", (term,))
            known[term] = int(found[0][0]) if found else 0
        df = {term: known[term] for term in set(terms) if known[term]}
        n = self.passage_count
        return df, n, (self.counts["lexical_tokens"] / n if n else 0.0)

    def bm25(self, terms: list[str], rows, passages: list[Passage]) -> np.ndarray:
        """BM25 of each candidate passage, with this store's term statistics."""
        df, n, mean_length = self.lexical_stats(terms)
        return stored_scores(terms, [p.terms for p in passages], df, n, mean_length)

    def lexical_candidates(self, terms: list[str], limit: int, within: frozenset[str] | None = None, *,
                           pool: bool = False) -> np.ndarray:
        """The ``limit`` rows richest in the question's rare terms, for exact BM25 scoring.

        A row scores the summed IDF of the question terms it holds: BM25 without
        term counts and lengths, which the full-text index (detail=none, to stay
        small) does not keep; for the same reason FTS5's own ``rank`` is 0 for
        every row, so it cannot choose. ``pool`` (hybrid mode's candidates): only
        the rarest terms whose lists fit ``StoreSettings.lexical_pool_postings``.

        The posting lists are read rarest first, and the commoner ones only as far
        as they can still change the answer (MaxScore: Turtle & Flood 1995, "Query
        evaluation: strategies and optimizations"): once ``limit`` rows hold more
        than every unread term's weight together, no row outside them can enter,
        and the unread terms are looked up only among the rows read (an FTS5 AND,
        which skips through a long list instead of reading it). The rows and their
        order are those of reading every list (ties by row); at 1M passages a
        question's commoner terms held 295,000 rows (median), 122 ms to read.
        """
        df, n, _ = self.lexical_stats(terms)
        allowed = self.allowed_rows(within)
        counts = Counter(t for t in terms if t in df)
        if pool:
            counts = rarest_within(counts, df, self.settings.lexical_pool_postings)
        weight = {t: c * idf(df[t], n) for t, c in counts.items()}
        order = sorted(weight, key=lambda t: (df[t], t))  # rarest first: the heaviest terms and the shortest lists
        lists, unique, scores = [], np.zeros(0, np.int64), np.zeros(0)
        for i, term in enumerate(order):
            unread = sum(weight[t] for t in order[i:])
            if i and len(scores) >= limit and float(np.partition(scores, len(scores) - limit)[len(scores) - limit]) > unread:
                read = " OR ".join(map(_phrase, order[:i]))
                for common in order[i:]:  # only among the rows read: which hold it
                    found = self._rowids(f"({read}) AND {_phrase(common)}")
                    scores[np.searchsorted(unique, found[np.isin(found, unique, assume_unique=True)])] += weight[common]
                break
            found = self._rowids(_phrase(term))
            found = found[found < len(allowed)]  # rows a later build added are not this reader's
            lists.append((found[allowed[found]], weight[term]))
            unique, scores = add_postings(unique, scores, lists)
        return best_rows(unique, scores, limit)

    def _rowids(self, expression: str) -> np.ndarray:
        """The rows of the full-text index that match an FTS5 query ``expression``.

        As one comma-separated string, parsed by numpy: a Python tuple a row cost
        about 4 times as much (a list of 31,000 rows: 57 against 15 ms under load).
        """
        found = self._query("SELECT group_concat(rowid) FROM lexical WHERE lexical MATCH ?", [expression])[0][0]
        return np.fromstring(found, dtype=np.int64, sep=",") if found else np.zeros(0, np.int64)


def _phrase(term: str) -> str:
    """A term as an FTS5 string (quoted: a stem may be an FTS5 keyword such as "or")."""
    return '"' + term.replace('"', '""') + '"'


_DF_CACHE_TERMS = 200_000  # distinct terms a reader keeps counts of (a few MB) before it starts afresh


def add_postings(unique: np.ndarray, scores: np.ndarray, lists: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The rows read and their summed weights once the last of ``lists`` ((rows, weight) of each
    term read, in order) is added to ``unique`` (sorted) and ``scores`` (their sums over the others).

    FTS5 gives a posting list in ascending rows: it is merged into the rows read so far,
    in time linear in both, where sorting every row read after each term cost 5 ms of a
    lexical question at 1M passages. Each row sums its weights in term order either way
    (what ``np.bincount`` over all the lists adds up). A list not strictly ascending (the
    SQL does not promise an order) takes the general way: every list, sorted together."""
    new, weight = lists[-1]
    if len(new) < 2 or bool((new[1:] > new[:-1]).all()):
        at = np.searchsorted(unique, new)
        held = at < len(unique)
        held[held] = unique[at[held]] == new[held]
        scores = scores.copy()
        scores[at[held]] += weight
        fresh = ~held
        return np.insert(unique, at[fresh], new[fresh]), np.insert(scores, at[fresh], weight)
    unique, inverse = np.unique(np.concatenate([rows for rows, _ in lists]), return_inverse=True)
    weights = np.concatenate([np.full(len(rows), w) for rows, w in lists])
    return unique, np.bincount(inverse, weights=weights, minlength=len(unique))


def best_rows(unique: np.ndarray, scores: np.ndarray, limit: int) -> np.ndarray:
    """``unique[np.argsort(-scores, kind="stable")[:limit]]`` (ties: the lower row first), sorting
    only the scores that reach the ``limit``-th best instead of every row read (100,000 and more at 1M)."""
    keep = np.arange(len(scores))
    if limit <= 0:
        return unique[:0]
    if len(scores) > limit:
        keep = np.flatnonzero(scores >= np.partition(scores, len(scores) - limit)[len(scores) - limit])
    return unique[keep[np.argsort(-scores[keep], kind="stable")[:limit]]]


def rarest_within(counts: Counter, df: dict[str, int], budget: int) -> Counter:
    """The terms of ``counts``, rarest first, while their posting lists (``df`` rows
    each) add up to at most ``budget`` rows; none when even the rarest is longer."""
    kept, total = Counter(), 0
    for term in sorted(counts, key=lambda t: df[t]):
        total += df[term]
        if total > budget:
            break
        kept[term] = counts[term]
    return kept


def _sentence_rows(chunks: list[Passage], sentence_vectors: list[np.ndarray], first_row: int):
    """(first sentence row, count) per passage, and the sentence vectors to append.

    A passage that opens with the previous passage's last sentence (the
    overlap) shares that row instead of storing the vector twice.
    """
    ranges, append, next_row, previous_last = [], [], first_row, None
    for chunk, vectors in zip(chunks, sentence_vectors):
        shared = bool(chunk.sentences) and chunk.sentences[0] == previous_last
        ranges.append((next_row - 1 if shared else next_row, len(chunk.sentences)))
        append.append(vectors[1:] if shared else vectors)
        next_row += len(chunk.sentences) - (1 if shared else 0)
        previous_last = chunk.sentences[-1] if chunk.sentences else None
    return np.array(ranges, np.int64).reshape(-1, 2), append


def _cosines(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each row (float16 vectors or int8 codes) times the float32 query, on this thread.

    Not with ``@``: numpy's OpenBLAS runs a product over more than ~9,000 numbers
    on a thread per core and waits for them; on 2 shared cores a question's few
    such products then waited for a core each time (measured under load at
    97,557 passages: 20,000 rows 15.1 ms against 2.4 ms this way, and hybrid
    p50 70 against 38 ms with one more product; BENCHMARKS.md, Round 4).
    A question's products are small enough for one core.
    """
    return np.einsum("ij,j->i", _as_float32(rows), query)


# Every float16 bit pattern's float32 value, by numpy's own conversion: looking values up in
# this table (256 KB) gives the same numbers as ``astype`` in 60% of its time (numpy converts
# half floats one by one here: 0.5 ms for the 600 rows of a hybrid question's neighbours).
_HALF_TO_FLOAT = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)


def _as_float32(rows: np.ndarray) -> np.ndarray:
    """``rows`` as float32 (float16 vectors through ``_HALF_TO_FLOAT``; others as numpy converts them)."""
    rows = np.asarray(rows)
    if rows.dtype == np.float16:
        return np.take(_HALF_TO_FLOAT, rows.view(np.uint16))
    return np.asarray(rows, np.float32)


def _top_k(scores: np.ndarray, k: int, offset: int = 0):
    """(scores, rows + offset) of the ``k`` best finite scores, best first."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = part[np.argsort(-scores[part], kind="stable")]
    return scores[order].astype(np.float32), (order + offset).astype(np.int64)


# ------------------------------------------------------------------ writer


class LocalWriter:
    """One build's changes to a store, committed at once by ``commit``.

    ``LocalWriter.create`` starts a new generation (first build, other model,
    other chunking, compaction), which becomes current only when committed;
    ``LocalWriter.update`` changes the current generation in one transaction.
    """

    def __init__(self, root: Path, generation: str, con: sqlite3.Connection, fresh: bool, documents: dict | None = None,
                 settings: StoreSettings = StoreSettings()):
        self.root, self.generation, self.fresh, self.settings = root, generation, fresh, settings
        self.folder = root / generation
        self._con = con
        meta = dict(con.execute("SELECT key, value FROM meta"))
        self.config = StoreConfig.from_json(meta["config"])
        self.counts = {name: int(meta.get(name, 0)) for name in _COUNTERS}
        self.ann = {"ann_file": meta.get("ann_file", ""), "ann_rows": int(meta.get("ann_rows", 0))}
        rows = {"vectors": "rows", "ranges": "rows", "codes": "sentence_rows", "scale": "sentence_rows"}
        self._vector_files = _vector_files(self.folder, self.config.dimension)
        self._files = {name: f.open_append(self.counts[rows[name]]) for name, f in self._vector_files.items()}
        con.execute("BEGIN IMMEDIATE")
        # the documents as they will be committed, handed to the reader that commit() returns
        self._documents: dict[str, DocumentRecord] = dict(documents or {})
        self.checkpointed = fresh and documents is not None  # a resumed unfinished generation holds committed work

    @classmethod
    def create(cls, root: str | Path, config: StoreConfig, settings: StoreSettings = StoreSettings()) -> "LocalWriter":
        root = Path(root)
        generation = _next_generation(root)
        folder = root / generation
        folder.mkdir(parents=True)
        con = _connect(folder / DB)
        # Passage rows are 1-2 KB: 4 KB pages would hold two of them, a quarter empty.
        con.execute("PRAGMA page_size = 16384")
        # A long build checkpoints (``checkpoint``): each commit of a new generation
        # must survive a crash, so it is journaled like any update (WAL).
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        con.executescript(_SCHEMA)
        con.execute("INSERT INTO meta VALUES ('config', ?)", (config.to_json(),))
        return cls(root, generation, con, fresh=True, settings=settings)

    @classmethod
    def update(cls, store: LocalStore) -> "LocalWriter":
        """A writer that changes ``store``: the current generation, or a checkpointed
        new one (``NEXT``) that a killed build left, which becomes current on commit."""
        con = _connect(store.folder / DB)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        if "pages" not in {r[1] for r in con.execute("PRAGMA table_info(passages)")}:
            con.execute("ALTER TABLE passages ADD COLUMN pages TEXT NOT NULL DEFAULT ''")  # instant in SQLite
        if "date" not in {r[1] for r in con.execute("PRAGMA table_info(documents)")}:  # added in round 4: the build fills it in
            con.execute("ALTER TABLE documents ADD COLUMN date TEXT NOT NULL DEFAULT ''")
        fresh = store.generation != _current_or_none(store.root)
        return cls(store.root, store.generation, con, fresh=fresh, documents=store.document_records, settings=store.settings)

    # ------------------------------------------------------------ changes

    def remove(self, source: str) -> None:
        """Drop a document: its rows become tombstones, its terms leave the full-text index."""
        row = self._con.execute("SELECT id, first_row, rows, lexical_length FROM documents WHERE source = ?", (source,)).fetchone()
        if row is None:
            return
        doc_id, first_row, n_rows, lexical_length = row
        rows = (first_row, first_row + n_rows)  # a document's passages are consecutive rows: the primary key finds them
        # A contentless FTS5 table forgets a row when given the terms it was indexed with.
        self._con.execute(
            "INSERT INTO lexical(lexical, rowid, stems) SELECT 'delete', id, terms FROM passages WHERE id >= ? AND id < ?", rows
        )
        self._con.execute("DELETE FROM passages WHERE id >= ? AND id < ?", rows)
        self._con.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        self._documents.pop(source, None)
        self.counts["dead_rows"] += n_rows
        self.counts["lexical_tokens"] -= lexical_length

    def touch(self, record: DocumentRecord) -> None:
        """Same text: remember its new size and modification time, and its date (when given)."""
        old = self._documents[record.source]
        new = old._replace(size=record.size, mtime_ns=record.mtime_ns, date=record.date or old.date)
        self._con.execute("UPDATE documents SET size = ?, mtime_ns = ?, date = ? WHERE source = ?",
                          (new.size, new.mtime_ns, new.date, new.source))
        self._documents[record.source] = new

    def add(self, record: DocumentRecord, chunks: list[Passage], vectors: np.ndarray, sentence_vectors: list[np.ndarray]) -> None:
        """Append a document's passages (rows in order) with their vectors."""
        first_row, first_sentence = self.counts["rows"], self.counts["sentence_rows"]
        lexical_length = sum(term_length(c.terms) for c in chunks)
        cur = self._con.execute(
            "INSERT INTO documents (source, title, sha256, size, mtime_ns, first_row, rows, lexical_length, date) VALUES (?,?,?,?,?,?,?,?,?)",
            (record.source, record.title, record.sha256, record.size, record.mtime_ns, first_row, len(chunks), lexical_length, record.date),
        )
        doc_id = cur.lastrowid
        self._documents[record.source] = record._replace(first_row=first_row, rows=len(chunks))
        ranges, sentence_rows = _sentence_rows(chunks, sentence_vectors, first_sentence)
        rows = [
            (first_row + i, doc_id, c.heading, c.start, c.end, c.text,
             json.dumps([[a - c.start, b - c.start] for a, b in c.sentences], separators=(",", ":")), c.key, c.terms,
             _pages_to_json(c.pages, c.start))
            for i, c in enumerate(chunks)
        ]
        self._con.executemany(
            'INSERT INTO passages (id, doc, heading, start, "end", text, sentences, key, terms, pages) VALUES (?,?,?,?,?,?,?,?,?,?)', rows
        )
        self._con.executemany(
            "INSERT INTO lexical(rowid, stems) VALUES (?, ?)", [(first_row + i, c.terms) for i, c in enumerate(chunks)]
        )
        self._append(vectors, ranges, sentence_rows)
        self.counts["rows"] += len(chunks)
        self.counts["sentence_rows"] += sum(len(v) for v in sentence_rows)
        self.counts["lexical_tokens"] += lexical_length

    def _append(self, vectors, ranges, sentence_vectors) -> None:
        d = self.config.dimension
        vectors = np.asarray(vectors, np.float32).reshape(-1, d)
        self._files["vectors"].write(vectors.astype(np.float16).tobytes())
        self._files["ranges"].write(np.ascontiguousarray(ranges, np.int64).tobytes())
        if sum(len(v) for v in sentence_vectors):
            codes, scale = quantise_sentences(np.vstack(sentence_vectors).reshape(-1, d))
            self._files["codes"].write(codes.tobytes())
            self._files["scale"].write(scale.tobytes())

    # ------------------------------------------------------------- commit

    def commit(self) -> LocalStore:
        """Make every change visible at once; return the committed store."""
        self._commit_transaction(final=True)
        for f in self._files.values():
            f.close()
        self._con.close()
        if self.fresh:
            self._publish()
        else:
            _remove_stale_ann_files(self.folder, keep=self.ann["ann_file"])
        return LocalStore.open(self.root, list(self._documents.values()), self.settings)

    def checkpoint(self, publish: bool) -> None:
        """Commit what is written so far (whole documents) and carry on writing.

        A new generation becomes current at its first checkpoint when
        ``publish`` (a first build: better some documents than none);
        otherwise ``NEXT`` names it, so that a killed build's work is
        continued, not deleted, while readers keep the complete old index.
        The HNSW index is left to the final commit (it costs seconds).
        """
        self._commit_transaction(final=False)
        self.checkpointed = True
        if self.fresh and publish:
            self._publish()
            self.fresh = False
        elif self.fresh:
            _write_pointer(self.root, NEXT, self.generation)
        self._con.execute("BEGIN IMMEDIATE")

    def _commit_transaction(self, final: bool) -> None:
        """fsync the appended vectors, then commit the SQLite transaction that counts them."""
        for f in self._files.values():
            f.flush()
            os.fsync(f.fileno())
        committed = {name: f.tell() for name, f in self._files.items()}
        if final:
            self._maintain_ann()
        values = dict(self.counts, **self.ann, updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"), vector_bytes=json.dumps(committed))
        self._con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])
        self._con.execute("COMMIT")

    def _publish(self) -> None:
        """Make this generation the current one; the others (and NEXT) go."""
        _fsync_dir(self.folder)
        _write_pointer(self.root, CURRENT, self.generation)
        (self.root / NEXT).unlink(missing_ok=True)
        _remove_other_generations(self.root, keep=self.generation)

    def abort(self) -> None:
        for f in self._files.values():
            f.close()
        try:
            self._con.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._con.close()
        if self.fresh and not self.checkpointed:  # checkpointed work stays, for the next build to continue (Ctrl-C included)
            shutil.rmtree(self.folder, ignore_errors=True)

    def _maintain_ann(self) -> None:
        """Build the HNSW index once the store is large, extend it when many rows were added."""
        rows, covered = self.counts["rows"], self.ann["ann_rows"] if self.ann["ann_file"] else 0
        knobs = self.settings
        if rows < knobs.ann_min_rows or rows - covered <= (0 if not covered else knobs.ann_max_delta):
            return
        import faiss

        vectors = self._vector_files["vectors"].map(rows)
        if covered:
            index = faiss.read_index(str(self.folder / self.ann["ann_file"]))
        else:
            sample = np.random.default_rng(0).choice(rows, min(rows, 50_000), replace=False)
            index = new_ann_index(np.asarray(vectors[np.sort(sample)], np.float32), knobs)
        for lo in range(covered, rows, 50_000):
            index.add(np.asarray(vectors[lo : min(rows, lo + 50_000)], np.float32))
        name = f"ann-{rows}.faiss"
        tmp = self.folder / f".{name}.tmp"
        faiss.write_index(index, str(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / name)
        self.ann = {"ann_file": name, "ann_rows": rows}

    @property
    def live_rows(self) -> int:
        return self.counts["rows"] - self.counts["dead_rows"]

    def needs_compaction(self) -> bool:
        dead = self.counts["dead_rows"]
        return dead >= self.settings.compact_min_dead and dead >= self.settings.compact_dead_share * self.counts["rows"]

    def tidy(self, committed: LocalStore) -> LocalStore | None:
        """After ``commit``: a compacted copy when tombstones pile up, else None."""
        return compact(committed) if self.needs_compaction() else None


def compact(store: LocalStore) -> LocalStore:
    """A new generation with only the live rows (tombstones dropped), same config."""
    writer = LocalWriter.create(store.root, store.config, store.settings)
    try:
        for source, record in sorted(store.document_records.items(), key=lambda kv: kv[1].first_row):
            passages = store.document_passages(source)
            vectors = np.array([store.passage_vector(p.id) for p in passages], np.float32)
            writer.add(record, passages, vectors, [store.sentence_vectors(p.id) for p in passages])
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def new_ann_index(sample: np.ndarray, settings: StoreSettings = StoreSettings()):
    """An empty HNSW index over 8-bit codes, trained on ``sample`` (benchmarks/ann_recall.py measures it)."""
    import faiss

    index = faiss.IndexHNSWSQ(sample.shape[1], faiss.ScalarQuantizer.QT_8bit, settings.ann_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings.ann_ef_construction
    index.train(np.ascontiguousarray(sample, np.float32))
    return index


def ann_search_parameters(k: int, settings: StoreSettings = StoreSettings()):
    import faiss

    params = faiss.SearchParametersHNSW()
    params.efSearch = max(settings.ann_ef_search, 2 * k)
    return params


# ------------------------------------------------------------ generations


def _next_generation(root: Path) -> str:
    numbers = [int(p.name[1:]) for p in root.glob("g[0-9]*") if p.is_dir() and p.name[1:].isdigit()]
    return f"g{max(numbers, default=0) + 1:06d}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_pointer(root: Path, name: str, generation: str) -> None:
    """Write CURRENT (or NEXT) atomically: a reader sees the old file or the new one."""
    tmp = root / f".{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"format_version": FORMAT_VERSION, "generation": generation}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / name)
    _fsync_dir(root)


def read_pointer(root: Path, name: str = CURRENT) -> tuple[str | None, str]:
    """(generation, "") that CURRENT (or NEXT) names, or (None, what is wrong with it)."""
    path = root / name
    if not path.is_file():
        return None, messages.POINTER_MISSING
    try:
        return _read_current(root) if name == CURRENT else json.loads(path.read_text(encoding="utf-8"))["generation"], ""
    except IndexLoadError as exc:
        # unreadable (raised from the error reading it), else of another format: its message up to the command
        return None, messages.POINTER_UNREADABLE if exc.__cause__ is not None else str(exc).split(";")[0]
    except (OSError, ValueError, KeyError, TypeError):
        return None, messages.POINTER_UNREADABLE


def _current_or_none(root: Path) -> str | None:
    try:
        return _read_current(root) if (root / CURRENT).is_file() else None
    except IndexLoadError:
        return None


def unfinished_generation_name(root: Path) -> str | None:
    """The checkpointed, unfinished generation that NEXT names, if its folder is there."""
    try:
        generation = json.loads((root / NEXT).read_text(encoding="utf-8"))["generation"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return generation if isinstance(generation, str) and (root / generation / DB).is_file() else None


def _remove_other_generations(root: Path, keep: str) -> None:
    """Delete older generations and the files of format 2. A reader that has
    them open keeps its mapped files (POSIX unlink semantics)."""
    for path in root.iterdir():
        if path.is_dir() and path.name.startswith("g") and path.name[1:].isdigit() and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and (path.name == "manifest.json" or path.suffix in (".faiss", ".jsonl")):
            path.unlink(missing_ok=True)


def _remove_stale_ann_files(folder: Path, keep: str) -> None:
    for path in folder.glob("ann-*.faiss"):
        if path.name != keep:
            path.unlink(missing_ok=True)


def generation_problem(root: Path, generation: str, *, thorough: bool = True) -> str | None:
    """What is wrong with a generation's files (None: its SQLite is sound and its vector files hold every committed row).

    ``thorough``: with SQLite's integrity check, which reads the whole database
    (4.3 s at 1M passages); without it, only what opening the store reads (its
    header, meta and documents, and every vector file's committed size).
    """
    path = root / generation / DB
    if not path.is_file():
        return messages.generation_file_missing(generation, DB)
    try:
        con = _connect(path, readonly=not os.access(path.parent, os.W_OK))
        try:
            verdict = con.execute("PRAGMA integrity_check").fetchone()[0] if thorough else "ok"
            if verdict != "ok":
                return messages.generation_fails_integrity(generation, DB, verdict)
            LocalStore(root, generation, con).close()  # reads the config and maps every committed vector row
        finally:
            con.close()
    except Exception as exc:  # noqa: BLE001 - any failure to read our own files is damage
        return messages.generation_cannot_be_read(generation, f"{type(exc).__name__}: {exc}")
    return None


def list_generations(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("g[0-9]*") if p.is_dir() and p.name[1:].isdigit())


def adopt_sound_generation(root: Path) -> str | None:
    """When CURRENT is missing, unreadable or names no sound generation, point it
    at the newest sound one (a finished build's work is never embedded again);
    return the generation adopted, or None when CURRENT was fine or nothing is sound."""
    current = _current_or_none(root)
    # Every build passes here: a CURRENT that opens is trusted without reading
    # the whole database (``vraagbaak check`` does, and names the repair).
    if current is not None and generation_problem(root, current, thorough=False) is None:
        return None
    unfinished = unfinished_generation_name(root)
    sound = [g for g in list_generations(root) if generation_problem(root, g) is None]
    # a rebuild's unfinished generation only when nothing finished is left
    candidates = [g for g in sound if g != unfinished] or sound
    if not candidates:
        return None
    _write_pointer(root, CURRENT, candidates[-1])
    if candidates[-1] == unfinished:
        (root / NEXT).unlink(missing_ok=True)
    return candidates[-1]


def discard_unfinished_generations(root: Path) -> None:
    """Generations named by neither CURRENT nor NEXT are what a killed build left
    before its first checkpoint: delete them. A CURRENT that cannot be read names nothing."""
    current = _current_or_none(root)
    if current is None and (root / CURRENT).exists():
        (root / CURRENT).unlink()  # garbage: the build starts anew rather than fail on it
    keep = {current, unfinished_generation_name(root)}
    for path in root.glob("g[0-9]*"):
        if path.is_dir() and path.name[1:].isdigit() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    if unfinished_generation_name(root) is None:
        (root / NEXT).unlink(missing_ok=True)


def open_unfinished_generation(root: Path, settings: StoreSettings = StoreSettings()) -> "LocalStore | None":
    """The generation a killed build checkpointed (NEXT), opened; None if there is none or it cannot be read."""
    generation = unfinished_generation_name(root)
    if generation is None:
        return None
    try:
        con = _connect(root / generation / DB)
        return LocalStore(root, generation, con, settings=settings)
    except Exception:  # unreadable: it is work lost, not an index lost
        discard_generation(root, generation)
        return None


def discard_generation(root: Path, generation: str) -> None:
    """Delete a generation that is not current (an unfinished one not worth continuing)."""
    if generation != _current_or_none(root):
        (root / NEXT).unlink(missing_ok=True)
        shutil.rmtree(root / generation, ignore_errors=True)


def check_writable(root: Path) -> None:
    """A clear error before any work when the index folder cannot be written."""
    if root.exists() and not root.is_dir():
        raise VraagbaakError(messages.index_folder_is_a_file(root))
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise VraagbaakError(messages.index_folder_not_writable(root, exc.strerror or exc)) from exc


class FolderLocation:
    """An index folder (``stores.base.Location``; ``stores.milvus.MilvusLocation`` is the other)."""

    kind = "folder"

    def __init__(self, root: str | Path, settings: StoreSettings = StoreSettings()):
        self.root, self.settings = Path(root), settings

    def __str__(self) -> str:
        return str(self.root)

    @property
    def error_log(self) -> Path:
        """Where a build writes the tracebacks of files it skipped because a reader failed."""
        return self.root / ERROR_LOG

    @property
    def upload_folder(self) -> Path:
        """Where the web page's uploads wait until they are added: inside the index folder, on the index's disk."""
        return self.root / "uploads"

    def check_writable(self) -> None:
        check_writable(self.root)

    def lock(self):
        from filelock import FileLock

        return FileLock(str(self.root / ".build.lock"))

    def exists(self) -> bool:
        return index_exists(self.root) or (self.root / "manifest.json").is_file()

    def recover(self) -> str | None:
        """Repair what a crash or a damaged CURRENT left, before a build: adopt the
        newest sound generation if CURRENT names none, then delete unfinished
        generations. Returns a line for the user when a generation was adopted."""
        if not self.root.is_dir():
            return None
        adopted = adopt_sound_generation(self.root)
        discard_unfinished_generations(self.root)
        return messages.adopted_generation(CURRENT, adopted) if adopted else None

    def remember_corpus(self, corpus_dir: Path) -> None:
        """Record the corpus folder, for the repair commands of error messages (``build_command``)."""
        path = self.root / CORPUS_FILE
        text = json.dumps({"corpus": str(Path(corpus_dir).resolve())})
        try:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                tmp = self.root / f".{CORPUS_FILE}.tmp"
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
        except OSError:
            pass  # only a hint for messages

    def recorded_corpus(self) -> Path | None:
        return recorded_corpus(self.root)

    def open(self) -> LocalStore:
        return LocalStore.open(self.root, settings=self.settings)

    def unfinished(self) -> LocalStore | None:
        """A new generation a killed build checkpointed (another model or chunking than the current one)."""
        return open_unfinished_generation(self.root, self.settings) if self.root.is_dir() else None

    def discard(self, store: LocalStore) -> None:
        """Give up an unfinished generation (the next build wants another model or chunking)."""
        discard_generation(self.root, store.generation)

    def create(self, config: StoreConfig) -> LocalWriter:
        return LocalWriter.create(self.root, config, self.settings)

    def update(self, store: LocalStore) -> LocalWriter:
        return LocalWriter.update(store)

    def build_command(self, *options: str) -> str:
        return build_command(self.root, *options)

    def health(self) -> Health:
        """Every problem of the folder, each with the command that repairs it (``vraagbaak check``).

        ``build`` adopts a sound generation when CURRENT names none, deletes
        what a killed build left and rebuilds a damaged generation.
        """
        root, fix = self.root, build_command(self.root)
        if not root.is_dir():
            return Health([messages.index_missing(root, build_command(root))], None)
        problems, model = [], None
        current, why = read_pointer(root, CURRENT)
        if current is None:
            problems.append(messages.health_current_unsound(root, CURRENT, why, fix))
        elif not (root / current).is_dir():
            problems.append(messages.health_current_missing(root, CURRENT, current, fix))
        unfinished = unfinished_generation_name(root)
        for generation in list_generations(root):
            problem = generation_problem(root, generation)
            if problem:
                problems.append(messages.health_generation_problem(root, problem, fix))
            elif generation != current and generation != unfinished:
                problems.append(messages.health_left_over(root, generation, fix))
            elif generation == current:
                mismatch, model = self._count_mismatch(generation, fix)
                problems += mismatch
        if current is not None and not list_generations(root):
            problems.append(messages.health_no_generation(root, fix))
        return Health(problems, model)

    def _count_mismatch(self, generation: str, fix: str) -> tuple[list[str], str]:
        """Passage rows in SQLite against the counters the vector files were checked with; and the model."""
        store = LocalStore.open(self.root, settings=self.settings)
        try:
            expected, model = store.counts["rows"] - store.counts["dead_rows"], store.config.model
            with sqlite3.connect(f"file:{self.root / generation / DB}?mode=ro", uri=True) as con:
                rows = con.execute("SELECT count(*) FROM passages").fetchone()[0]
        finally:
            store.close()
        if rows != expected:
            return [messages.health_count_mismatch(self.root, generation, rows, DB, expected, fix)], model
        return [], model
