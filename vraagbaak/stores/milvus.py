"""The Milvus store: the same index in a Milvus collection, for collections that
outgrow one machine or that several servers answer from.

``--store milvus:URI[#NAME]``: ``URI`` is what ``pymilvus.MilvusClient``
accepts, a local ``*.db`` folder (Milvus Lite) or ``http://host:19530`` (a
Milvus server or cluster; a token, if it needs one, comes from the environment
variable ``VRAAGBAAK_MILVUS_TOKEN``). ``NAME`` (default ``vraagbaak``) names
the index: an alias of the collection ``NAME_g<n>`` that holds it.

One collection holds three kinds of entity (field ``kind``):

    passage   id >= 1: text, offsets, heading and pages (JSON in ``data``),
              its sentence vectors (8-bit codes, base64 in ``codes``), its
              BM25 terms (``terms``, from which Milvus's BM25 function makes
              ``sparse``) and its vector (``vector``, HNSW)
    document  id < 0 (from a hash of the source): title, hash, stat, date and
              the row range [first_row, first_row + rows) of its current version
    meta      id 0: the StoreConfig (model, dimension, prompts, chunking,
              format version, backend), the next free row, the commit time

Atomic by document. Milvus applies each insert, upsert or delete request on
its own; it has no transaction over several. What is added here: a new
version of a document is written as new rows under fresh ids, then the
document's one entity is upserted to point at them (the flip). A reader takes
a passage as live only when its id lies in its document's range, so it sees
the old rows or the new ones, never a mix; rows of a version that was
replaced or never flipped (a killed build) are invisible and are deleted
when the build commits or, after a crash, by the next build (``_recover``).
Removals are flipped at commit. A new model or new chunking settings build a
new collection, swapped in by moving the alias (one request).

Readers keep the document ranges in memory (a hundred thousand documents are
a few MB) and re-read them when the meta entity says a build committed,
checked at most every ``MilvusSettings.refresh_seconds``. Milvus's own
compaction drops deleted entities, so this store never compacts.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import messages
from ..errors import IndexLoadError, VraagbaakError
from ..lexical import stored_scores, term_length
from .base import (FORMAT_VERSION, DocumentRecord, Documents, Health, Passage, PassageHead, StoreConfig, build_line, heads_of,
                   quantise_sentences, text_key)

__all__ = ["MilvusLocation", "MilvusSettings", "MilvusStore", "MilvusWriter", "TOKEN_ENV", "parse_milvus"]

TOKEN_ENV = "VRAAGBAAK_MILVUS_TOKEN"
BM25_ENV = "VRAAGBAAK_MILVUS_BM25"  # "project" or "milvus": MilvusSettings.lexical for the CLI and the page
DEFAULT_NAME = "vraagbaak"
PASSAGE, DOCUMENT, META = 0, 1, 2
META_ID = 0
MAX_VARCHAR = 65_535  # Milvus's limit on a VARCHAR field, in bytes
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
_PAYLOAD_FIELDS = ["id", "source", "data", "codes", "terms"]


@dataclass(frozen=True)
class MilvusSettings:
    """The Milvus store's knobs (how they were chosen: BENCHMARKS.md, "Milvus store")."""

    lexical: str = "project"  # "project": our BM25 over the candidates; "milvus": Milvus's BM25 function
    hnsw_m: int = 32  # as the local store's HNSW index
    hnsw_ef_construction: int = 200
    hnsw_ef: int = 400  # at least 2 k
    refresh_seconds: float = 1.0  # a reader notices another process's commit this late at most
    insert_batch: int = 500  # entities per insert request
    cache_rows: int = 4096  # passages of recent searches kept for their texts and sentence vectors


def parse_milvus(spec: str) -> tuple[str, str]:
    """``milvus:URI[#NAME]`` -> (URI, NAME), with a clear error for a bad name."""
    rest = spec[len("milvus:"):]
    uri, _, name = rest.partition("#")
    name = name or DEFAULT_NAME
    if not uri:
        raise VraagbaakError(messages.MILVUS_NEEDS_URI)
    if not _NAME.match(name):
        raise VraagbaakError(messages.milvus_bad_name(name))
    return uri, name


def _document_id(source: str) -> int:
    """A negative primary key from the source (63 bits of SHA-256: no collision in practice)."""
    return -1 - (abs(text_key("", "", source)) >> 1)


def _quote(text: str) -> str:
    """A Milvus filter string literal: double quotes, backslash escapes, letters as they are."""
    return json.dumps(text, ensure_ascii=False)


def _encode_codes(vectors: np.ndarray, dimension: int) -> str:
    """Sentence vectors as base64 of their 8-bit codes and float32 scales.

    Milvus has no field for a variable number of vectors per entity; they are
    only ever read with their passage, never searched, so they ride along as text.
    A passage with more sentences than fit (about 120 at dimension 384) keeps
    the codes of its first ones; the rest are scored as the passage itself.
    """
    fits = (MAX_VARCHAR * 3 // 4) // (dimension + 4)
    codes, scale = quantise_sentences(np.asarray(vectors, np.float32).reshape(-1, dimension)[:fits])
    return base64.b64encode(codes.tobytes() + scale.tobytes()).decode("ascii")


def _decode_codes(text: str, dimension: int) -> np.ndarray:
    raw = base64.b64decode(text)
    n = len(raw) // (dimension + 4)
    codes = np.frombuffer(raw, np.int8, n * dimension).reshape(n, dimension).astype(np.float32)
    return codes * np.frombuffer(raw, np.float32, n, offset=n * dimension)[:, None]


def _passage_entity(row: int, source: str, chunk: Passage, vector, sentence_vectors, dimension: int) -> dict:
    data = {
        "heading": chunk.heading, "start": chunk.start, "end": chunk.end, "text": chunk.text, "key": chunk.key,
        "sentences": [[a - chunk.start, b - chunk.start] for a, b in chunk.sentences],
        "pages": [[a - chunk.start, n] for a, n in chunk.pages],
    }
    return {
        "id": row, "kind": PASSAGE, "source": source, "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        "codes": _encode_codes(sentence_vectors, dimension), "terms": chunk.terms,
        "vector": np.asarray(vector, np.float32).tolist(),
    }


def _record_entity(kind: int, id_: int, source: str, data: dict, dimension: int) -> dict:
    return {"id": id_, "kind": kind, "source": source, "data": json.dumps(data, ensure_ascii=False), "codes": "",
            "terms": "", "vector": [0.0] * dimension}


def _milvus_errors(cls):
    """Each public method of ``cls``: a failure inside pymilvus or gRPC (server gone,
    collection dropped under us) becomes one VraagbaakError line, as the CLI prints them."""
    import functools

    def guard(fn):
        @functools.wraps(fn)
        def guarded(self, *args, **kwargs):
            try:
                return fn(self, *args, **kwargs)
            except Exception as exc:
                if not type(exc).__module__.startswith(("pymilvus", "grpc")):
                    raise
                where = next((o.uri for o in (self, getattr(self, "location", None), *args) if hasattr(o, "uri")), "")
                raise VraagbaakError(messages.milvus_failed(where, _first_line(exc))) from exc

        return guarded

    for name, value in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(value, classmethod):
            setattr(cls, name, classmethod(guard(value.__func__)))
        elif callable(value) and not isinstance(value, (staticmethod, type)):
            setattr(cls, name, guard(value))
    return cls



# --------------------------------------------------------------- location


@_milvus_errors
class MilvusLocation:
    """Where a Milvus index lives: a client, and the alias that names the index."""

    kind = "milvus"

    def __init__(self, spec: str, settings: MilvusSettings | None = None):
        self.uri, self.name = parse_milvus(spec)
        settings = settings or MilvusSettings(lexical=os.environ.get(BM25_ENV) or MilvusSettings.lexical)
        if settings.lexical not in ("project", "milvus"):
            raise VraagbaakError(messages.bm25_choice(BM25_ENV, settings.lexical))
        self.spec, self.settings = spec, settings
        self._client = None

    def __str__(self) -> str:
        return self.spec

    @property
    def client(self):
        if self._client is None:
            self._client = _connect(self.uri)
        return self._client

    @property
    def is_lite(self) -> bool:
        """A local Milvus Lite folder rather than a server."""
        return not self.uri.startswith(("http://", "https://", "tcp://", "unix:", "grpc://"))

    @property
    def error_log(self) -> Path:
        """Where a build writes the tracebacks of files it skipped because a reader failed:
        beside a Milvus Lite folder, else in the user's log folder (a server has no folder of ours)."""
        if self.is_lite:
            return Path(os.path.abspath(self.uri) + ".errors.log")
        import platformdirs

        return Path(platformdirs.user_log_dir("vraagbaak")) / f"{self.name}-errors.log"

    @property
    def upload_folder(self) -> Path:
        """Where the web page's uploads wait until they are added: the user's cache folder (a Milvus
        index has no folder of ours), one per index address."""
        import hashlib

        import platformdirs

        digest = hashlib.sha256(self.spec.encode()).hexdigest()[:12]
        return Path(platformdirs.user_cache_dir("vraagbaak")) / "uploads" / f"{self.name}-{digest}"

    def build_command(self, *options: str) -> str:
        return build_line("--store", self.spec, *options)

    def check_writable(self) -> None:
        if self.is_lite:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(self.uri)), exist_ok=True)
            except OSError as exc:
                raise VraagbaakError(messages.milvus_folder_not_made(self.uri, exc.strerror or exc)) from exc
        self.client  # connecting is the check: a server that refuses us says so here

    def lock(self):
        """One build at a time: a file lock beside a Milvus Lite folder (Milvus Lite
        itself lets only one process open it); a server's collection is not
        locked across machines, see README."""
        from contextlib import nullcontext

        if not self.is_lite:
            return nullcontext()
        from filelock import FileLock

        return FileLock(os.path.abspath(self.uri).rstrip("/") + ".vraagbaak.lock")

    def collection(self) -> str | None:
        """The collection the alias points at, None if there is no index."""
        if self.is_lite and not os.path.isdir(self.uri) and self._client is None:
            return None  # reading must not create an empty Milvus Lite folder
        client = self.client
        if not client.has_collection(self.name):
            return None
        if self.name in client.list_aliases().get("aliases", []):
            return client.describe_alias(self.name)["collection_name"]
        raise IndexLoadError(messages.milvus_foreign_collection(self.name, self.uri))

    def exists(self) -> bool:
        return self.collection() is not None

    def generation_of(self, collection: str) -> int | None:
        """n for this index's collection NAME_g<n> (exactly: index "faq" must not claim "faq_gemeente_g000001")."""
        found = re.fullmatch(re.escape(self.name) + r"_g(\d{6,})", collection)
        return int(found.group(1)) if found else None

    def open(self) -> "MilvusStore":
        collection = self.collection()
        if collection is None:
            raise IndexLoadError(messages.milvus_index_missing(self.name, self.uri, self.build_command()))
        return MilvusStore(self, collection)

    def recover(self) -> None:
        """Delete what a killed build left (unflipped rows, replaced versions, half-made collections)."""
        collection = self.collection()
        for name in self.client.list_collections():
            if self.generation_of(name) is not None and name != collection:
                self.client.drop_collection(name)
        if collection is not None:
            _recover(self.client, collection, self.settings)

    def create(self, config: StoreConfig) -> "MilvusWriter":
        return MilvusWriter.create(self, config)

    def remember_corpus(self, corpus_dir) -> None:
        pass  # a Milvus index's repair commands name its --store; the corpus folder is the caller's

    def recorded_corpus(self) -> None:
        return None  # not kept (above)

    def unfinished(self) -> None:
        """A checkpointed new collection to continue: none (``MilvusWriter.checkpoint`` says why)."""
        return None

    def discard(self, store) -> None:
        pass

    def update(self, store: "MilvusStore") -> "MilvusWriter":
        snapshot = store._snapshot
        return MilvusWriter(self, store.collection, store.meta, fresh=False, documents=snapshot.records, lexical=snapshot.lexical)

    def health(self) -> Health:
        """Opening is the whole check: Milvus keeps its own files sound."""
        try:
            store = self.open()
        except VraagbaakError as exc:
            return Health([str(exc)], None)
        return Health([], store.config.model)


def _connect(uri: str):
    # gRPC's C core prints its own connection notices to stderr (Milvus Lite
    # answers pymilvus's keep-alive pings with "too_many_pings" notices); our
    # errors already say what failed, in one line. Read when gRPC loads.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    from pymilvus import MilvusClient

    # pymilvus logs every failed call at ERROR with its traceback (and configures
    # its loggers on import); our callers turn failures into one-line messages.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)

    try:
        return MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""))
    except Exception as exc:  # connection refused, Lite folder open in another process, bad token
        raise VraagbaakError(messages.milvus_cannot_open(uri, _first_line(exc))) from exc


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


# ------------------------------------------------------------------ schema


def _create_collection(client, name: str, dimension: int, settings: MilvusSettings) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, description="Vraagbaak index (meta entity id 0 holds its config)")
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("kind", DataType.INT8)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)
    schema.add_field("data", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("codes", DataType.VARCHAR, max_length=MAX_VARCHAR)
    # The terms are our stemmed Dutch words, space-separated: the standard
    # tokenizer splits them back unchanged, so Milvus's BM25 sees our terms.
    schema.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, enable_match=True,
                     analyzer_params={"tokenizer": "standard"})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="IP",
                    params={"M": settings.hnsw_m, "efConstruction": settings.hnsw_ef_construction})
    # bm25s's Lucene defaults, as lexical.py
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.5, "bm25_b": 0.75})
    index.add_index("kind", index_type="INVERTED")
    index.add_index("source", index_type="INVERTED")
    client.create_collection(name, schema=schema, consistency_level="Strong")
    # sync=False: pymilvus would otherwise poll the index state with a call
    # Milvus Lite does not serve, for two seconds a collection. Milvus builds
    # indexes in the background either way; loading waits for what it needs.
    client.create_index(name, index, sync=False)
    client.load_collection(name)


def _read_meta(client, collection: str, spec: str) -> dict:
    found = client.get(collection, ids=[META_ID], output_fields=["data"])
    if not found:
        raise IndexLoadError(messages.index_damaged(spec, "geen meta-entiteit", build_line("--store", spec)))
    meta = json.loads(found[0]["data"])
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexLoadError(messages.index_format_differs(spec, version, FORMAT_VERSION, build_line("--store", spec)))
    return meta


def _iterate(client, collection: str, filter_: str, fields: list[str], batch: int = 4096):
    it = client.query_iterator(collection, filter=filter_, output_fields=fields, batch_size=batch)
    try:
        while rows := it.next():
            yield from rows
    finally:
        it.close()


def _document_rows(client, collection: str) -> tuple[list[DocumentRecord], dict[str, int], list[str]]:
    """The record of every document, its BM25 length by source, and the sources of removed documents whose rows
    a commit is deleting."""
    out, lexical, removed = [], {}, []
    for e in _iterate(client, collection, f"kind == {DOCUMENT}", ["source", "data"]):
        d = json.loads(e["data"])
        if d.get("removed"):
            removed.append(e["source"])
        else:
            # "date": added in round 4, without a schema change (the entity's JSON); the next build fills it in
            out.append(DocumentRecord(e["source"], d["title"], d["sha256"], d["size"], d["mtime_ns"], d["first_row"], d["rows"],
                                      d.get("date", "")))
            lexical[e["source"]] = d["lexical_length"]
    return out, lexical, removed


def _recover(client, collection: str, settings: MilvusSettings) -> None:
    """Undo what a writer killed before its commit left behind."""
    client.load_collection(collection)
    meta = _read_meta(client, collection, collection)
    if not meta.get("building"):
        return  # the last build committed (or wrote nothing): no scan, nothing written
    clean = meta["clean_upto"]
    docs, _, removed = _document_rows(client, collection)
    ranges = {r.source: (r.first_row, r.first_row + r.rows) for r in docs}
    for source in removed:  # a commit killed while deleting a removed document: finish it
        _delete_document(client, collection, source)
    for source, (a, b) in ranges.items():
        if a >= clean:  # flipped by the killed build: its old version may remain
            _delete_other_versions(client, collection, source, (a, b))
    stray = [e["id"] for e in _iterate(client, collection, f"kind == {PASSAGE} and id >= {clean}", ["id", "source"])
             if not (e["source"] in ranges and ranges[e["source"]][0] <= e["id"] < ranges[e["source"]][1])]
    for lo in range(0, len(stray), settings.insert_batch):
        client.delete(collection, ids=stray[lo : lo + settings.insert_batch])
    # ids are never handed out twice, not even those of deleted stray rows
    next_row = max([meta["next_row"], *(b for a, b in ranges.values()), *(i + 1 for i in stray)])
    meta.update(next_row=next_row, clean_upto=next_row, building=False,
                commits=meta.get("commits", 0) + 1)  # readers re-read the documents
    client.upsert(collection, [_record_entity(META, META_ID, "", meta, StoreConfig.from_json(meta["config"]).dimension)])


def _delete_document(client, collection: str, source: str) -> None:
    """A removed document's rows, then its tombstone (in this order: a kill in between leaves the tombstone to finish from)."""
    _delete_other_versions(client, collection, source, None)
    client.delete(collection, ids=[_document_id(source)])


def _delete_other_versions(client, collection: str, source: str, keep: tuple[int, int] | None) -> None:
    """Delete a document's passages outside its current range (all of them if it is gone)."""
    where = f"kind == {PASSAGE} and source == {_quote(source)}"
    if keep is not None:
        where += f" and (id < {keep[0]} or id >= {keep[1]})"
    client.delete(collection, filter=where)


# ------------------------------------------------------------------ reader


class _Snapshot:
    """The committed documents as one reader sees them: replaced whole on refresh."""

    def __init__(self, records: list[DocumentRecord], lexical: dict[str, int], meta: dict):
        """``lexical``: each document's BM25 length by source."""
        self.records = Documents(records)
        self.lexical = lexical
        self.passage_count = sum(r.rows for r in records)
        self.lexical_tokens = sum(lexical.values())
        self.updated = meta.get("updated", "")
        order = sorted((r.first_row, r.first_row + r.rows) for r in records if r.rows > 0)
        self.starts = np.array([o[0] for o in order], np.int64)
        self.ends = np.array([o[1] for o in order], np.int64)

    def live(self, rows: np.ndarray) -> np.ndarray:
        """Which rows belong to the current version of their document."""
        rows = np.asarray(rows, np.int64)
        at = np.searchsorted(self.starts, rows, side="right") - 1
        ok = at >= 0
        ok[ok] &= rows[ok] < self.ends[at[ok]]
        return ok

    def leads(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        if not len(self.starts):
            return np.zeros(len(rows), bool)
        at = np.clip(np.searchsorted(self.starts, rows, side="right") - 1, 0, None)
        return self.starts[at] == rows


@_milvus_errors
class MilvusStore:
    """A Milvus index opened for searching: the same reader interface as ``LocalStore``."""

    def __init__(self, location: MilvusLocation, collection: str, documents: tuple[list, dict] | None = None):
        """``documents`` (rows and BM25 lengths, from the writer that just committed) spares reading them again."""
        self.location, self.collection = location, collection
        self.root = location.spec  # where error messages say the index is
        self.settings = location.settings
        self._client = location.client
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, dict] = OrderedDict()
        self._df: dict[str, int] = {}  # passages containing a term, as Milvus counted them
        self._checked = 0.0
        try:
            self._client.load_collection(collection)
            self.meta = _read_meta(self._client, collection, location.spec)
            self.config = StoreConfig.from_json(self.meta["config"])
            rows, lexical = documents or _document_rows(self._client, collection)[:2]
            self._snapshot = _Snapshot(rows, lexical, self.meta)
        except IndexLoadError:
            raise
        except Exception as exc:
            raise IndexLoadError(messages.index_unreadable(location.spec, _first_line(exc))) from exc
        self._checked = time.monotonic()

    # --------------------------------------------------------- freshness

    def _refresh(self) -> None:
        """Take another process's commit into account (at most every refresh_seconds)."""
        now = time.monotonic()
        if now - self._checked < self.settings.refresh_seconds:
            return
        self._checked = now
        meta = _read_meta(self._client, self.collection, self.root)
        if meta.get("commits") != self.meta.get("commits"):
            self._snapshot = _Snapshot(*_document_rows(self._client, self.collection)[:2], meta)
            self.meta = meta
            self._df = {}

    @property
    def document_records(self) -> Documents:
        return self._snapshot.records

    @property
    def documents(self) -> dict[str, str]:
        return self._snapshot.records.titles()

    @property
    def passage_count(self) -> int:
        return self._snapshot.passage_count

    @property
    def updated(self) -> str:
        return self._snapshot.updated

    def warm_up(self) -> None:
        self._client.load_collection(self.collection)

    def leads(self, rows) -> np.ndarray:
        return self._snapshot.leads(rows).astype(np.float32)

    # -------------------------------------------------------------- dense

    def dense_search(self, query: np.ndarray, k: int, within: frozenset[str] | None = None):
        """(cosines, rows) of the ``k`` nearest live passages, of the documents ``within`` if given.

        The filter is Milvus's own (a scalar filter applied during the HNSW
        search), so a narrow one still returns ``k`` hits when ``k`` exist.
        """
        self._refresh()
        snapshot = self._snapshot
        where = _passages_within(within)
        query = np.asarray(query, np.float32).reshape(-1).tolist()
        limit = k
        while True:  # rows of versions this reader does not see take places: ask for more
            hits = self._search(query, "vector", where, limit, {"ef": max(self.settings.hnsw_ef, 2 * limit)})
            rows = np.array([h["id"] for h in hits], np.int64)
            live = snapshot.live(rows)
            if live.sum() >= k or len(hits) < limit or limit >= 16_384:
                break
            limit = min(16_384, 2 * limit + 16)
        scores = np.array([h["distance"] for h in hits], np.float32)[live][:k]
        return scores, rows[live][:k]

    def _search(self, data, field: str, where: str, limit: int, params: dict) -> list[dict]:
        result = self._client.search(
            self.collection, data=[data], anns_field=field, limit=limit, filter=where,
            output_fields=_PAYLOAD_FIELDS, search_params={"params": params},
        )
        hits = list(result[0]) if result else []
        with self._lock:
            for h in hits:
                self._remember(h["entity"])
        return hits

    def _remember(self, entity: dict) -> None:
        self._cache[int(entity["id"])] = entity
        self._cache.move_to_end(int(entity["id"]))
        while len(self._cache) > self.settings.cache_rows:
            self._cache.popitem(last=False)

    # ---------------------------------------------------------- passages

    def _entities(self, rows) -> dict[int, dict]:
        rows = [int(r) for r in rows]
        with self._lock:
            found = {r: self._cache[r] for r in rows if r in self._cache}
        missing = [r for r in rows if r not in found]
        for lo in range(0, len(missing), 1000):
            fetched = self._client.get(self.collection, ids=missing[lo : lo + 1000], output_fields=_PAYLOAD_FIELDS)
            with self._lock:
                for e in fetched:
                    found[int(e["id"])] = e
                    self._remember(e)
        return found

    def passages(self, rows) -> list[Passage | None]:
        """The passages at ``rows`` (None for a row that is not live for this reader)."""
        rows = np.asarray([int(r) for r in rows], np.int64)
        live = self._snapshot.live(rows) if len(rows) else np.zeros(0, bool)
        entities = self._entities(rows[live])
        titles = self._snapshot.records
        out = []
        for row, ok in zip(rows.tolist(), live):
            e = entities.get(row) if ok else None
            out.append(None if e is None else _passage(row, e, titles[e["source"]].title))
        return out

    def passage_heads(self, rows) -> list[PassageHead | None]:
        """What ranking reads of the passages at ``rows``: an entity comes whole from Milvus (and is kept), so from ``passages``."""
        return heads_of(self.passages(rows))

    def document_passages(self, source: str) -> list[Passage]:
        r = self._snapshot.records[source]
        return [p for p in self.passages(range(r.first_row, r.first_row + r.rows)) if p is not None]

    def sentence_vectors(self, row: int) -> np.ndarray:
        e = self._entities([row]).get(int(row))
        return _decode_codes(e["codes"], self.config.dimension) if e else np.zeros((0, self.config.dimension), np.float32)

    def sentence_similarities(self, query: np.ndarray, rows) -> list[np.ndarray]:
        query = np.asarray(query, np.float32).reshape(-1)
        entities = self._entities(rows)
        out = []
        for r in rows:
            e = entities.get(int(r))
            vectors = _decode_codes(e["codes"], self.config.dimension) if e else np.zeros((0, len(query)), np.float32)
            sims = vectors @ query
            n_sentences = len(json.loads(e["data"])["sentences"]) if e else 0
            if len(sims) < n_sentences:  # codes cut at the field's limit: see _encode_codes
                sims = np.concatenate([sims, np.full(n_sentences - len(sims), sims.min() if len(sims) else 0.0, np.float32)])
            out.append(sims)
        return out

    def passage_vector(self, row: int) -> np.ndarray:
        found = self._client.get(self.collection, ids=[int(row)], output_fields=["vector"])
        return np.asarray(found[0]["vector"], np.float32)

    def dense_scores(self, query: np.ndarray, rows) -> np.ndarray:
        """The cosine of ``query`` with each of these passage rows (candidates found otherwise), one request."""
        rows = [int(r) for r in rows]
        if not rows:
            return np.zeros(0, np.float32)
        found = {e["id"]: e["vector"] for e in self._client.get(self.collection, ids=rows, output_fields=["id", "vector"])}
        query = np.asarray(query, np.float32).reshape(-1)
        return np.array([np.asarray(found[r], np.float32) @ query if r in found else -1.0 for r in rows], np.float32)

    # ----------------------------------------------------------- lexical

    def lexical_stats(self, terms: list[str]) -> tuple[dict[str, int], int, float]:
        """(passages containing each term, live passages, mean passage length in terms).

        Counted by Milvus; rows of replaced versions not yet deleted count too
        (they exist only while a build runs). Counts are cached until a commit.
        """
        new = sorted({t for t in terms if t not in self._df})
        if new:
            self._df.update(self._count_terms(new))
        df = {t: self._df[t] for t in set(terms) if self._df[t]}
        n = self.passage_count
        return df, n, (self._snapshot.lexical_tokens / n if n else 0.0)

    def _count_terms(self, terms: list[str]) -> dict[str, int]:
        """Passages holding each term. On Milvus Lite, the length of a BM25 search
        for the term alone (all terms in one request), which equals the count and
        costs 3-25x less there than counting ``TEXT_MATCH`` rows (BENCHMARKS.md);
        on a server, and for a term in more passages than a search returns,
        ``TEXT_MATCH`` counted by Milvus's inverted index."""
        counts, limit = {}, 16_384  # Milvus's largest search limit
        if self.location.is_lite:
            result = self._client.search(self.collection, data=terms, anns_field="sparse", limit=limit,
                                         filter=f"kind == {PASSAGE}", output_fields=[])
            counts = {t: len(hits) for t, hits in zip(terms, result) if len(hits) < limit}
        for term in terms:
            if term not in counts:
                found = self._client.query(self.collection, filter=f"kind == {PASSAGE} and TEXT_MATCH(terms, {_quote(term)})",
                                           output_fields=["count(*)"])
                counts[term] = int(found[0]["count(*)"]) if found else 0
        return counts

    def bm25(self, terms: list[str], rows, passages: list[Passage]) -> np.ndarray:
        """BM25 of each candidate: ours from Milvus's term counts, or Milvus's own (``MilvusSettings.lexical``)."""
        if not terms or not len(rows):
            return np.zeros(len(rows), np.float32)
        if self.settings.lexical == "milvus":
            ids = ",".join(str(int(r)) for r in rows)
            hits = self._search(" ".join(terms), "sparse", f"kind == {PASSAGE} and id in [{ids}]", len(rows), {})
            # Milvus Lite reports BM25 as a negative distance, Milvus as a positive score
            score = {int(h["id"]): abs(float(h["distance"])) for h in hits}
            return np.array([score.get(int(r), 0.0) for r in rows], np.float32)
        df, n, mean_length = self.lexical_stats(terms)
        return stored_scores(terms, [p.terms for p in passages], df, n, mean_length)

    def lexical_candidates(self, terms: list[str], limit: int, within: frozenset[str] | None = None, *,
                           pool: bool = False) -> np.ndarray:
        """Live rows Milvus's BM25 ranks highest for ``terms``, to be scored exactly
        (``pool`` changes nothing: Milvus's own BM25 search needs no bound on the lists it reads)."""
        if not terms:
            return np.zeros(0, np.int64)
        self._refresh()
        hits = self._search(" ".join(terms), "sparse", _passages_within(within), min(limit, 16_384), {})
        rows = np.array([h["id"] for h in hits], np.int64)
        return rows[self._snapshot.live(rows)] if len(rows) else rows


def _passages_within(within: frozenset[str] | None) -> str:
    """The filter expression for passages of the sources ``within`` (None: every passage)."""
    where = f"kind == {PASSAGE}"
    if within is not None:
        where += f" and source in [{', '.join(_quote(s) for s in sorted(within))}]"
    return where


def _passage(row: int, e: dict, title: str) -> Passage:
    d = json.loads(e["data"])
    start = d["start"]
    return Passage(
        d["heading"], start, d["end"], d["text"], tuple((a + start, b + start) for a, b in d["sentences"]), d["key"], e["terms"],
        tuple((a + start, n) for a, n in d["pages"]), id=row, source=e["source"], title=title,
    )


# ------------------------------------------------------------------ writer


@_milvus_errors
class MilvusWriter:
    """One build's changes to a Milvus index; each document flips on its own (see module docs)."""

    def __init__(self, location: MilvusLocation, collection: str, meta: dict, fresh: bool, documents: dict | None = None,
                 lexical: dict[str, int] | None = None):
        self.location, self.collection, self.fresh = location, collection, fresh
        self.settings, self._client = location.settings, location.client
        self.meta = dict(meta)
        self.config = StoreConfig.from_json(meta["config"])
        self._next_row = meta["next_row"]
        self._documents: dict[str, DocumentRecord] = dict(documents or {})  # as committed so far
        self._lexical = dict(lexical or {})  # source -> BM25 length, as committed so far
        self._removed: set[str] = set()  # flipped to "gone" at commit
        self._replaced: set[str] = set()  # their old rows are deleted at commit
        self._live_rows = sum(r.rows for r in self._documents.values())

    @classmethod
    def create(cls, location: MilvusLocation, config: StoreConfig) -> "MilvusWriter":
        """A new collection (first build, other model or chunking), swapped in by ``commit``."""
        client = location.client
        numbers = [g for g in map(location.generation_of, client.list_collections()) if g is not None]
        collection = f"{location.name}_g{max(numbers, default=0) + 1:06d}"
        _create_collection(client, collection, config.dimension, location.settings)
        meta = {"format_version": FORMAT_VERSION, "config": config.to_json(), "next_row": 1, "clean_upto": 1, "updated": ""}
        client.insert(collection, [_record_entity(META, META_ID, "", meta, config.dimension)])
        return cls(location, collection, meta, fresh=True)

    @property
    def live_rows(self) -> int:
        return self._live_rows

    def tidy(self, committed: "MilvusStore") -> None:
        """Nothing to do: Milvus compacts its segments itself."""
        return None

    def touch(self, record: DocumentRecord) -> None:
        old = self._documents[record.source]
        self._documents[record.source] = old._replace(size=record.size, mtime_ns=record.mtime_ns, date=record.date or old.date)
        self._upsert_document(self._documents[record.source])

    def remove(self, source: str) -> None:
        """Drop a document at commit (until then readers keep its current version)."""
        old = self._documents.pop(source, None)
        self._lexical.pop(source, None)
        if old is not None:
            self._removed.add(source)
            self._live_rows -= old.rows

    def add(self, record: DocumentRecord, chunks: list[Passage], vectors: np.ndarray, sentence_vectors: list[np.ndarray]) -> None:
        """Write a document's new rows, then flip its entity to them."""
        first = self._next_row
        self._next_row += len(chunks)
        d = self.config.dimension
        entities = [_passage_entity(first + i, record.source, c, v, s, d) for i, (c, v, s) in enumerate(zip(chunks, vectors, sentence_vectors))]
        for lo in range(0, len(entities), self.settings.insert_batch):
            self._client.insert(self.collection, entities[lo : lo + self.settings.insert_batch])
        was_removed = record.source in self._removed  # the build removes a changed document, then adds it
        if was_removed:
            self._removed.discard(record.source)
        if was_removed or record.source in self._documents:
            self._replaced.add(record.source)
        row = record._replace(first_row=first, rows=len(chunks))
        if record.source in self._documents:
            self._live_rows -= self._documents[record.source].rows
        self._documents[record.source] = row
        self._lexical[record.source] = sum(term_length(c.terms) for c in chunks)
        self._live_rows += len(chunks)
        self._upsert_document(row)

    def _upsert_document(self, record: DocumentRecord) -> None:
        self._begin()
        data = record._asdict()
        source = data.pop("source")
        data["lexical_length"] = self._lexical[source]
        self._client.upsert(self.collection, [_record_entity(DOCUMENT, _document_id(source), source, data, self.config.dimension)])

    def commit(self) -> MilvusStore:
        """Flip the removals, delete what the build replaced, record the commit,
        and (for a new collection) move the alias to it.

        A kill at any point is finished by the next build (``_recover``):
        removed documents are tombstones until their rows are gone, and
        replaced ones start at or after ``clean_upto`` until it is moved past them.
        """
        self._begin()
        d = self.config.dimension
        tombstones = [_record_entity(DOCUMENT, _document_id(s), s, {"removed": True}, d) for s in sorted(self._removed)]
        for lo in range(0, len(tombstones), self.settings.insert_batch):
            self._client.upsert(self.collection, tombstones[lo : lo + self.settings.insert_batch])
        for source in sorted(self._replaced - self._removed):
            r = self._documents[source]
            _delete_other_versions(self._client, self.collection, source, (r.first_row, r.first_row + r.rows))
        for source in sorted(self._removed):
            _delete_document(self._client, self.collection, source)
        self.meta.update(next_row=self._next_row, clean_upto=self._next_row, updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         commits=self.meta.get("commits", 0) + 1, building=False)  # commits: what readers watch for
        self._write_meta()
        # Seal what this build wrote: searches then use indexed segments rather
        # than scanning the write buffer (on Milvus Lite 8-15x slower).
        self._client.flush(self.collection)
        if self.fresh:
            self._swap_alias()
        return MilvusStore(self.location, self.collection, (list(self._documents.values()), self._lexical))

    def checkpoint(self, publish: bool) -> None:
        """Each document is flipped as it is written, so an update's finished
        documents already survive a kill (``_recover`` keeps them). What a
        checkpoint adds: a first build's collection (``publish``) becomes the
        index now, so its finished documents are searchable and kept. A new
        collection beside an existing index (another model or chunking) is
        swapped in by ``commit`` only, and a kill loses it (unlike the local store)."""
        if self.fresh and publish:
            self.meta.update(commits=self.meta.get("commits", 0) + 1)
            self._write_meta()
            self._client.flush(self.collection)
            self._swap_alias()
            self.fresh = False

    def _begin(self) -> None:
        """Before this build's first write, mark the index as being written: only
        then does the next build have anything to recover (``_recover``)."""
        if not self.meta.get("building"):
            self.meta["building"] = True
            self._write_meta()

    def _write_meta(self) -> None:
        self._client.upsert(self.collection, [_record_entity(META, META_ID, "", self.meta, self.config.dimension)])

    def _swap_alias(self) -> None:
        client, name = self._client, self.location.name
        previous = self.location.collection()
        client.load_collection(self.collection)
        if previous is None:
            client.create_alias(self.collection, name)
        else:
            client.alter_alias(self.collection, name)
            client.drop_collection(previous)

    def abort(self) -> None:
        """Leave the committed state: a new collection is dropped; rows written for
        documents not flipped are deleted by the next build's recovery."""
        if self.fresh:
            try:
                self._client.drop_collection(self.collection)
            except Exception:
                pass
